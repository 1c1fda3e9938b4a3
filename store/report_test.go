package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
	_ "time/tzdata" // the report's zone must not depend on the machine's tzdata

	"github.com/casebot/casebot"
)

// reportFixture opens six cases over two years in Amsterdam's zone, across
// the spring 2026 daylight-saving change, closes five with known outcomes
// and gives two of them sessions. Hand-computed days to close: A 10.0,
// B 10.0, C 2.0 (47 hours over the change), D 30.6, F 5.0.
func reportFixture(t *testing.T, zone *time.Location) (*DB, string) {
	t.Helper()
	ams, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, ams)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	path := filepath.Join(t.TempDir(), "report.db")
	clk := newClock()
	db := openAt(t, path, clk, Options{Zone: zone})
	ctx := context.Background()
	type spec struct {
		opened, closed         string
		typ, prio, source, med string
		outcome                casebot.Status
		sessions               []casebot.Session
	}
	specs := []spec{
		{"2025-11-10 10:00", "2025-11-20 10:00", "family", "high", "court", "U1", casebot.StatusSettled, nil},      // A
		{"2026-01-01 00:30", "2026-01-11 00:30", "commercial", "normal", "self", "U2", casebot.StatusImpasse, nil}, // B: 2025-12 in UTC
		{"2026-03-28 12:00", "2026-03-30 12:00", "family", "urgent", "court", "U1", casebot.StatusPartial, nil},    // C: over the change
		{"2026-03-01 09:00", "2026-04-01 00:30", "commercial", "low", "", "U2", casebot.StatusWithdrawn, nil},      // D: closed 2026-03 in UTC
		{"2026-02-15 10:00", "", "family", "normal", "court", "U1", "", []casebot.Session{ // E: open
			{N: 1, Start: at("2026-02-20 10:00"), Duration: time.Hour},
			{N: 2, Start: at("2026-02-21 10:00"), Duration: time.Hour, Cancelled: true},
			{N: 3, Start: at("2026-05-20 10:00"), Duration: time.Hour}}},
		{"2026-04-10 09:00", "2026-04-15 09:00", "family", "high", "court", "U1", casebot.StatusSettled, []casebot.Session{ // F
			{N: 1, Start: at("2026-04-12 10:00"), Duration: time.Hour}}},
	}
	for i, s := range specs {
		clk.Set(at(s.opened))
		c, err := db.CreateCase(ctx, &casebot.Case{Title: fmt.Sprint(i), Type: s.typ, Priority: casebot.Priority(s.prio), Source: s.source, Mediator: s.med}, casebot.Change{Actor: s.med})
		if err != nil {
			t.Fatal(err)
		}
		update(t, db, c.ID, "sessions", func(c *casebot.Case) { c.Sessions = s.sessions })
		if s.closed != "" {
			clk.Set(at(s.closed))
			update(t, db, c.ID, "close", func(c *casebot.Case) { c.Status, c.Outcome = s.outcome, s.outcome })
		}
	}
	clk.Set(at("2026-05-15 12:00"))
	mustCheck(t, db, "the report fixture")
	return db, path
}

func TestReportFigures(t *testing.T) {
	ams, _ := time.LoadLocation("Europe/Amsterdam")
	db, path := reportFixture(t, ams)
	ctx := context.Background()
	now := db.now()
	r, err := db.Report(ctx, casebot.ReportQuery{FromMonth: "2025-11", ToMonth: "2026-05", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	wantMonths := "[{2025-11 1 1 1} {2025-12 0 0 0} {2026-01 1 1 0} {2026-02 1 0 0} {2026-03 2 1 1} {2026-04 1 2 1} {2026-05 0 0 0}]"
	if got := fmt.Sprint(r.Months); got != wantMonths {
		t.Errorf("months %s\nwant   %s", got, wantMonths)
	}
	check := func(what string, got casebot.GroupFigures, closed, settled int, median, p90 float64) {
		t.Helper()
		if got.Closed != closed || got.Settled != settled || got.MedianDays != median || got.P90Days != p90 {
			t.Errorf("%s: %+v, want closed %d settled %d median %.1f p90 %.1f", what, got, closed, settled, median, p90)
		}
	}
	if r.Opened != 6 || r.SessionsHeld != 2 || r.OffersMade != 0 || r.Purged != 0 {
		t.Errorf("opened %d sessions %d offers %d purged %d, want 6, 2, 0, 0", r.Opened, r.SessionsHeld, r.OffersMade, r.Purged)
	}
	check("all", r.All, 5, 3, 10, 30.6)
	group := func(dim, key string) casebot.GroupFigures {
		for _, g := range r.By[dim] {
			if g.Key == key {
				return g
			}
		}
		t.Errorf("no %s group %q in %+v", dim, key, r.By[dim])
		return casebot.GroupFigures{}
	}
	check("type family", group(casebot.ByType, "family"), 3, 3, 5, 10)
	check("type commercial", group(casebot.ByType, "commercial"), 2, 0, 20.3, 30.6)
	check("priority high", group(casebot.ByPriority, "high"), 2, 2, 7.5, 10)
	check("priority urgent", group(casebot.ByPriority, "urgent"), 1, 1, 2, 2)
	check("source court", group(casebot.BySource, "court"), 3, 3, 5, 10)
	check("source none", group(casebot.BySource, ""), 1, 0, 30.6, 30.6)
	check("mediator U2", group(casebot.ByMediator, "U2"), 2, 0, 20.3, 30.6)
	if got := r.All.SettlementRate(); got != 0.6 {
		t.Errorf("settlement rate %v, want 0.6", got)
	}
	cases, err := db.ClosedCases(ctx, casebot.ReportQuery{FromMonth: "2025-11", ToMonth: "2026-05"})
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, c := range cases {
		rows = append(rows, fmt.Sprintf("%s %s %.1f %d", c.ID, c.Outcome, c.Days, c.Sessions))
	}
	if got, want := fmt.Sprint(rows), "[MED-2025-0001 settled 10.0 0 MED-2025-0002 impasse 10.0 0 MED-2026-0001 partial 2.0 0 MED-2026-0002 withdrawn 30.6 0 MED-2026-0004 settled 5.0 1]"; got != want {
		t.Errorf("rows %s\nwant %s", got, want)
	}

	// A mediator's report counts only their cases.
	m, err := db.Report(ctx, casebot.ReportQuery{FromMonth: "2025-11", ToMonth: "2026-05", Mediator: "U2", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	mc, err := db.ClosedCases(ctx, casebot.ReportQuery{FromMonth: "2025-11", ToMonth: "2026-05", Mediator: "U2"})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(m.Months); m.Opened != 2 || len(mc) != 2 || m.SessionsHeld != 0 ||
		got != "[{2025-11 0 0 0} {2025-12 0 0 0} {2026-01 1 1 0} {2026-02 0 0 0} {2026-03 1 0 0} {2026-04 0 1 0} {2026-05 0 0 0}]" {
		t.Errorf("U2's report: opened %d, %d rows, sessions %d, months %s", m.Opened, len(mc), m.SessionsHeld, got)
	}
	// Stats reads the same aggregates.
	if st, _ := db.StatsFor(ctx, now, ""); st.Closed != 5 || st.Settled != 3 || st.MedianDaysToClose != 10 {
		t.Errorf("stats %+v", st)
	}
	if _, err := db.Report(ctx, casebot.ReportQuery{FromMonth: "2026-13", ToMonth: "2026-05"}); casebot.ErrorCode(err) != casebot.EINVALID {
		t.Errorf("bad month: %v", err)
	}

	// In UTC, B opened in December and D closed in March: reopening the
	// store in another zone rebuilds the months.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, path, newClock(), Options{Zone: time.UTC})
	mustCheck(t, db, "the zone change")
	u, err := db.Report(ctx, casebot.ReportQuery{FromMonth: "2025-11", ToMonth: "2026-05", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(u.Months); got != "[{2025-11 1 1 1} {2025-12 1 0 0} {2026-01 0 1 0} {2026-02 1 0 0} {2026-03 2 2 1} {2026-04 1 1 1} {2026-05 0 0 0}]" {
		t.Errorf("UTC months %s", got)
	}
}
