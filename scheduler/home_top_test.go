package scheduler

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/casebot/casebot"
)

// A Home with more overdue deadlines than it lists keeps the
// casebot.HomeOverdueShown most urgent (priority, then the earliest, then
// case and number), the first of the digest's full list, and counts them
// all; for a mediator and for an admin, who sees every case's.
func TestHomeKeepsTheMostUrgentOverdue(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	now := t0.Add(40 * day)
	e.clk.Set(now)
	prios := []casebot.Priority{casebot.PriorityLow, casebot.PriorityUrgent, casebot.PriorityNormal, casebot.PriorityHigh}
	for i := range 8 {
		c := e.newCase(fmt.Sprintf("Case %d", i), "U1", prios[i%len(prios)])
		for n := range 4 {
			// Due times interleave across cases and repeat, so that
			// the order needs every tie-breaker.
			e.addDeadline(c.ID, now.Add(-time.Duration((n*7+i*3)%11+1)*day), fmt.Sprintf("step %d of %d", n, i))
		}
	}
	other := e.newCase("Another's", "U2", casebot.PriorityUrgent)
	e.addDeadline(other.ID, now.Add(-2*day), "not U1's")
	e.addDeadline(other.ID, now.Add(time.Hour), "not overdue")
	for _, user := range []string{"U1", "UADMIN"} {
		h, err := e.s.HomeNow(ctx, user, now)
		if err != nil {
			t.Fatal(err)
		}
		d, err := e.s.BuildDigest(ctx, user, now, time.UTC, h.Since, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := itemKeys(d.Overdue)
		if n := map[string]int{"U1": 32, "UADMIN": 33}[user]; len(want) != n {
			t.Fatalf("%s's digest lists %d overdue, want %d", user, len(want), n)
		}
		if got := itemKeys(h.Overdue); !slices.Equal(got, want[:casebot.HomeOverdueShown]) {
			t.Errorf("%s's home overdue =\n%q, want the digest's first %d\n%q", user, got, casebot.HomeOverdueShown, want[:casebot.HomeOverdueShown])
		}
		if h.OverdueTotal != len(want) {
			t.Errorf("%s's home counts %d overdue, want %d", user, h.OverdueTotal, len(want))
		}
	}
}

// A Home holds the first casebot.HomeCasesShown of a mediator's open
// cases, in the list's order (as OpenCases lists them all), and counts
// them all in OpenCases.
func TestHomeHoldsTheFirstCasesAndCountsAll(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	now := t0.Add(2 * time.Hour)
	e.clk.Set(now)
	const n = casebot.HomeCasesShown + 7
	prios := []casebot.Priority{casebot.PriorityLow, casebot.PriorityUrgent, casebot.PriorityNormal, casebot.PriorityHigh}
	for i := range n {
		c := e.newCase(fmt.Sprintf("Case %d", i), "U1", prios[i%len(prios)])
		if i%3 == 0 {
			e.addDeadline(c.ID, now.Add(time.Duration(i%5+1)*day), "next")
		}
	}
	e.newCase("Another's", "U2", casebot.PriorityUrgent)
	all, err := e.s.OpenCases(ctx, "U1", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	h, err := e.s.HomeNow(ctx, "U1", now)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != n || h.OpenCases != n {
		t.Fatalf("U1 has %d open cases listed, %d counted on the Home; want %d", len(all), h.OpenCases, n)
	}
	if len(h.Cases) != casebot.HomeCasesShown || !slices.Equal(h.Cases, all[:casebot.HomeCasesShown]) {
		t.Errorf("the Home holds %d cases, want the first %d of the list", len(h.Cases), casebot.HomeCasesShown)
	}
}

// A Home opens only the summaries of the cases it can show, yet every
// deadline, session and party email on it carries its case's title and
// its text, whichever of its cases they belong to: those beyond the first
// casebot.HomeCasesShown, a case's next deadline and the ones after it,
// overdue and upcoming. It shows what the digest (from whole case
// records) shows.
func TestHomeTitlesItemsOfCasesItDoesNotList(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	now := t0.Add(40 * day)
	e.clk.Set(now)
	// The first casebot.HomeCasesShown cases in the list's order: urgent,
	// with nothing due.
	for i := range casebot.HomeCasesShown + 3 {
		e.newCase(fmt.Sprintf("Urgent %d", i), "U1", casebot.PriorityUrgent)
	}
	// Low cases, listed after them: deadlines, sessions and emails.
	for i := range 4 {
		c := e.newCase(fmt.Sprintf("Low %d", i), "U1", casebot.PriorityLow, party("Ann", "ann@example.com"))
		e.addDeadline(c.ID, now.Add(-time.Duration(i+2)*day), fmt.Sprintf("overdue first %d", i))
		e.addDeadline(c.ID, now.Add(-time.Duration(i+1)*time.Hour), fmt.Sprintf("overdue second %d", i))
		e.addDeadline(c.ID, now.Add(time.Duration(i+1)*day), fmt.Sprintf("upcoming %d", i))
		e.addDeadline(c.ID, now.Add(time.Duration(i+1)*day+time.Hour), fmt.Sprintf("upcoming after %d", i))
		e.addSession(c.ID, now.Add(time.Duration(i+1)*time.Hour), fmt.Sprintf("Session %d", i), "")
		if i%2 == 0 {
			if _, err := e.db.AddNote(ctx, &casebot.Note{CaseID: c.ID, Author: "ann@example.com", Source: casebot.SourceEmail, Body: "hi"}, casebot.Change{Actor: "ann@example.com"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Only upcoming deadlines, of a case whose next deadline is due in
	// the week.
	soon := e.newCase("Low soon", "U1", casebot.PriorityLow)
	e.addDeadline(soon.ID, now.Add(2*time.Hour), "soon first")
	e.addDeadline(soon.ID, now.Add(3*time.Hour), "soon second")
	h, err := e.s.HomeNow(ctx, "U1", now)
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.s.BuildDigest(ctx, "U1", now, time.UTC, h.Since, nil)
	if err != nil {
		t.Fatal(err)
	}
	full := func(items []casebot.DigestItem) []string {
		var out []string
		for _, it := range items {
			where := ""
			if it.Session != nil {
				where = it.Session.Title
			}
			out = append(out, fmt.Sprintf("%s #%d %s %q %q %q", it.CaseID, it.N, it.When.UTC().Format(time.RFC3339), it.Title, it.Text, where))
		}
		return out
	}
	for _, part := range []struct {
		name       string
		home, want []casebot.DigestItem
		n          int
	}{{"overdue", h.Overdue, d.Overdue, 8}, {"sessions", h.Sessions, d.Sessions, 4}, {"deadlines", h.Deadlines, d.Deadlines, 10}} {
		got, want := full(part.home), full(part.want)
		if len(want) != part.n || !slices.Equal(got, want) {
			t.Errorf("home %s =\n%q\ndigest's (want %d)\n%q", part.name, got, part.n, want)
		}
		for _, it := range part.home {
			if it.Title == "" || (it.Session == nil && it.Text == "") {
				t.Errorf("home %s: %s #%d without its title or text", part.name, it.CaseID, it.N)
			}
		}
	}
	if len(h.Emails) != 2 || !slices.Equal(h.Emails, d.Emails) {
		t.Errorf("home emails = %+v, digest's %+v", h.Emails, d.Emails)
	}
	for _, em := range h.Emails {
		if em.Title == "" {
			t.Errorf("email count of %s without its title", em.CaseID)
		}
	}
	if h.OpenCases != casebot.HomeCasesShown+8 || len(h.Cases) != casebot.HomeCasesShown {
		t.Errorf("home holds %d of %d cases", len(h.Cases), h.OpenCases)
	}
}

// skips counts and refuses exactly the deadlines offer would not keep, so
// that a mediator's Home, which asks skips first, keeps and counts what
// offering every deadline would.
func TestUrgentTopSkipsWhatOfferDrops(t *testing.T) {
	base := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	var all, asked urgentTop
	for i := range 400 {
		// Ranks, due times, cases and numbers repeat, so that every
		// tie-breaker decides some pairs.
		rank, at := (i*7)%4, base.Add(time.Duration((i*13)%37)*time.Hour)
		id, n := fmt.Sprintf("MED-2026-%04d", (i*5)%23), i%3+1
		ref := casebot.DeadlineRef{CaseID: id, Deadline: casebot.Deadline{N: n, Due: at}}
		all.offer(ref, rank)
		if !asked.skips(rank, at, id, n) {
			asked.offer(ref, rank)
		}
	}
	if all.total != 400 || asked.total != 400 {
		t.Errorf("counted %d and %d, want 400", all.total, asked.total)
	}
	if !slices.EqualFunc(all.top, asked.top, func(a, b rankedRef) bool {
		return a.rank == b.rank && a.ref.CaseID == b.ref.CaseID && a.ref.Deadline.N == b.ref.Deadline.N && a.ref.Deadline.Due.Equal(b.ref.Deadline.Due)
	}) {
		t.Errorf("kept\n%v\nwant\n%v", asked.top, all.top)
	}
}

// The scratch a Home is built with is kept for the next one empty: a
// Home built after another user's shows nothing of theirs, and the same
// Home twice is the same.
func TestHomeScratchKeepsNothingBetweenHomes(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	now := t0.Add(40 * day)
	e.clk.Set(now)
	for i := range 30 {
		c := e.newCase(fmt.Sprintf("U1's case %d", i), "U1", casebot.PriorityUrgent)
		e.addDeadline(c.ID, now.Add(-time.Duration(i+1)*time.Hour), "overdue")
		e.addDeadline(c.ID, now.Add(time.Duration(i+1)*time.Hour), "soon")
	}
	mine := e.newCase("U2's case", "U2", casebot.PriorityLow)
	e.addDeadline(mine.ID, now.Add(-time.Hour), "U2's overdue")
	e.addDeadline(mine.ID, now.Add(time.Hour), "U2's soon")
	first, err := e.s.HomeNow(ctx, "U2", now)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := e.s.HomeNow(ctx, "U1", now); err != nil {
			t.Fatal(err)
		}
		h, err := e.s.HomeNow(ctx, "U2", now)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(h, first) {
			t.Fatalf("U2's Home after U1's:\n%+v\nwant\n%+v", h, first)
		}
		for _, it := range slices.Concat(h.Overdue, h.Deadlines) {
			if it.CaseID != mine.ID {
				t.Errorf("U2's Home shows %s", it.CaseID)
			}
		}
		if len(h.Cases) != 1 || h.OpenCases != 1 || h.OverdueTotal != 1 || len(h.Overdue) != 1 || len(h.Deadlines) != 1 {
			t.Errorf("U2's Home: %d cases (%d open), %d overdue (%d counted), %d soon", len(h.Cases), h.OpenCases, len(h.Overdue), h.OverdueTotal, len(h.Deadlines))
		}
	}
}
