package store

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/casebot/casebot"
)

// BenchmarkCreateCaseKeyring times CreateCase with an encryption key in a
// store whose keyring already holds 100,000 case keys, against the same in
// a store whose keyring is empty (the baseline, same run): a case's new
// data key must be durable before its commit, and that write should not
// grow with the keys already there. It reports both p50s and their ratio.
//
//	go test -run '^$' -bench CreateCaseKeyring -benchtime 1x ./store/
func BenchmarkCreateCaseKeyring(b *testing.B) {
	const held, creates = 100000, 200
	ctx := context.Background()
	open := func(seed int) *DB {
		db := openAt(b, filepath.Join(b.TempDir(), "casebot.db"), newClock(), Options{EncryptionKey: testKey})
		if seed > 0 {
			ids := make([]string, seed)
			for i := range ids {
				ids[i] = casebot.FormatCaseID("OLD", 2020, uint64(i+1))
			}
			if err := db.keys.ensure(ids...); err != nil {
				b.Fatal(err)
			}
		}
		return db
	}
	empty, full := open(0), open(held)
	b.ResetTimer()
	var base, big []time.Duration
	for range b.N {
		// The two stores take turns, so that a stall of the machine falls
		// on both alike.
		for i := range creates {
			for _, db := range []*DB{empty, full} {
				t0 := time.Now()
				if _, err := db.CreateCase(ctx, &casebot.Case{Title: "a new case", Mediator: "U1"}, casebot.Change{Actor: "U1", Action: "case.create"}); err != nil {
					b.Fatal(err)
				}
				if d := time.Since(t0); db == empty {
					base = append(base, d)
				} else {
					big = append(big, d)
				}
			}
			_ = i
		}
	}
	b.StopTimer()
	p50 := func(d []time.Duration) time.Duration { slices.Sort(d); return d[len(d)/2] }
	pb, pf := p50(base), p50(big)
	b.ReportMetric(float64(pb.Microseconds())/1000, "create_ms_empty_keyring")
	b.ReportMetric(float64(pf.Microseconds())/1000, "create_ms_100k_keyring")
	b.ReportMetric(float64(pf)/float64(pb), "100k/empty")
}
