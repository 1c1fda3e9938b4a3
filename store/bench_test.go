package store

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/internal/testclock"
	"github.com/casebot/casebot/store/kv"
)

const writers = 32

// run32 performs n operations from 32 goroutines and returns the time taken.
func run32(b *testing.B, n int, op func(g, i int) error) time.Duration {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := op(g, i); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

func kib() string {
	p := make([]byte, 768)
	_, _ = rand.Read(p)
	return fmt.Sprintf("%x", p)[:1024]
}

// benchNotes adds n 1 KiB notes through AddNote, 32 goroutines, one case each.
func benchNotes(b *testing.B, n int) time.Duration {
	db, _ := openTest(b)
	var cs []string
	for g := 0; g < writers; g++ {
		cs = append(cs, newCase(b, db, "bench "+strconv.Itoa(g), "U1").ID)
	}
	body := kib()
	ctx := context.Background()
	return run32(b, n, func(g, i int) error {
		_, err := db.AddNote(ctx, &casebot.Note{CaseID: cs[g], Author: "U1", Body: body}, casebot.Change{Actor: "U1", Action: "note.add"})
		return err
	})
}

// benchRaw puts n 1 KiB values through a bare bolt Batch, 32 goroutines.
func benchRaw(b *testing.B, n int) time.Duration {
	db, _ := openTest(b)
	val := []byte(kib())
	if err := db.testUpdate(func(tx kv.Tx) error { _, err := tx.CreateBucket([]byte("raw")); return err }); err != nil {
		b.Fatal(err)
	}
	return run32(b, n, func(g, i int) error {
		return db.testBatch(func(tx kv.Tx) error { return tx.Bucket([]byte("raw")).Put(be64(uint64(i)), val) })
	})
}

func BenchmarkAddNote32(b *testing.B) {
	b.ReportAllocs()
	d := benchNotes(b, b.N)
	b.ReportMetric(float64(b.N)/d.Seconds(), "notes/s")
}

func BenchmarkRawBatch32(b *testing.B) {
	b.ReportAllocs()
	d := benchRaw(b, b.N)
	b.ReportMetric(float64(b.N)/d.Seconds(), "puts/s")
}

// BenchmarkAddNoteVsRaw runs both in one run and reports their throughput
// ratio (goal: >= 0.7).
func BenchmarkAddNoteVsRaw(b *testing.B) {
	raw := benchRaw(b, b.N)
	notes := benchNotes(b, b.N)
	b.ReportMetric(float64(b.N)/notes.Seconds(), "notes/s")
	b.ReportMetric(float64(b.N)/raw.Seconds(), "puts/s")
	b.ReportMetric(raw.Seconds()/notes.Seconds(), "ratio")
}

// The 100,000-case fixture is built once and cached in os.TempDir; its name
// carries the schema and fixture versions so a change rebuilds it.
const (
	fixtureCases   = 100_000
	fixtureVersion = 2
)

var (
	fixtureOnce sync.Once
	fixturePath string
	fixtureErr  error
	fixtureNow  = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
)

// bigFixture returns the path of a store with 100,000 cases over 100
// mediators: 80% open; each has one met deadline and one open deadline due
// between a day before and 99 days after fixtureNow (about 1% overdue).
func bigFixture(b *testing.B) string {
	fixtureOnce.Do(func() {
		fixturePath = filepath.Join(os.TempDir(), fmt.Sprintf("casebot-bench-%d-s%d-f%d.db", fixtureCases, currentVersion, fixtureVersion))
		if _, err := os.Stat(fixturePath); err == nil {
			return
		}
		tmp := fixturePath + ".tmp"
		_ = os.Remove(tmp)
		db, err := Open(context.Background(), tmp, Options{Now: func() time.Time { return fixtureNow }})
		if err != nil {
			fixtureErr = err
			return
		}
		db.boltDB().NoSync = true
		statuses := []casebot.Status{casebot.StatusIntake, casebot.StatusScheduled, casebot.StatusActive, casebot.StatusActive, casebot.StatusSettled}
		for start := 0; start < fixtureCases && fixtureErr == nil; start += 5000 {
			fixtureErr = db.testUpdate(func(tx kv.Tx) error {
				for i := start; i < start+5000 && i < fixtureCases; i++ {
					c := &casebot.Case{
						ID: casebot.FormatCaseID("MED", 2026, uint64(i+1)), Title: fmt.Sprintf("Dispute number %d", i),
						Priority: casebot.Priorities[i%4], Status: statuses[i%5], Mediator: fmt.Sprintf("U%03d", i%100),
						Token: "abcdefgh", Created: fixtureNow, Updated: fixtureNow, Activity: fixtureNow,
						Parties: []casebot.Party{
							{Role: casebot.RoleClaimant, Name: fmt.Sprintf("Claimant %d Smith", i), Email: fmt.Sprintf("c%d@example.com", i)},
							{Role: casebot.RoleRespondent, Name: fmt.Sprintf("Respondent %d Jones", i), Email: fmt.Sprintf("r%d@example.com", i)}},
						Deadlines: []casebot.Deadline{
							{N: 1, Due: fixtureNow.Add(-10 * 24 * time.Hour), Text: "statement", Met: true},
							{N: 2, Due: fixtureNow.Add(time.Duration((i*7919)%(100*24)-24) * time.Hour), Text: "exhibits"}},
					}
					if err := db.putCase(tx, nil, c); err != nil {
						return err
					}
				}
				return tx.Bucket(bucketSeq).Put([]byte("2026"), be64(fixtureCases))
			})
		}
		if err := db.boltDB().Sync(); err != nil && fixtureErr == nil {
			fixtureErr = err
		}
		if err := db.Close(); err != nil && fixtureErr == nil {
			fixtureErr = err
		}
		if fixtureErr == nil {
			fixtureErr = compactTo(tmp, fixturePath)
		}
		_ = os.Remove(tmp)
	})
	if fixtureErr != nil {
		b.Fatalf("fixture: %v", fixtureErr)
	}
	return fixturePath
}

// compactTo rewrites src densely into dst (random index inserts leave the
// built file mostly half-empty pages), through a temporary name.
func compactTo(src, dst string) error {
	from, err := bolt.Open(src, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer from.Close()
	to, err := bolt.Open(dst+".compact", 0o600, nil)
	if err != nil {
		return err
	}
	if err := bolt.Compact(to, from, 64<<20); err != nil {
		_ = to.Close()
		return err
	}
	if err := to.Close(); err != nil {
		return err
	}
	return os.Rename(dst+".compact", dst)
}

func openFixture(b *testing.B) *DB {
	path := bigFixture(b)
	return openAt(b, path, testclock.New(fixtureNow), Options{ReadOnly: true})
}

func BenchmarkListAll(b *testing.B) { benchCases(b, casebot.CaseFilter{State: "open"}) }

// benchCases lists the fixture's cases through f and reports how many.
func benchCases(b *testing.B, f casebot.CaseFilter) {
	db := openFixture(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	var n int
	for i := 0; i < b.N; i++ {
		cs, err := db.Cases(ctx, f)
		if err != nil {
			b.Fatal(err)
		}
		n = len(cs)
	}
	b.ReportMetric(float64(n), "cases")
}

// BenchmarkListAllTop50 orders all open cases from the index values alone
// and reads only the 50 records it returns.
func BenchmarkListAllTop50(b *testing.B) {
	db := openFixture(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if cs, err := db.Cases(ctx, casebot.CaseFilter{State: "open", Limit: 50}); err != nil || len(cs) != 50 {
			b.Fatal(len(cs), err)
		}
	}
}

func BenchmarkListMine(b *testing.B) { benchCases(b, casebot.CaseFilter{Mediator: "U042"}) }

func BenchmarkOverdue(b *testing.B) {
	db := openFixture(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	var n int
	for i := 0; i < b.N; i++ {
		od, err := db.Overdue(ctx, fixtureNow, "")
		if err != nil {
			b.Fatal(err)
		}
		n = len(od)
	}
	b.ReportMetric(float64(n), "deadlines")
}
