package mail

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/casebot/casebot"
)

var _ casebot.PollComposer = (*Composer)(nil)

// PollMail returns the poll email to each party of c not bouncing (only to
// the addresses in to when to is non-nil: the reminder): the numbered times
// written out in the practice's zone, with the zone named, and how to
// answer by replying. key is extended per recipient.
func (k *Composer) PollMail(c *casebot.Case, p *casebot.Poll, to []string, key string) ([]casebot.OutMessage, error) {
	loc := k.Loc
	if loc == nil {
		loc = time.UTC
	}
	var b strings.Builder
	subject := "When can you attend a mediation session?"
	if to != nil {
		subject = "Reminder: " + subject
		b.WriteString("We have not had your answer yet. ")
	}
	fmt.Fprintf(&b, "The mediator of %s (%s) would like to find a time for a session of %s that suits every party.\n\n", c.ID, c.Title, durationWords(p.Duration))
	b.WriteString("These are the times on offer:\n\n")
	b.WriteString(PollTimes(p, loc))
	b.WriteString("\nPlease reply to this email with the numbers of the times that suit you, for example \"1, 3\", \"1 and 3\", " +
		"\"all\", \"all but 2\" or \"none\". You may answer in English, German, French or Spanish. " +
		"A later reply replaces an earlier one.\n")
	msgs, err := k.CaseMail(c, nil, subject, b.String(), false, key)
	if err != nil || to == nil {
		return msgs, err
	}
	out := msgs[:0]
	for _, m := range msgs {
		if slices.Contains(to, m.To) {
			out = append(out, m)
		}
	}
	return out, nil
}

// PollTimes lists a poll's times, numbered, each written out in loc with
// the zone's name and offset: "  1. Tuesday 1 December 2026, 14:30–16:30
// CET (UTC+01:00)".
func PollTimes(p *casebot.Poll, loc *time.Location) string {
	var b strings.Builder
	for i, s := range p.Slots {
		st, end := s.In(loc), s.Add(p.Duration).In(loc)
		fmt.Fprintf(&b, "  %d. %s, %s–%s %s (UTC%s)\n", i+1, st.Format("Monday 2 January 2006"), st.Format("15:04"), end.Format("15:04"),
			st.Format("MST"), st.Format("-07:00"))
	}
	return b.String()
}

// durationWords is "2 hours", "90 minutes", "1 hour 30 minutes".
func durationWords(d time.Duration) string {
	h, m := int(d.Hours()), int(d.Minutes())%60
	unit := func(n int, one, many string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %s", n, many)
	}
	switch {
	case h > 0 && m > 0:
		return unit(h, "hour", "hours") + " " + unit(m, "minute", "minutes")
	case h > 0:
		return unit(h, "hour", "hours")
	}
	return unit(int(d.Minutes()), "minute", "minutes")
}
