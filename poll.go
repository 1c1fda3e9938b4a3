package casebot

import (
	"slices"
	"time"
)

// Limits of an availability poll.
const (
	MinPollSlots = 2
	MaxPollSlots = 10
	// DefaultPollDuration is a polled session's length when the poll
	// names none.
	DefaultPollDuration = 2 * time.Hour
)

// Poll is a case's open availability poll (SPEC §5 poll): the times asked
// about, numbered from 1, and each party's answer. Booking a time
// (session <ID> poll) closes it.
type Poll struct {
	Slots    []time.Time
	Duration time.Duration
	By       string
	Created  time.Time
	// Answers maps a party's email to the slot numbers that suit them,
	// ascending; an empty list means none does. A later answer replaces an
	// earlier one.
	Answers map[string][]int `json:",omitempty"`
	// Reminded is set when the parties who had not answered were reminded
	// (once, half way to the first slot).
	Reminded bool `json:",omitempty"`
}

// ReminderAt returns when the parties who have not answered are reminded:
// half the time from the poll's creation to its first slot.
func (p *Poll) ReminderAt() time.Time {
	if len(p.Slots) == 0 {
		return time.Time{}
	}
	first := slices.MinFunc(p.Slots, func(a, b time.Time) int { return a.Compare(b) })
	return p.Created.Add(first.Sub(p.Created) / 2)
}

// Answered reports whether the party with this email has answered.
func (p *Poll) Answered(email string) bool {
	_, ok := p.Answers[email]
	return ok
}

// Waiting returns the parties of c who receive mail and have not answered.
func (p *Poll) Waiting(c *Case) []Party {
	var out []Party
	for _, q := range c.Parties {
		if q.Email != "" && !p.Answered(q.Email) {
			out = append(out, q)
		}
	}
	return out
}

// PollTally is what a poll stands at, as values: for each slot who can come
// and who cannot, who has not answered, who answered that none suits, and,
// once every party answered, the slots that suit everyone. Parties are
// named by name (their address when nameless).
type PollTally struct {
	Slots    []time.Time
	Duration time.Duration
	Can      [][]string
	Cannot   [][]string
	Waiting  []string
	None     []string
	// Complete is set when every party has answered; Suit then lists the
	// slots (numbered from 1) that suit everyone.
	Complete bool
	Suit     []int
}

// Tally returns the poll's tally over c's parties.
func (p *Poll) Tally(c *Case) *PollTally {
	t := &PollTally{Slots: slices.Clone(p.Slots), Duration: p.Duration,
		Can: make([][]string, len(p.Slots)), Cannot: make([][]string, len(p.Slots))}
	for _, q := range c.Parties {
		if q.Email == "" {
			continue
		}
		name := q.Name
		if name == "" {
			name = q.Email
		}
		ans, ok := p.Answers[q.Email]
		if !ok {
			t.Waiting = append(t.Waiting, name)
			continue
		}
		if len(ans) == 0 {
			t.None = append(t.None, name)
		}
		for i := range p.Slots {
			if slices.Contains(ans, i+1) {
				t.Can[i] = append(t.Can[i], name)
			} else {
				t.Cannot[i] = append(t.Cannot[i], name)
			}
		}
	}
	t.Complete = len(t.Waiting) == 0
	if t.Complete {
		for i := range p.Slots {
			if len(t.Cannot[i]) == 0 {
				t.Suit = append(t.Suit, i+1)
			}
		}
	}
	return t
}

// ValidatePollSlots checks a poll's times at now: 2 to 10, none in the
// past, none twice.
func ValidatePollSlots(slots []time.Time, now time.Time) error {
	switch {
	case len(slots) < MinPollSlots:
		return Errorf(EINVALID, "A poll needs at least %d times; for one time schedule a session.", MinPollSlots)
	case len(slots) > MaxPollSlots:
		return Errorf(EINVALID, "A poll offers at most %d times; this one has %d.", MaxPollSlots, len(slots))
	}
	for i, s := range slots {
		if !s.After(now) {
			return Errorf(EINVALID, "Time %d of the poll is in the past.", i+1)
		}
		for j := range i {
			if slots[j].Equal(s) {
				return Errorf(EINVALID, "Times %d and %d of the poll are the same.", j+1, i+1)
			}
		}
	}
	return nil
}

// PollComposer words the parties' poll emails. The mail package's Composer
// implements it beside Composer.
type PollComposer interface {
	// PollMail returns the poll's email to each party not bouncing (only to
	// those in to when to is non-nil: a reminder to the parties who have
	// not answered): the numbered times written out with their zone and how
	// to answer. key is extended per recipient.
	PollMail(c *Case, p *Poll, to []string, key string) ([]OutMessage, error)
}

// Why a party's reply to a poll was not read as an answer (Notice.Reason).
const (
	// PollUnreadable: the reply reads as no answer; it is a note and
	// needs the mediator's look.
	PollUnreadable = "unreadable"
	// PollOutOfRange: the reply names numbers the poll has no time for
	// (Notice.Text lists them).
	PollOutOfRange = "out-of-range"
)
