package scheduler

import (
	"context"
	"testing"
	"time"

	"github.com/casebot/casebot"
)

// A co-mediator gets the case's reminders and overdue notices and its
// digest items; once removed, none.
func TestCoMediatorReminders(t *testing.T) {
	e := newEnv(t, Config{Composer: testComposer{}, Reminders: []time.Duration{day}})
	c := e.newCase("Shared", "U1", casebot.PriorityNormal, party("Ann", "ann@example.com"))
	e.update(c.ID, func(c *casebot.Case) { c.CoMediators = []string{"U2"} })
	due := t0.Add(3 * day)
	e.addDeadline(c.ID, due, "brief")
	e.addSession(c.ID, due.Add(time.Hour), "Opening", "")
	e.tick(t0)
	e.tick(due.Add(-day + time.Hour))
	to := map[string]int{}
	for _, m := range e.deliver() {
		to[m.To]++
	}
	if to["U1"] != 2 || to["U2"] != 2 || to["ann@example.com"] != 1 {
		t.Errorf("reminders went to %v, want 2 to U1 and U2 each and the party's email", to)
	}
	d, err := e.s.BuildDigest(context.Background(), "U2", due.Add(-2*day), time.UTC, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.OpenCases != 1 || len(d.Deadlines) != 1 {
		t.Errorf("co-mediator's digest: %d cases, deadlines %+v", d.OpenCases, d.Deadlines)
	}
	e.tick(due)
	if got := e.deliver(); len(got) != 2 {
		t.Errorf("overdue notices %v, want one each", keysOf(got))
	}
	e.update(c.ID, func(c *casebot.Case) { c.CoMediators = nil })
	e.tick(due.Add(day))
	for _, m := range e.deliver() {
		if m.To == "U2" {
			t.Errorf("a removed co-mediator got %s", m.Key)
		}
	}
	d, err = e.s.BuildDigest(context.Background(), "U2", due.Add(day), time.UTC, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.OpenCases != 0 || len(d.Overdue) != 0 {
		t.Errorf("removed co-mediator's digest still has the case: %+v", d)
	}
}
