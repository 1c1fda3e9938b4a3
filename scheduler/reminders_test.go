package scheduler

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/casebot/casebot"
)

func TestDeadlineReminderOffsets(t *testing.T) {
	e := newEnv(t, Config{})
	c := e.newCase("Fence dispute", "U1", casebot.PriorityHigh)
	due := t0.Add(10*day + 3*time.Hour)
	n := e.addDeadline(c.ID, due, "File the brief")
	next := e.tick(t0)
	if got := e.deliver(); len(got) != 0 {
		t.Fatalf("nothing is due at t0, got %v", keysOf(got))
	}
	for _, o := range []time.Duration{7 * day, day, 2 * time.Hour} {
		want := due.Add(-o)
		if !next.Equal(want) {
			t.Fatalf("next wake = %v, want the %s reminder at %v", next, offsetLabel(o), want)
		}
		e.tick(want.Add(-time.Second))
		if got := e.deliver(); len(got) != 0 {
			t.Fatalf("a second early: %v", keysOf(got))
		}
		next = e.tick(want)
		got := e.deliver()
		if len(got) != 1 {
			t.Fatalf("%s reminder: got %v", offsetLabel(o), keysOf(got))
		}
		m := got[0]
		wantKey := fmt.Sprintf("rem/%s/d%d/%d/%s", c.ID, n, due.Unix(), offsetLabel(o))
		if m.Key != wantKey || m.To != "U1" || m.Kind != casebot.OutSlack {
			t.Errorf("reminder = %+v, want key %s to U1 by Slack", m, wantKey)
		}
		if !containsAll(m.Text, c.ID, "Fence dispute", "File the brief", "due in "+casebot.DurationWords(o)) {
			t.Errorf("text %q lacks case, text or offset", m.Text)
		}
		wantBtn := casebot.Button{ActionID: "deadline_done", Label: "Mark met", Value: fmt.Sprintf("%s/%d", c.ID, n)}
		if !slices.Contains(m.Buttons, wantBtn) {
			t.Errorf("buttons %+v lack %+v", m.Buttons, wantBtn)
		}
	}
	// Next comes the overdue notice at the due time, then daily.
	if !next.Equal(due) {
		t.Fatalf("after the last reminder next = %v, want the due time %v", next, due)
	}
	next = e.tick(due)
	if got := e.deliver(); len(got) != 1 || !containsAll(got[0].Text, "is due now") {
		t.Fatalf("at due time got %v", got)
	}
	if !next.Equal(due.Add(day)) {
		t.Fatalf("next overdue notice at %v, want %v", next, due.Add(day))
	}
	e.tick(due.Add(day - time.Minute))
	e.tick(due.Add(day))
	e.tick(due.Add(day + time.Hour)) // once a day only
	got := e.deliver()
	if len(got) != 1 || !containsAll(got[0].Text, "overdue", "1 day ago") {
		t.Fatalf("a day later got %v", got)
	}
	e.update(c.ID, func(c *casebot.Case) { c.Deadlines[0].Met = true })
	if next = e.tick(due.Add(2 * day)); !next.IsZero() {
		t.Errorf("with nothing pending next = %v, want zero", next)
	}
	if got := e.deliver(); len(got) != 0 {
		t.Errorf("a met deadline is still reported: %v", keysOf(got))
	}
	if e.count != 5 {
		t.Errorf("OnQueued counted %d, want 5", e.count)
	}
}

func TestSessionRemindersToMediatorAndParties(t *testing.T) {
	e := newEnv(t, Config{Composer: testComposer{}, Reminders: []time.Duration{day}})
	e.setZone("U1", "America/New_York")
	c := e.newCase("Lease", "U1", casebot.PriorityNormal, party("Ann", "ann@example.com"), party("Bob", "bob@example.com"))
	start := time.Date(2026, 3, 20, 14, 30, 0, 0, time.UTC)
	e.addSession(c.ID, start, "Opening", "Room 4")
	e.tick(t0)
	e.tick(start.Add(-day))
	got := e.deliver()
	if len(got) != 3 {
		t.Fatalf("got %v, want the mediator and two parties", keysOf(got))
	}
	for _, m := range got {
		switch m.Kind {
		case casebot.OutSlack:
			// The mediator reads the time in New York.
			if m.To != "U1" || !containsAll(m.Text, "Opening", "10:30 EDT", "Room 4", "starts in 1 day") {
				t.Errorf("mediator reminder %+v", m)
			}
		case casebot.OutEmail:
			if !m.Auto || !containsAll(m.Key, "rem/"+c.ID+"/s1/seq0/", "/1d/mail/") ||
				!containsAll(m.Text, "session #1 Opening at 2026-03-20T14:30:00Z, 24h0m0s before") {
				t.Errorf("party reminder %+v", m)
			}
		}
	}
}

// TestCancellationsAndMoves checks every change that must cancel or move a
// pending reminder.
func TestCancellationsAndMoves(t *testing.T) {
	type setup struct {
		e  *env
		id string
	}
	due := t0.Add(3 * day)
	fireAt := due.Add(-day)
	sessionKeys := func(id string) []string {
		k := fmt.Sprintf("rem/%s/s1/seq0/%d/1d", id, due.Unix())
		return []string{k, k + "/mail/ann@example.com", k + "/mail/bob@example.com"}
	}
	tests := []struct {
		name     string
		change   func(s setup)
		wantKeys func(id string) []string
	}{
		{"deadline met", func(s setup) {
			s.e.update(s.id, func(c *casebot.Case) { c.Deadlines[0].Met = true })
		}, sessionKeys},
		{"deadline moved a day later", func(s setup) {
			s.e.update(s.id, func(c *casebot.Case) { c.Deadlines[0].Due = due.Add(day) })
		}, sessionKeys},
		{"case closed", func(s setup) {
			s.e.update(s.id, func(c *casebot.Case) { c.Status = casebot.StatusWithdrawn })
		}, func(string) []string { return nil }},
		{"session cancelled", func(s setup) {
			s.e.update(s.id, func(c *casebot.Case) { c.Sessions[0].Cancelled = true })
		}, func(id string) []string { return []string{fmt.Sprintf("rem/%s/d1/%d/1d", id, due.Unix())} }},
		{"session rescheduled an hour later", func(s setup) {
			s.e.update(s.id, func(c *casebot.Case) { c.Sessions[0].Start = due.Add(time.Hour); c.Sessions[0].Sequence++ })
		}, func(id string) []string { return []string{fmt.Sprintf("rem/%s/d1/%d/1d", id, due.Unix())} }},
		{"party removed", func(s setup) {
			s.e.update(s.id, func(c *casebot.Case) { c.Parties = c.Parties[:1] })
		}, func(id string) []string {
			return []string{fmt.Sprintf("rem/%s/d1/%d/1d", id, due.Unix()), fmt.Sprintf("rem/%s/s1/seq0/%d/1d", id, due.Unix()),
				fmt.Sprintf("rem/%s/s1/seq0/%d/1d/mail/ann@example.com", id, due.Unix())}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Config{Composer: testComposer{}, Reminders: []time.Duration{day}})
			c := e.newCase("Lease", "U1", casebot.PriorityNormal, party("Ann", "ann@example.com"), party("Bob", "bob@example.com"))
			e.addDeadline(c.ID, due, "brief")
			e.addSession(c.ID, due, "Opening", "")
			e.tick(t0)
			tt.change(setup{e, c.ID})
			e.tick(fireAt)
			got := keysOf(e.deliver())
			want := tt.wantKeys(c.ID)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("at the old fire time sent %v, want %v", got, want)
			}
			// A move sends the reminder for the new time, once.
			e.tick(fireAt.Add(2 * time.Hour))
			e.tick(fireAt.Add(day))
			var later []string // reminders only: the deadline's overdue notice is due now too
			for _, k := range keysOf(e.deliver()) {
				if k[:4] == "rem/" {
					later = append(later, k)
				}
			}
			switch tt.name {
			case "deadline moved a day later":
				if len(later) != 1 || later[0] != fmt.Sprintf("rem/%s/d1/%d/1d", c.ID, due.Add(day).Unix()) {
					t.Errorf("after the move sent %v, want the new deadline's reminder", later)
				}
			case "session rescheduled an hour later":
				if len(later) != 3 || !slices.Contains(later, fmt.Sprintf("rem/%s/s1/seq1/%d/1d", c.ID, due.Add(time.Hour).Unix())) {
					t.Errorf("after the move sent %v, want the new session's reminders", later)
				}
			default:
				if len(later) != 0 {
					t.Errorf("later sent %v, want nothing", later)
				}
			}
		})
	}
}

func TestRemindersAcrossRestarts(t *testing.T) {
	due := t0.Add(2 * day)
	fireAt := due.Add(-day)
	t.Run("stopped before, started within catchup: sent once", func(t *testing.T) {
		e := newEnv(t, Config{Reminders: []time.Duration{day}})
		c := e.newCase("Lease", "U1", casebot.PriorityNormal)
		e.addDeadline(c.ID, due, "brief")
		e.tick(fireAt.Add(-time.Minute))
		e.restart()
		e.tick(fireAt.Add(3 * time.Hour))
		e.restart()
		e.tick(fireAt.Add(4 * time.Hour))
		if got := e.deliver(); len(got) != 1 || got[0].Key != fmt.Sprintf("rem/%s/d1/%d/1d", c.ID, due.Unix()) {
			t.Errorf("got %v, want the one reminder", keysOf(got))
		}
	})
	t.Run("stopped before, started after catchup: listed as missed", func(t *testing.T) {
		e := newEnv(t, Config{Reminders: []time.Duration{day}, Digest: mustDaily(t, "0 8 * * *")})
		c := e.newCase("Lease", "U1", casebot.PriorityNormal)
		e.addDeadline(c.ID, due, "brief")
		e.tick(fireAt.Add(-time.Minute))
		e.deliver()
		e.restart()
		e.tick(fireAt.Add(13 * time.Hour)) // t0+1d 01:00, past the 12h catchup
		if got := e.deliver(); len(got) != 0 {
			t.Fatalf("a reminder older than catchup was sent: %v", keysOf(got))
		}
		e.tick(due.Add(-4 * time.Hour)) // 08:00: the digest
		got := e.deliver()
		var digest *casebot.OutMessage
		for i := range got {
			if got[i].To == "U1" && isNotice(got[i], casebot.NoticeDigest) {
				digest = &got[i]
			}
		}
		if digest == nil || !containsAll(digest.Text, "Missed while casebot was down (1)", c.ID+" deadline #1") {
			t.Fatalf("digest = %+v, want the missed reminder listed", digest)
		}
		// Listed once only.
		e.tick(due.Add(20 * time.Hour))
		for _, m := range e.deliver() {
			if containsAll(m.Text, "Missed while") {
				t.Errorf("missed reminder listed twice: %q", m.Text)
			}
		}
	})
	t.Run("killed right after the outbox write: sent once", func(t *testing.T) {
		e := newEnv(t, Config{Reminders: []time.Duration{day}})
		c := e.newCase("Lease", "U1", casebot.PriorityNormal)
		e.addDeadline(c.ID, due, "brief")
		e.tick(t0)
		e.tick(fireAt) // committed, never delivered
		e.restart()    // the file holds the queued reminder and the scan mark
		e.tick(fireAt)
		e.tick(fireAt.Add(time.Minute))
		if got := e.deliver(); len(got) != 1 {
			t.Errorf("got %v, want one reminder", keysOf(got))
		}
	})
	t.Run("started twice in a row: nothing doubled", func(t *testing.T) {
		e := newEnv(t, Config{Reminders: []time.Duration{day}, Digest: mustDaily(t, "0 8 * * *")})
		c := e.newCase("Lease", "U1", casebot.PriorityNormal)
		e.addDeadline(c.ID, due, "brief")
		e.tick(t0)
		e.restart()
		at := fireAt.Add(time.Hour) // after both the reminder and 08:00 local (UTC)
		e.tick(at)
		e.deliver()
		e.restart()
		e.tick(at)
		e.restart()
		e.tick(at.Add(time.Second))
		var rem, dig int
		for _, m := range append(e.sent, e.deliver()...) {
			switch {
			case m.To != "U1":
			case isNotice(m, casebot.NoticeDeadlineReminder):
				rem++
			case isNotice(m, casebot.NoticeDigest):
				dig++
			}
		}
		if rem != 1 || dig != 1 {
			t.Errorf("sent %d reminders and %d digests, want 1 and 1", rem, dig)
		}
	})
}

func mustDaily(t *testing.T, spec string) *Daily {
	t.Helper()
	d, err := ParseDaily(spec)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestNoSlackQueuesOnlyPartyMail: with Slack off nothing piles up for
// mediators, and parties still get their session reminders by email.
func TestNoSlackQueuesOnlyPartyMail(t *testing.T) {
	e := newEnv(t, Config{Composer: testComposer{}, Reminders: []time.Duration{day}, NoSlack: true, Digest: mustDaily(t, "0 8 * * *")})
	c := e.newCase("Lease", "U1", casebot.PriorityNormal, party("Ann", "ann@example.com"))
	start := time.Date(2026, 3, 20, 14, 30, 0, 0, time.UTC)
	e.addSession(c.ID, start, "Opening", "Room 4")
	e.addDeadline(c.ID, start.Add(-2*day), "Papers")
	e.tick(t0)
	for at := t0; at.Before(start); at = at.Add(6 * time.Hour) {
		e.tick(at)
	}
	got := e.deliver()
	if len(got) != 1 || got[0].Kind != casebot.OutEmail || got[0].To != "ann@example.com" {
		t.Fatalf("queued %v, want only Ann's session reminder", keysOf(got))
	}
}
