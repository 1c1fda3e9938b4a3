package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/casebot/casebot"
)

// TestReportQuartersMatchRows: for random periods, whole quarters and
// loose months alike, every figure Report takes from the closing records
// (by month, quarter or both) equals the figure computed from the period's
// closed-case rows themselves, for the programme and for a mediator.
func TestReportQuartersMatchRows(t *testing.T) {
	db, clk := openTest(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 8))
	start := time.Date(2024, 11, 3, 9, 0, 0, 0, time.UTC)
	types, sources := []string{"family", "commercial", "workplace"}, []string{"court", "self", ""}
	for i := range 160 {
		clk.Set(start.Add(time.Duration(rng.IntN(20*30*24)) * time.Hour))
		c, err := db.CreateCase(ctx, &casebot.Case{Title: fmt.Sprint(i), Type: types[rng.IntN(3)], Priority: casebot.Priorities[rng.IntN(4)],
			Source: sources[rng.IntN(3)], Mediator: fmt.Sprintf("U%d", rng.IntN(4))}, casebot.Change{Actor: "U0"})
		if err != nil {
			t.Fatal(err)
		}
		if rng.IntN(5) > 0 {
			clk.Advance(time.Duration(1+rng.IntN(200*24)) * time.Hour)
			out := []casebot.Status{casebot.StatusSettled, casebot.StatusPartial, casebot.StatusImpasse, casebot.StatusWithdrawn}[rng.IntN(4)]
			update(t, db, c.ID, "close", func(c *casebot.Case) { c.Status, c.Outcome = out, out })
		}
	}
	mustCheck(t, db, "random closings")
	for q := range 40 {
		from := time.Date(2024, time.Month(10+rng.IntN(24)), 1, 0, 0, 0, 0, time.UTC)
		to := from.AddDate(0, rng.IntN(15), 0)
		med := []string{"", "U2"}[q%2]
		rq := casebot.ReportQuery{FromMonth: from.Format("2006-01"), ToMonth: to.Format("2006-01"), Mediator: med}
		r, err := db.Report(ctx, rq)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := db.ClosedCases(ctx, rq)
		if err != nil {
			t.Fatal(err)
		}
		want := figuresOfRows(rows, med == "")
		got := map[string][]casebot.GroupFigures{"all": {r.All}}
		for d, gs := range r.By {
			got[d] = gs
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s to %s (mediator %q):\nreport %+v\nrows   %+v", rq.FromMonth, rq.ToMonth, med, got, want)
		}
		closed := 0
		for _, m := range r.Months {
			closed += m.Closed
		}
		if len(r.Months) != monthsBetween(from, to) {
			t.Errorf("%d month rows from %s to %s", len(r.Months), rq.FromMonth, rq.ToMonth)
		}
		if closed != len(rows) {
			t.Errorf("%s to %s: the month rows count %d closings, the rows %d", rq.FromMonth, rq.ToMonth, closed, len(rows))
		}
	}
}

func monthsBetween(from, to time.Time) int {
	return (to.Year()-from.Year())*12 + int(to.Month()-from.Month()) + 1
}

// figuresOfRows computes a report's group figures from closed-case rows.
func figuresOfRows(rows []casebot.ClosedCase, programme bool) map[string][]casebot.GroupFigures {
	type acc struct {
		closed, settled int
		h               histogram
	}
	groups := map[string]map[string]*acc{}
	add := func(d, v string, row casebot.ClosedCase) {
		if groups[d] == nil {
			groups[d] = map[string]*acc{}
		}
		a := groups[d][v]
		if a == nil {
			a = &acc{h: histogram{}}
			groups[d][v] = a
		}
		a.closed++
		if settled(row.Outcome) {
			a.settled++
		}
		a.h[uint32(row.Days*10+0.5)]++
	}
	for _, row := range rows {
		add("all", "all", row)
		add("type", row.Type, row)
		add("priority", string(row.Priority), row)
		add("source", row.Source, row)
		if programme {
			add("mediator", row.Mediator, row)
		}
	}
	out := map[string][]casebot.GroupFigures{}
	for d, vs := range groups {
		keys := make([]string, 0, len(vs))
		for v := range vs {
			keys = append(keys, v)
		}
		slices.Sort(keys)
		for _, v := range keys {
			a := vs[v]
			f := casebot.GroupFigures{Key: v, Closed: a.closed, Settled: a.settled}
			f.MedianDays, f.P90Days = a.h.percentiles()
			out[d] = append(out[d], f)
		}
	}
	if out["all"] == nil {
		out["all"] = []casebot.GroupFigures{{Key: "all"}}
	}
	return out
}

// The report's percentiles, merged from runs of ascending entries, equal
// those of one histogram of all of them, for random runs.
func TestMergedPercentiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 15))
	for round := range 2000 {
		var arena []uint64
		var runs [][2]int32
		h := histogram{}
		for range rng.IntN(6) {
			start := len(arena)
			tenths := uint64(0)
			for range rng.IntN(8) {
				tenths += uint64(rng.IntN(40))
				c := uint64(1 + rng.IntN(3))
				if len(arena) > start && arena[len(arena)-1]>>32 == tenths {
					continue // a record holds a tenths value once
				}
				arena = append(arena, tenths<<32|c)
				h[uint32(tenths)] += int(c)
			}
			if len(arena) > start {
				runs = append(runs, [2]int32{int32(start), int32(len(arena))})
			}
		}
		gotM, gotP := mergedPercentiles(arena, runs)
		wantM, wantP := h.percentiles()
		if gotM != wantM || gotP != wantP {
			t.Fatalf("round %d: runs %v of %x: median, p90 = %v, %v; want %v, %v", round, runs, arena, gotM, gotP, wantM, wantP)
		}
	}
}
