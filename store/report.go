package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// period returns the first instant of q's first month and of the month
// after its last, in loc.
func period(q casebot.ReportQuery, loc *time.Location) (time.Time, time.Time, error) {
	from, err := parseMonth(q.FromMonth, loc)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	to, err := parseMonth(q.ToMonth, loc)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	if to.Before(from) {
		return time.Time{}, time.Time{}, casebot.Errorf(casebot.EINVALID, "The period ends (%s) before it starts (%s).", q.ToMonth, q.FromMonth)
	}
	end := to.AddDate(0, 1, 0)
	if end.After(from.AddDate(10, 0, 0)) {
		return time.Time{}, time.Time{}, casebot.Errorf(casebot.EINVALID, "A report covers at most ten years.")
	}
	return from, end, nil
}

// ClosedCases returns the cases closed in q's months, of q.Mediator or
// ("") all, in order of closing, from the closed-case index: the CSV's
// rows. EINVALID as for Report.
func (db *DB) ClosedCases(ctx context.Context, q casebot.ReportQuery) ([]casebot.ClosedCase, error) {
	var out []casebot.ClosedCase
	err := db.view(ctx, func(tx kv.Tx) error {
		from, end, err := period(q, reportZone(tx))
		if err != nil {
			return err
		}
		out, err = closedRows(tx, from, end, q.Mediator)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: closed cases: %w", err)
	}
	return out, nil
}

// parseMonth reads "2006-01" as the first instant of that month in loc.
func parseMonth(s string, loc *time.Location) (time.Time, error) {
	t, err := time.ParseInLocation("2006-01", s, loc)
	if err != nil {
		return time.Time{}, casebot.Errorf(casebot.EINVALID, "%q is not a month like 2026-01.", s)
	}
	return t, nil
}

// groupAcc collects one group's closed cases: counts, and the histogram
// of tenths of days as the (tenths, count) pairs of the records it read.
// Each record's pairs are ascending; they are kept as runs in an arena the
// report's groups share, and the figures merge the runs rather than sort
// them (the programme's report reads thousands of pairs per dimension, and
// sorting them, and growing a slice per group, was a third of its time).
type groupAcc struct {
	closed, settled int
	arena           *[]uint64  // tenths << 32 | count
	runs            [][2]int32 // each record's pairs: start, end in *arena
}

func newGroupAcc(arena *[]uint64) *groupAcc { return &groupAcc{arena: arena} }

// addEncoded adds a stored closing record (closingRecord.encode).
func (g *groupAcc) addEncoded(v []byte) error {
	d := dec{b: v}
	closed, settled := int(d.uint()), int(d.uint())
	n := d.count(2)
	h := slices.Grow(*g.arena, n)
	start := len(h)
	t := uint64(0)
	for i := 0; i < n && d.err == nil; i++ {
		t += d.uint()
		c := d.uint()
		if t > 1<<20 || c > 1<<31 { // over 280 years, or more closings than cases: a broken record
			return fmt.Errorf("closing record: %d closings of %d tenths of a day", c, t)
		}
		h = append(h, t<<32|c)
	}
	*g.arena = h
	if d.err != nil {
		return fmt.Errorf("closing record: %w", d.err)
	}
	if len(h) > math.MaxInt32 {
		return errors.New("closing records: too many entries for one report")
	}
	if len(h) > start {
		g.runs = append(g.runs, [2]int32{int32(start), int32(len(h))})
	}
	g.closed += closed
	g.settled += settled
	return nil
}

func (g *groupAcc) figures(key string) casebot.GroupFigures {
	f := casebot.GroupFigures{Key: key, Closed: g.closed, Settled: g.settled}
	f.MedianDays, f.P90Days = mergedPercentiles(*g.arena, g.runs)
	return f
}

// mergedPercentiles is histogram.percentiles over runs of arena's entries
// (tenths << 32 | count, each run ascending), walked in merged order once.
func mergedPercentiles(arena []uint64, runs [][2]int32) (median, p90 float64) {
	n := 0
	for _, r := range runs {
		for _, e := range arena[r[0]:r[1]] {
			n += int(uint32(e))
		}
	}
	if n == 0 {
		return 0, 0
	}
	// The ranks asked for (1-based, ascending): the middle one or two, and
	// the 90th percentile's nearest rank.
	ranks := [3]int{(n + 1) / 2, (n + 1) / 2, int(math.Ceil(0.9 * float64(n)))}
	if n%2 == 0 {
		ranks[0], ranks[1] = n/2, n/2+1
	}
	var at [3]float64
	next := 0
	cur := make([]int32, len(runs))
	for i, r := range runs {
		cur[i] = r[0]
	}
	seen := 0
	for next < len(ranks) {
		best := -1
		for i, r := range runs {
			if cur[i] < r[1] && (best < 0 || arena[cur[i]]>>32 < arena[cur[best]]>>32) {
				best = i
			}
		}
		if best < 0 { // counts add up to n: not reached
			break
		}
		e := arena[cur[best]]
		cur[best]++
		seen += int(uint32(e))
		for next < len(ranks) && seen >= ranks[next] {
			at[next] = float64(e>>32) / 10
			next++
		}
	}
	return (at[0] + at[1]) / 2, at[2]
}

// reportArenas keep the arenas of reports' histogram entries for the next
// report; one larger than maxPooledArena entries is let go.
var reportArenas = sync.Pool{New: func() any { return new([]uint64) }}

const maxPooledArena = 1 << 20

// Report returns the figures of the months q names, from the aggregates:
// per month the 'z' counters and the purge count, the
// groups' closing records of each whole quarter in the period and of each
// month outside one, and the sessions' day counters. Its work grows with months and groups, not with the cases
// in the store; ClosedCases reads the period's rows. A mediator's report counts only their cases.
// EINVALID for a bad month or a period that ends before it starts or
// spans more than ten years.
func (db *DB) Report(ctx context.Context, q casebot.ReportQuery) (*casebot.Report, error) {
	var r *casebot.Report
	err := db.view(ctx, func(tx kv.Tx) error {
		loc := reportZone(tx)
		from, end, err := period(q, loc)
		if err != nil {
			return err
		}
		r = &casebot.Report{FromMonth: q.FromMonth, ToMonth: q.ToMonth, Mediator: q.Mediator, By: map[string][]casebot.GroupFigures{}}
		scope := dim(q.Mediator)
		arena := reportArenas.Get().(*[]uint64)
		defer func() {
			if cap(*arena) <= maxPooledArena {
				*arena = (*arena)[:0]
				reportArenas.Put(arena)
			}
		}()
		all := newGroupAcc(arena)
		by := map[string]*groupAcc{} // dim \0 value -> its closings
		agg := tx.Bucket(bucketAgg)
		// closings adds the closing records of unit (a month or a
		// quarter) to all and by.
		closings := func(unit string) error {
			p := "c\x00" + unit + "\x00" + scope + "\x00"
			return forCounters(tx, p, func(k, v []byte) error {
				group := k[len(p):] // dim \0 value
				if bytes.Equal(group, []byte("all\x00")) {
					if err := all.addEncoded(v); err != nil {
						return fmt.Errorf("counter %q: %w", k, err)
					}
					return nil
				}
				g := by[string(group)] // no copy of the key to look it up
				if g == nil {
					if bytes.IndexByte(group, 0) < 0 {
						return fmt.Errorf("bad closing counter %q", k)
					}
					g = newGroupAcc(arena)
					by[string(group)] = g
				}
				if err := g.addEncoded(v); err != nil {
					return fmt.Errorf("counter %q: %w", k, err)
				}
				return nil
			})
		}
		// The month rows: opened, closed and settled from the 'z'
		// counters, whose keys for one scope lie month after month, and
		// the programme's purge counts: two walks, not three lookups a
		// month.
		first, last := from.Format("2006-01"), end.AddDate(0, 0, -1).Format("2006-01")
		nMonths := monthIndex(first, last) + 1
		if nMonths < 1 || nMonths > 1200 {
			return fmt.Errorf("bad period %s to %s", first, last)
		}
		counts := make([][3]int, nMonths) // opened, closed, settled
		zp := []byte("z\x00" + scope + "\x00")
		c := agg.Cursor()
		for k, v := c.Seek(append(slices.Clip(zp), first...)); hasPrefix(k, zp); k, v = c.Next() {
			rest := k[len(zp):] // month \0 count
			if len(rest) != 9 || rest[7] != 0 || len(v) != 8 {
				return fmt.Errorf("bad month counter %q", k)
			}
			if string(rest[:7]) > last {
				break
			}
			at := monthIndex(first, string(rest[:7]))
			if at < 0 || at >= nMonths {
				return fmt.Errorf("bad month counter %q", k)
			}
			switch rest[8] {
			case monthOpened:
				counts[at][0] = int(u64(v))
			case monthClosed:
				counts[at][1] = int(u64(v))
			case monthSettled:
				counts[at][2] = int(u64(v))
			}
		}
		if scope == "" {
			pp := []byte("p\x00")
			for k, v := c.Seek(append(slices.Clip(pp), first...)); hasPrefix(k, pp) && string(k[len(pp):]) <= last; k, v = c.Next() {
				if len(v) == 8 {
					r.Purged += int(u64(v))
				}
			}
		}
		month := func(m time.Time) casebot.MonthFigures {
			mf := casebot.MonthFigures{Month: m.Format("2006-01")}
			if at := monthIndex(first, mf.Month); at >= 0 && at < nMonths {
				mf.Opened, mf.Closed, mf.Settled = counts[at][0], counts[at][1], counts[at][2]
			}
			r.Opened += mf.Opened
			return mf
		}
		for m := from; m.Before(end); {
			if m.Month()%3 == 1 && !m.AddDate(0, 3, 0).After(end) { // a whole quarter
				if err := closings(quarterOf(m.Format("2006-01"))); err != nil {
					return err
				}
				for range 3 {
					r.Months = append(r.Months, month(m))
					m = m.AddDate(0, 1, 0)
				}
				continue
			}
			mf := month(m)
			if err := closings(mf.Month); err != nil {
				return err
			}
			r.Months = append(r.Months, mf)
			m = m.AddDate(0, 1, 0)
		}
		r.All = all.figures("all")
		for _, group := range sortedKeys(by) { // by dimension, then value
			d, v, _ := strings.Cut(group, "\x00")
			r.By[d] = append(r.By[d], by[group].figures(v))
		}
		r.SessionsHeld, err = sessionsHeld(tx, from, end, q.Now, loc, scope)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: report: %w", err)
	}
	return r, nil
}

// monthIndex returns how many months month ("2006-01") is after first;
// -1 for a malformed month.
func monthIndex(first, month string) int {
	y0, m0, ok0 := yearMonth(first)
	y, m, ok := yearMonth(month)
	if !ok0 || !ok {
		return -1
	}
	return (y-y0)*12 + m - m0
}

// yearMonth parses "2006-01".
func yearMonth(s string) (y, m int, ok bool) {
	if len(s) != 7 || s[4] != '-' {
		return 0, 0, false
	}
	for i, ch := range []byte(s) {
		if i == 4 {
			continue
		}
		if ch < '0' || ch > '9' {
			return 0, 0, false
		}
	}
	y = int(s[0]-'0')*1000 + int(s[1]-'0')*100 + int(s[2]-'0')*10 + int(s[3]-'0')
	m = int(s[5]-'0')*10 + int(s[6]-'0')
	return y, m, m >= 1 && m <= 12
}

// sessionsHeld counts the sessions (not cancelled) of the days from from
// up to end and not after now, of one mediator or ("") all.
func sessionsHeld(tx kv.Tx, from, end, now time.Time, loc *time.Location, scope string) (int, error) {
	last := end.AddDate(0, 0, -1).Format("2006-01-02")
	if !now.IsZero() && now.In(loc).Format("2006-01-02") < last {
		last = now.In(loc).Format("2006-01-02")
	}
	n := 0
	p := []byte("h\x00" + scope + "\x00")
	c := tx.Bucket(bucketAgg).Cursor()
	for k, v := c.Seek(append(p, from.Format("2006-01-02")...)); hasPrefix(k, p) && string(k[len(p):]) <= last; k, v = c.Next() {
		n += int(u64(v))
	}
	return n, nil
}

// closedRows returns the cases closed from from to before end, of one
// mediator or ("") all, in order of closing, from the closed-case index.
func closedRows(tx kv.Tx, from, end time.Time, mediator string) ([]casebot.ClosedCase, error) {
	var out []casebot.ClosedCase
	stop := timeKey(end)
	c := tx.Bucket(bucketIdxClosed).Cursor()
	for k, v := c.Seek(timeKey(from)); k != nil && strings.Compare(string(k[:8]), string(stop)) < 0; k, v = c.Next() {
		row, err := decodeClosedRow(k, v)
		if err != nil {
			return nil, err
		}
		if mediator == "" || row.Mediator == mediator {
			out = append(out, row)
		}
	}
	return out, nil
}
