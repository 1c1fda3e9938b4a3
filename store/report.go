package store

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
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
// of tenths of days as the (tenths, count) pairs of the records it read,
// sorted once when the figures are asked for. A 12-month report reads a
// few hundred records of a few entries each: a dense slice indexed by
// tenths would be thousands of entries per group to allocate and walk.
type groupAcc struct {
	closed, settled int
	h               []uint64 // tenths << 32 | count: sorted as numbers, by tenths
}

// addEncoded adds a stored closing record (closingRecord.encode).
func (g *groupAcc) addEncoded(v []byte) error {
	d := dec{b: v}
	closed, settled := int(d.uint()), int(d.uint())
	n := d.count(2)
	g.h = slices.Grow(g.h, n)
	t := uint64(0)
	for i := 0; i < n && d.err == nil; i++ {
		t += d.uint()
		c := d.uint()
		if t > 1<<20 || c > 1<<31 { // over 280 years, or more closings than cases: a broken record
			return fmt.Errorf("closing record: %d closings of %d tenths of a day", c, t)
		}
		g.h = append(g.h, t<<32|c)
	}
	if d.err != nil {
		return fmt.Errorf("closing record: %w", d.err)
	}
	g.closed += closed
	g.settled += settled
	return nil
}

func (g *groupAcc) figures(key string) casebot.GroupFigures {
	f := casebot.GroupFigures{Key: key, Closed: g.closed, Settled: g.settled}
	f.MedianDays, f.P90Days = sortedPercentiles(g.h)
	return f
}

// sortedPercentiles is histogram.percentiles over groupAcc's entries
// (tenths << 32 | count), which it sorts in place (a tenths value may
// come more than once).
func sortedPercentiles(h []uint64) (median, p90 float64) {
	n := 0
	for _, e := range h {
		n += int(uint32(e))
	}
	if n == 0 {
		return 0, 0
	}
	slices.Sort(h)
	at := func(rank int) float64 { // rank is 1-based
		seen := 0
		for _, e := range h {
			if seen += int(uint32(e)); seen >= rank {
				return float64(e>>32) / 10
			}
		}
		return float64(h[len(h)-1]>>32) / 10
	}
	median = at((n + 1) / 2)
	if n%2 == 0 {
		median = (at(n/2) + at(n/2+1)) / 2
	}
	return median, at(int(math.Ceil(0.9 * float64(n))))
}

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
		all := &groupAcc{}
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
					g = &groupAcc{}
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
