package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// BenchmarkPurgeExpired10k purges 10,000 closed cases of three notes and
// two parties each through the retention purge and reports the longest
// write transaction (commit included) and the number of batches:
//
//	go test -run '^$' -bench PurgeExpired10k -benchtime 1x ./store/
func BenchmarkPurgeExpired10k(b *testing.B) {
	for _, bb := range []struct {
		name string
		key  []byte
	}{{"nokey", nil}, {"key", testKey}} {
		b.Run(bb.name, func(b *testing.B) {
			const cases = 10000
			for range b.N {
				b.StopTimer()
				clk := newClock()
				db := openAt(b, filepath.Join(b.TempDir(), "casebot.db"), clk, Options{EncryptionKey: bb.key})
				fillClosed(b, db, cases)
				var longest time.Duration
				batches := 0
				db.purgeTxHook = func(d time.Duration) { longest, batches = max(longest, d), batches+1 }
				b.StartTimer()
				got, err := db.PurgeExpired(context.Background(), clk.Now(), "casebot", "retention")
				b.StopTimer()
				if err != nil || len(got) != cases {
					b.Fatalf("PurgeExpired = %d cases, %v", len(got), err)
				}
				b.ReportMetric(float64(longest.Microseconds())/1000, "longest-tx-ms")
				b.ReportMetric(float64(batches), "batches")
				mustCheck(b, db, "purge")
			}
		})
	}
}

// fillClosed stores n closed cases, each with two parties and three notes
// and its audit events, a thousand to a transaction.
func fillClosed(tb testing.TB, db *DB, n int) {
	tb.Helper()
	now := db.now()
	var ids []string
	for i := range n {
		ids = append(ids, casebot.FormatCaseID("MED", 2025, uint64(i+1)))
	}
	if db.keys != nil {
		if err := db.keys.ensure(ids...); err != nil {
			tb.Fatal(err)
		}
	}
	for start := 0; start < n; start += 1000 {
		err := db.testUpdate(func(tx kv.Tx) error {
			for _, id := range ids[start:min(start+1000, n)] {
				c := &casebot.Case{ID: id, Title: "Case " + id, Priority: casebot.PriorityNormal, Status: casebot.StatusSettled,
					Outcome: casebot.StatusSettled, Mediator: "U1", Token: "tok", Created: now.AddDate(-1, 0, 0), Updated: now,
					Closed: now.AddDate(0, -6, 0), Parties: []casebot.Party{
						{Role: casebot.RoleClaimant, Name: "Ann " + id, Email: "ann-" + id + "@example.com"},
						{Role: casebot.RoleRespondent, Name: "Bob " + id, Email: "bob-" + id + "@example.com"}}}
				if err := db.putCase(tx, nil, c); err != nil {
					return err
				}
				old := cloneCase(c)
				for k := range 3 {
					if _, _, _, err := db.addNoteTx(tx, nil, c, &casebot.Note{Author: "U1", Source: casebot.SourceSlack, Body: fmt.Sprintf("note %d of %s, some words of content", k, id)}, now, now); err != nil {
						return err
					}
					if err := db.appendAudit(tx, casebot.AuditEvent{CaseID: id, At: now, Actor: "U1", Action: "note.add", Detail: fmt.Sprintf("note %d", k+1)}); err != nil {
						return err
					}
				}
				if err := db.putCase(tx, old, c); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
}
