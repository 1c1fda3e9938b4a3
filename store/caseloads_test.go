package store

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// caseloadsByIndex is Caseloads as it was before it read the aggregates:
// every entry of the mediator and co-mediator indexes walked, the oracle
// TestCaseloadsFromAggregates holds Caseloads to.
func (db *DB) caseloadsByIndex(ctx context.Context) ([]casebot.Caseload, error) {
	byMed := map[string]*casebot.Caseload{}
	err := db.view(ctx, func(tx kv.Tx) error {
		shared := map[string]bool{} // open case IDs with co-mediators
		each := func(b []byte, fn func(med, id string, si sortInfo)) error {
			return tx.Bucket(b).ForEach(func(k, v []byte) error {
				i := strings.IndexByte(string(k), sep)
				if i < 0 {
					return fmt.Errorf("bad %s key %q", b, k)
				}
				med, id := string(k[:i]), string(k[i+1:])
				si, err := decodeSortValue(id, v)
				if err != nil {
					return err
				}
				fn(med, id, si)
				return nil
			})
		}
		count := func(med string, si sortInfo, isShared bool) {
			cl := byMed[med]
			if cl == nil {
				cl = &casebot.Caseload{Mediator: med, ByPriority: make(map[casebot.Priority]int)}
				byMed[med] = cl
			}
			if si.status.Closed() {
				return
			}
			p := casebot.Priorities[min(si.rank, len(casebot.Priorities)-1)]
			cl.Open++
			cl.ByPriority[p]++
			if isShared {
				if cl.Shared == nil {
					cl.Shared = make(map[casebot.Priority]int)
				}
				cl.Shared[p]++
			}
		}
		if err := each(bucketIdxCoMed, func(med, id string, si sortInfo) {
			shared[id] = true
			count(med, si, true)
		}); err != nil {
			return err
		}
		return each(bucketIdxMediator, func(med, id string, si sortInfo) { count(med, si, shared[id]) })
	})
	if err != nil {
		return nil, fmt.Errorf("store: caseloads: %w", err)
	}
	out := make([]casebot.Caseload, 0, len(byMed))
	for _, m := range slices.Sorted(maps.Keys(byMed)) {
		out = append(out, *byMed[m])
	}
	return out, nil
}

// Caseloads, read from the per-mediator counters and the co-mediator
// index, is what walking every entry of the mediator and co-mediator
// indexes gives, through creations, closings, reopenings, priority and
// mediator changes, co-mediators (one of them the case's own mediator) and
// a purged case.
func TestCaseloadsFromAggregates(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	same := func(after string) {
		t.Helper()
		got, err := db.Caseloads(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want, err := db.caseloadsByIndex(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("after %s: Caseloads =\n%s\nthe indexes say\n%s", after, loads(got), loads(want))
		}
	}
	same("nothing")
	var cases []*casebot.Case
	for i := range 24 {
		c := newCase(t, db, fmt.Sprintf("case %d", i), fmt.Sprintf("U%d", i%4))
		cases = append(cases, update(t, db, c.ID, "case.priority", func(c *casebot.Case) { c.Priority = casebot.Priorities[i%4] }))
	}
	same("creating")
	statuses := []casebot.Status{casebot.StatusActive, casebot.StatusSettled, casebot.StatusImpasse, casebot.StatusScheduled, casebot.StatusWithdrawn}
	for i, c := range cases {
		update(t, db, c.ID, "case.status", func(c *casebot.Case) { c.Status = statuses[i%len(statuses)] })
		switch i % 6 {
		case 0:
			update(t, db, c.ID, "case.comediators", func(c *casebot.Case) { c.CoMediators = []string{"U9", "U8"} })
		case 1:
			update(t, db, c.ID, "case.comediators", func(c *casebot.Case) { c.CoMediators = []string{c.Mediator} })
		case 2:
			update(t, db, c.ID, "case.mediator", func(c *casebot.Case) { c.Mediator = "U7" })
		}
	}
	same("closing, sharing and moving")
	for i, c := range cases {
		if i%3 == 0 {
			update(t, db, c.ID, "case.priority", func(c *casebot.Case) { c.Priority = casebot.PriorityUrgent; c.Status = casebot.StatusActive })
		}
		if i%5 == 1 {
			update(t, db, c.ID, "case.comediators", func(c *casebot.Case) { c.CoMediators = nil })
		}
	}
	same("reopening and unsharing")
	closed := cases[1] // settled
	if _, err := db.PurgeCase(ctx, closed.ID, "UADMIN"); err != nil {
		t.Fatal(err)
	}
	same("a purge")
	mustCheck(t, db, "the changes")
}

func loads(ls []casebot.Caseload) string {
	var b strings.Builder
	for _, l := range ls {
		fmt.Fprintf(&b, "  %s open %d by %v shared %v\n", l.Mediator, l.Open, l.ByPriority, l.Shared)
	}
	return b.String()
}
