package scheduler

import (
	"testing"
	"time"

	"github.com/casebot/casebot"
)

// pollComposer is testComposer with poll mail.
type pollComposer struct{ testComposer }

func (k pollComposer) PollMail(c *casebot.Case, p *casebot.Poll, to []string, key string) ([]casebot.OutMessage, error) {
	var out []casebot.OutMessage
	for _, e := range to {
		out = append(out, casebot.OutMessage{Key: key + "/" + e, Kind: casebot.OutEmail, To: e, CaseID: c.ID, Text: "poll reminder"})
	}
	return out, nil
}

// Parties who have not answered a poll half way to its first time get one
// reminder, also across a restart; those who answered get none.
func TestPollReminder(t *testing.T) {
	e := newEnv(t, Config{Composer: pollComposer{}, Reminders: []time.Duration{day}})
	c := e.newCase("Lease", "U1", casebot.PriorityNormal, party("Ann", "ann@example.com"), party("Bob", "bob@example.com"))
	e.update(c.ID, func(c *casebot.Case) {
		c.Poll = &casebot.Poll{Slots: []time.Time{t0.Add(5 * day), t0.Add(4 * day)}, Duration: time.Hour, Created: t0,
			Answers: map[string][]int{"ann@example.com": {1}}}
	})
	next := e.tick(t0.Add(time.Minute))
	if want := t0.Add(2 * day); !next.Equal(want) {
		t.Errorf("next wake %v, want the poll reminder at %v", next, want)
	}
	if got := e.deliver(); len(got) != 0 {
		t.Fatalf("early: %v", keysOf(got))
	}
	e.restart()
	e.tick(t0.Add(2*day + time.Hour))
	got := e.deliver()
	if len(got) != 1 || got[0].To != "bob@example.com" {
		t.Fatalf("reminders %v, want one to Bob", keysOf(got))
	}
	e.restart()
	e.tick(t0.Add(3 * day))
	if got := e.deliver(); len(got) != 0 {
		t.Errorf("a second reminder: %v", keysOf(got))
	}
}
