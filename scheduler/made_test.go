package scheduler

import (
	"fmt"
	"testing"
	"time"

	"github.com/casebot/casebot"
)

// TestNoReminderOnTheHeelsOfTheInvitation: a session made 7 days ahead
// with a 7d reminder gets no reminder right after its invitation (SPEC §7:
// the invitation said it); one moved to 7 days ahead neither; the 1d
// reminder still comes, and so does one made with time to spare.
func TestNoReminderOnTheHeelsOfTheInvitation(t *testing.T) {
	e := newEnv(t, Config{Composer: testComposer{}, Reminders: []time.Duration{7 * day, day}})
	c := e.newCase("Lease", "U1", casebot.PriorityNormal, party("Ann", "ann@example.com"))
	e.tick(t0)
	made := t0.Add(30 * time.Second) // between two scans, as a command comes
	e.clk.Set(made)
	start := made.Add(7 * day) // "+7d"
	e.addSession(c.ID, start, "Opening", "")
	e.addDeadline(c.ID, start, "brief") // a deadline made 7 days ahead too
	e.tick(made.Add(time.Second))
	e.tick(made.Add(time.Minute))
	if got := e.deliver(); len(got) != 0 {
		t.Fatalf("right after the invitation sent %v, want nothing", keysOf(got))
	}
	// Moved: made at t0+1h to 7 days after that.
	e.clk.Set(t0.Add(time.Hour))
	moved := t0.Add(time.Hour + 7*day)
	e.update(c.ID, func(c *casebot.Case) {
		c.Sessions[0].Start, c.Sessions[0].Moved = moved, e.clk.Now()
		c.Sessions[0].Sequence++
	})
	e.tick(t0.Add(time.Hour + time.Second))
	if got := e.deliver(); len(got) != 0 {
		t.Fatalf("right after the move sent %v, want nothing", keysOf(got))
	}
	// The 1d reminders still come.
	e.tick(moved.Add(-day))
	got := keysOf(e.deliver())
	want := fmt.Sprintf("rem/%s/s1/seq1/%d/1d", c.ID, moved.Unix())
	found := false
	for _, k := range got {
		found = found || k == want
	}
	if !found {
		t.Errorf("a day before sent %v, want %s", got, want)
	}
}

// TestCatchupAfterDowntimeStillSends: a reminder made with time to spare
// that fell due while the daemon was down is still sent at start-up.
func TestCatchupAfterDowntimeStillSends(t *testing.T) {
	e := newEnv(t, Config{Reminders: []time.Duration{day}})
	c := e.newCase("Lease", "U1", casebot.PriorityNormal)
	e.tick(t0)
	due := t0.Add(3 * day)
	e.addDeadline(c.ID, due, "brief")
	e.tick(t0.Add(time.Minute))
	e.restart()
	e.tick(due.Add(-day + time.Hour)) // down over the fire time, an hour late
	got := keysOf(e.deliver())
	if len(got) != 1 || got[0] != fmt.Sprintf("rem/%s/d1/%d/1d", c.ID, due.Unix()) {
		t.Errorf("after downtime sent %v, want the 1d reminder", got)
	}
}
