package store

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// statusCounts returns the cases now by status and priority, of one
// mediator or ("") all.
func statusCounts(tx kv.Tx, mediator string) (map[casebot.Status]map[casebot.Priority]int, error) {
	out := map[casebot.Status]map[casebot.Priority]int{}
	prefix, skip := "s\x00", 0
	if mediator != "" {
		prefix, skip = "m\x00"+dim(mediator)+"\x00", 1
	}
	err := forCounters(tx, prefix, func(k, v []byte) error {
		n := int(u64(v))
		parts := counterParts(k)[skip:]
		if len(parts) != 2 {
			return fmt.Errorf("bad counter key %q", k)
		}
		s := casebot.Status(parts[0])
		if out[s] == nil {
			out[s] = map[casebot.Priority]int{}
		}
		out[s][casebot.Priority(parts[1])] += n
		return nil
	})
	return out, err
}

// countCases returns how many cases of one mediator or ("") all have a
// status want accepts.
func countCases(tx kv.Tx, mediator string, want func(casebot.Status) bool) (int, error) {
	counts, err := statusCounts(tx, mediator)
	total := 0
	for s, byP := range counts {
		if want(s) {
			for _, n := range byP {
				total += n
			}
		}
	}
	return total, err
}

// StatsFor returns caseload figures at now for one mediator's cases or
// ("") every case: open cases by status and priority and the closed count
// and settlements from the counters, the median days to close from the
// closing histograms, overdue deadlines from the deadline index.
func (db *DB) StatsFor(ctx context.Context, now time.Time, mediator string) (casebot.Stats, error) {
	st := casebot.Stats{OpenByStatus: make(map[casebot.Status]int), OpenByPriority: make(map[casebot.Priority]int)}
	err := db.view(ctx, func(tx kv.Tx) error {
		counts, err := statusCounts(tx, mediator)
		if err != nil {
			return err
		}
		for s, byP := range counts {
			for p, n := range byP {
				switch {
				case !s.Closed():
					st.OpenByStatus[s] += n
					st.OpenByPriority[p] += n
				default:
					st.Closed += n
					if settled(s) {
						st.Settled += n
					}
				}
			}
		}
		if v := tx.Bucket(bucketAgg).Get([]byte("c\x00" + allTime + "\x00" + dim(mediator) + "\x00all\x00")); v != nil {
			r, err := decodeClosing(v)
			if err != nil {
				return err
			}
			st.MedianDaysToClose, _ = r.h.percentiles()
		}
		st.Overdue, err = countOverdue(tx, now, mediator)
		return err
	})
	if err != nil {
		return casebot.Stats{}, fmt.Errorf("store: stats: %w", err)
	}
	return st, nil
}

// countOverdue counts unmet deadlines of open cases due before now, of one
// mediator (or co-mediator) or ("") all, from the deadline indexes' keys:
// idx_deadline for all, the mediator's part of idx_deadline_med for one.
// Nothing is decoded or decrypted.
func countOverdue(tx kv.Tx, now time.Time, mediator string) (int, error) {
	n := 0
	end := timeKey(now)
	if mediator == "" {
		c := tx.Bucket(bucketIdxDeadline).Cursor()
		for k, _ := c.First(); k != nil && bytes.Compare(k[:8], end) < 0; k, _ = c.Next() {
			n++
		}
		return n, nil
	}
	p, start, stop := deadlineMedRange(mediator, time.Time{}, now)
	c := tx.Bucket(bucketIdxDeadlineMed).Cursor()
	for k, _ := c.Seek(start); hasPrefix(k, p) && bytes.Compare(k, stop) < 0; k, _ = c.Next() {
		n++
	}
	return n, nil
}
