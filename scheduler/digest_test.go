package scheduler

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/bot"
)

// digestTimes runs the scheduler from..to by its own wake-ups and returns
// the local times at which user's digests were queued.
func digestTimes(t *testing.T, e *env, user string, from, to time.Time, loc *time.Location) []string {
	t.Helper()
	var out []string
	at := from
	for i := 0; i < 1000 && !at.After(to); i++ {
		next := e.tick(at)
		for _, m := range e.deliver() {
			if m.To == user && isNotice(m, casebot.NoticeDigest) {
				out = append(out, at.In(loc).Format("2006-01-02 15:04 MST"))
			}
		}
		if next.IsZero() || !next.After(at) {
			t.Fatalf("tick at %v: next wake %v is not later", at, next)
		}
		at = next
	}
	return out
}

func TestDigestAcrossDST(t *testing.T) {
	tests := []struct {
		name, tz, spec string
		from, to       time.Time
		want           []string
	}{
		{"London spring forward", "Europe/London", "0 8 * * *",
			time.Date(2026, 3, 27, 12, 0, 0, 0, time.UTC), time.Date(2026, 3, 30, 12, 0, 0, 0, time.UTC),
			[]string{"2026-03-28 08:00 GMT", "2026-03-29 08:00 BST", "2026-03-30 08:00 BST"}},
		{"London fall back", "Europe/London", "0 8 * * *",
			time.Date(2026, 10, 23, 12, 0, 0, 0, time.UTC), time.Date(2026, 10, 26, 12, 0, 0, 0, time.UTC),
			[]string{"2026-10-24 08:00 BST", "2026-10-25 08:00 GMT", "2026-10-26 08:00 GMT"}},
		{"London skipped hour runs once", "Europe/London", "30 1 * * *",
			time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC), time.Date(2026, 3, 30, 12, 0, 0, 0, time.UTC),
			[]string{"2026-03-29 02:30 BST", "2026-03-30 01:30 BST"}},
		{"London repeated hour runs once", "Europe/London", "30 1 * * *",
			time.Date(2026, 10, 24, 12, 0, 0, 0, time.UTC), time.Date(2026, 10, 26, 12, 0, 0, 0, time.UTC),
			[]string{"2026-10-25 01:30 BST", "2026-10-26 01:30 GMT"}},
		{"New York spring forward, skipped hour", "America/New_York", "30 2 * * *",
			time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 12, 0, 0, 0, time.UTC),
			[]string{"2026-03-08 03:30 EDT", "2026-03-09 02:30 EDT"}},
		{"New York fall back, repeated hour", "America/New_York", "30 1 * * *",
			time.Date(2026, 10, 31, 12, 0, 0, 0, time.UTC), time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC),
			[]string{"2026-11-01 01:30 EDT", "2026-11-02 01:30 EST"}},
		{"New York 08:00 both sides", "America/New_York", "0 8 * * *",
			time.Date(2026, 3, 7, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 23, 0, 0, 0, time.UTC),
			[]string{"2026-03-07 08:00 EST", "2026-03-08 08:00 EDT", "2026-03-09 08:00 EDT"}},
		{"Tokyo has no DST", "Asia/Tokyo", "0 8 * * 1-5",
			time.Date(2026, 3, 27, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC),
			[]string{"2026-03-30 08:00 JST", "2026-03-31 08:00 JST"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc, err := time.LoadLocation(tt.tz)
			if err != nil {
				t.Fatal(err)
			}
			e := newEnv(t, Config{Digest: mustDaily(t, tt.spec), Admins: []string{}})
			e.setZone("U1", tt.tz)
			e.clk.Set(tt.from.Add(-time.Hour))
			e.newCase("Lease", "U1", casebot.PriorityNormal)
			got := digestTimes(t, e, "U1", tt.from, tt.to, loc)
			if strings.Join(got, ", ") != strings.Join(tt.want, ", ") {
				t.Errorf("digests at %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDayRemindersKeepWallClockAcrossDST(t *testing.T) {
	london, _ := time.LoadLocation("Europe/London")
	e := newEnv(t, Config{Reminders: []time.Duration{day}})
	e.setZone("U1", "Europe/London")
	e.clk.Set(time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC))
	c := e.newCase("Lease", "U1", casebot.PriorityNormal)
	// Sunday 29 March 12:00 BST, the day clocks go forward.
	e.addDeadline(c.ID, time.Date(2026, 3, 29, 12, 0, 0, 0, london), "brief")
	next := e.tick(e.clk.Now())
	if want := time.Date(2026, 3, 28, 12, 0, 0, 0, london); !next.Equal(want) {
		t.Fatalf("1d reminder at %v, want %v (12:00 GMT the day before, 25 hours earlier)", next.In(london), want)
	}
	e.tick(next)
	if got := e.deliver(); len(got) != 1 || !strings.Contains(got[0].Text, "Sun 29 Mar 2026 12:00 BST") {
		t.Errorf("got %+v", got)
	}
}

func TestDigestContent(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Config{Digest: mustDaily(t, "0 8 * * *"), Admins: []string{"UADMIN"},
		Quarantined: func(context.Context) (int, error) { return 4, nil }})
	e.clk.Set(t0.Add(-20 * day))
	idle := e.newCase("Quiet boundary", "U1", casebot.PriorityLow)
	e.clk.Set(t0.Add(-2 * day))
	urgent := e.newCase("Urgent eviction", "U1", casebot.PriorityUrgent)
	normal := e.newCase("Noisy neighbour", "U1", casebot.PriorityNormal, party("Ann", "ann@example.com"))
	other := e.newCase("Other mediator's case", "U2", casebot.PriorityHigh)
	e.newCase("Closed one", "U3", casebot.PriorityNormal)
	e.update("MED-2026-0005", func(c *casebot.Case) { c.Status = casebot.StatusSettled })
	now := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	e.addDeadline(normal.ID, now.Add(3*day), "normal brief")
	e.addDeadline(urgent.ID, now.Add(5*day), "urgent brief")
	e.addDeadline(urgent.ID, now.Add(9*day), "too far")
	e.addDeadline(normal.ID, now.Add(-day), "late reply")
	e.addDeadline(other.ID, now.Add(-2*day), "other late")
	e.addSession(normal.ID, now.Add(6*time.Hour), "Opening", "Room 4")
	e.addSession(urgent.ID, now.Add(26*time.Hour), "Tomorrow", "")
	e.tick(e.clk.Now()) // first sight of the users: digests start now
	e.clk.Set(t0.Add(-time.Hour))
	if _, err := e.db.AddNote(ctx, &casebot.Note{CaseID: normal.ID, Author: "ann@example.com", Source: casebot.SourceEmail, Body: "hi"}, casebot.Change{Actor: "ann@example.com"}); err != nil {
		t.Fatal(err)
	}
	e.deliver()

	e.tick(now)
	byUser := map[string]string{}
	for _, m := range e.deliver() {
		if isNotice(m, casebot.NoticeDigest) {
			byUser[m.To] = m.Text
		}
	}
	med := byUser["U1"]
	for _, want := range []string{
		"3 cases open",
		"Sessions today (1):\n  " + normal.ID + " Noisy neighbour — session #1: Opening, Mon 2 Mar 2026 14:00 UTC, 2h, Room 4",
		"Deadlines in the next 7 days (2):\n  [urgent] " + urgent.ID + " Urgent eviction — #1 due Sat 7 Mar 2026 08:00 UTC: urgent brief\n  " +
			normal.ID + " Noisy neighbour — #1 due Thu 5 Mar 2026 08:00 UTC: normal brief",
		"Overdue (1):\n  " + normal.ID + " Noisy neighbour — #2 was due Sun 1 Mar 2026 08:00 UTC: late reply",
		"Party emails since",
		normal.ID + " Noisy neighbour — 1 email",
		"No activity for 14 days (1):\n  [low] " + idle.ID + " Quiet boundary",
	} {
		if !strings.Contains(med, want) {
			t.Errorf("mediator digest lacks %q:\n%s", want, med)
		}
	}
	for _, no := range []string{"too far", "Other mediator", "other late", "Quarantine", "Caseload balance"} {
		if strings.Contains(med, no) {
			t.Errorf("mediator digest shows %q:\n%s", no, med)
		}
	}
	adm := byUser["UADMIN"]
	for _, want := range []string{
		"0 cases open",
		"Overdue (2):\n  [high] " + other.ID + " Other mediator's case (mediator U2) — #1 was due Sat 28 Feb 2026 08:00 UTC: other late\n  " +
			normal.ID + " Noisy neighbour (mediator U1) — #2",
		"Quarantine: 4 emails waiting.",
		"Caseload balance (2):\n  U1: 3 open (urgent 1, normal 1, low 1)\n  U2: 1 open (high 1)",
	} {
		if !strings.Contains(adm, want) {
			t.Errorf("admin digest lacks %q:\n%s", want, adm)
		}
	}
	if _, ok := byUser["U2"]; !ok {
		t.Error("U2 (one open case) got no digest")
	}
	if txt, ok := byUser["U3"]; ok {
		t.Errorf("U3 has no open case but got a digest:\n%s", txt)
	}
	// The command shows the same thing on demand.
	d, err := e.s.DigestNow(ctx, "U3", now)
	if err != nil || !d.Empty() || !strings.Contains(bot.RenderDigest(&d), "Nothing to report") {
		t.Errorf("digest of U3 = %+v, %v", d, err)
	}
	d, err = e.s.DigestNow(ctx, "U1", now)
	if err != nil || !strings.Contains(bot.RenderDigest(&d), "Sessions today (1)") {
		t.Errorf("digest now of U1: %v\n%s", err, bot.RenderDigest(&d))
	}
}
