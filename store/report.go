package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/casebot/casebot"
)

// parseMonth reads "2006-01" as the first instant of that month in loc.
func parseMonth(s string, loc *time.Location) (time.Time, error) {
	t, err := time.ParseInLocation("2006-01", s, loc)
	if err != nil {
		return time.Time{}, casebot.Errorf(casebot.EINVALID, "%q is not a month like 2026-01.", s)
	}
	return t, nil
}

// groupAcc collects one group's closed cases.
type groupAcc struct {
	closed, settled int
	h               histogram
}

func (g *groupAcc) add(ck closedKey, n int) {
	if g.h == nil {
		g.h = histogram{}
	}
	g.closed += n
	if settled(ck.outcome) {
		g.settled += n
	}
	g.h[ck.tenths] += n
}

func (g *groupAcc) figures(key string) casebot.GroupFigures {
	f := casebot.GroupFigures{Key: key, Closed: g.closed, Settled: g.settled}
	f.MedianDays, f.P90Days = g.h.percentiles()
	return f
}

// Report returns the figures of the months q names, from the aggregates:
// per month the 'a' and 'c' counters, the sessions' day counters and the
// purge counts, then the period's rows of the closed-case index. Its work
// grows with months and groups (and the closed cases listed), not with the
// cases in the store. A mediator's report counts only their cases.
// EINVALID for a bad month or a period that ends before it starts or
// spans more than ten years.
func (db *DB) Report(ctx context.Context, q casebot.ReportQuery) (*casebot.Report, error) {
	var r *casebot.Report
	err := db.view(ctx, func(tx *bolt.Tx) error {
		loc := reportZone(tx)
		from, err := parseMonth(q.FromMonth, loc)
		if err != nil {
			return err
		}
		to, err := parseMonth(q.ToMonth, loc)
		if err != nil {
			return err
		}
		if to.Before(from) {
			return casebot.Errorf(casebot.EINVALID, "The period ends (%s) before it starts (%s).", q.ToMonth, q.FromMonth)
		}
		end := to.AddDate(0, 1, 0)
		if end.After(from.AddDate(10, 0, 0)) {
			return casebot.Errorf(casebot.EINVALID, "A report covers at most ten years.")
		}
		r = &casebot.Report{FromMonth: q.FromMonth, ToMonth: q.ToMonth, Mediator: q.Mediator, By: map[string][]casebot.GroupFigures{}}
		med := dim(q.Mediator)
		all := &groupAcc{}
		by := map[string]map[string]*groupAcc{casebot.ByType: {}, casebot.ByPriority: {}, casebot.BySource: {}, casebot.ByMediator: {}}
		for m := from; m.Before(end); m = m.AddDate(0, 1, 0) {
			mf := casebot.MonthFigures{Month: m.Format("2006-01")}
			err := forCounters(tx, "a\x00"+mf.Month+"\x00", func(k []byte, n int) error {
				parts := counterParts(k)
				if len(parts) != 5 {
					return fmt.Errorf("bad opened counter %q", k)
				}
				if med == "" || parts[4] == med {
					mf.Opened += n
				}
				return nil
			})
			if err != nil {
				return err
			}
			err = forCounters(tx, "c\x00"+mf.Month+"\x00", func(k []byte, n int) error {
				ck, err := parseClosedKey(k)
				if err != nil {
					return err
				}
				if med != "" && ck.mediator != med {
					return nil
				}
				mf.Closed += n
				if settled(ck.outcome) {
					mf.Settled += n
				}
				all.add(ck, n)
				for d, v := range map[string]string{casebot.ByType: ck.typ, casebot.ByPriority: ck.priority, casebot.BySource: ck.source, casebot.ByMediator: ck.mediator} {
					g := by[d][v]
					if g == nil {
						g = &groupAcc{}
						by[d][v] = g
					}
					g.add(ck, n)
				}
				return nil
			})
			if err != nil {
				return err
			}
			err = forCounters(tx, "p\x00"+mf.Month, func(_ []byte, n int) error {
				if med == "" {
					r.Purged += n
				}
				return nil
			})
			if err != nil {
				return err
			}
			r.Opened += mf.Opened
			r.Months = append(r.Months, mf)
		}
		r.All = all.figures("all")
		for d, groups := range by {
			for _, v := range sortedKeys(groups) {
				r.By[d] = append(r.By[d], groups[v].figures(v))
			}
		}
		if r.SessionsHeld, err = sessionsHeld(tx, from, end, q.Now, loc, med); err != nil {
			return err
		}
		r.Cases, err = closedRows(tx, from, end, q.Mediator)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: report: %w", err)
	}
	return r, nil
}

// sessionsHeld counts the sessions (not cancelled) of the days from from
// up to end and not after now, of one mediator or ("") all.
func sessionsHeld(tx *bolt.Tx, from, end, now time.Time, loc *time.Location, med string) (int, error) {
	last := end.AddDate(0, 0, -1).Format("2006-01-02")
	if !now.IsZero() && now.In(loc).Format("2006-01-02") < last {
		last = now.In(loc).Format("2006-01-02")
	}
	n := 0
	p := []byte("h\x00")
	c := tx.Bucket(bucketAgg).Cursor()
	for k, v := c.Seek(append(p, from.Format("2006-01-02")...)); hasPrefix(k, p); k, v = c.Next() {
		parts := counterParts(k)
		if len(parts) != 2 {
			return 0, fmt.Errorf("bad sessions counter %q", k)
		}
		if parts[0] > last {
			break
		}
		if med == "" || parts[1] == med {
			n += int(u64(v))
		}
	}
	return n, nil
}

// closedRows returns the cases closed from from to before end, of one
// mediator or ("") all, in order of closing, from the closed-case index.
func closedRows(tx *bolt.Tx, from, end time.Time, mediator string) ([]casebot.ClosedCase, error) {
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
