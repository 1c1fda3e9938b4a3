package scheduler

import (
	"context"
	"fmt"
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
