package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/bot"
	"github.com/casebot/casebot/store"
)

// Benchmark fixture: 200 mediators x 500 open cases, each case with one
// unmet deadline due within the next 60 days: 100,000 pending reminders
// per offset.
const (
	benchMediators = 200
	benchPerMed    = 500
)

var benchNow = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

// benchFixture builds the fixture once per machine (in the temp dir) and
// returns a fresh copy's path.
func benchFixture(b *testing.B) string {
	b.Helper()
	src := filepath.Join(os.TempDir(), "casebot-scheduler-bench-v1.db")
	if _, err := os.Stat(src); err != nil {
		tmp := src + ".tmp"
		_ = os.Remove(tmp)
		db, err := store.Open(context.Background(), tmp, store.Options{Now: func() time.Time { return benchNow }, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		prios := casebot.Priorities
		var batch []*casebot.Case
		seq := 0
		for m := 0; m < benchMediators; m++ {
			for i := 0; i < benchPerMed; i++ {
				seq++
				due := benchNow.Add(time.Duration(seq%(60*24*60)) * time.Minute).Add(time.Hour)
				batch = append(batch, &casebot.Case{
					ID: casebot.FormatCaseID("MED", 2026, uint64(seq)), Title: fmt.Sprintf("Case %d of mediator %d", i, m),
					Mediator: fmt.Sprintf("U%03d", m), Priority: prios[seq%len(prios)], Status: casebot.StatusActive,
					Created: benchNow.Add(-30 * day), Activity: benchNow.Add(-time.Duration(seq%30) * day),
					Parties:   []casebot.Party{{Role: casebot.RoleClaimant, Name: "Party " + fmt.Sprint(seq), Email: fmt.Sprintf("p%d@example.com", seq)}},
					Deadlines: []casebot.Deadline{{N: 1, Due: due, Text: "file the brief", Created: benchNow.Add(-100 * day)}},
				})
				if len(batch) == 5000 {
					if err := db.ImportCases(context.Background(), batch, "bench"); err != nil {
						b.Fatal(err)
					}
					batch = batch[:0]
				}
			}
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(tmp, src); err != nil {
			b.Fatal(err)
		}
	}
	data, err := os.ReadFile(src)
	if err != nil {
		b.Fatal(err)
	}
	dst := filepath.Join(b.TempDir(), "casebot.db")
	if err := os.WriteFile(dst, data, 0o600); err != nil {
		b.Fatal(err)
	}
	return dst
}

// rawScan reads every record of bucket and decodes it into a new T, in one
// read-only transaction: the floor any query over the same records pays.
func rawScan[T any](b *testing.B, path, bucket string) int {
	b.Helper()
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer bdb.Close()
	n := 0
	err = bdb.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bucket)).ForEach(func(k, v []byte) error {
			var x T
			n++
			return json.Unmarshal(v, &x)
		})
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

func benchScheduler(b *testing.B, path string) (*Scheduler, *store.DB) {
	b.Helper()
	db, err := store.Open(context.Background(), path, store.Options{Now: func() time.Time { return benchNow }, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	s, err := New(Config{Store: db, Reminders: []time.Duration{7 * day, day, 2 * time.Hour}, Catchup: 90 * day,
		Digest: func() *Daily { d, _ := ParseDaily("0 8 * * *"); return d }(), Admins: []string{"U000"}})
	if err != nil {
		b.Fatal(err)
	}
	return s, db
}

// BenchmarkDigests builds the digests of 200 mediators x 500 open cases,
// beside a raw read-only scan of the same 100,000 case records.
func BenchmarkDigests(b *testing.B) {
	path := benchFixture(b)
	b.Run("raw-scan-cases", func(b *testing.B) {
		for b.Loop() {
			if n := rawScan[casebot.Case](b, path, "cases"); n != benchMediators*benchPerMed {
				b.Fatalf("scanned %d cases", n)
			}
		}
	})
	b.Run("digests-200x500", func(b *testing.B) {
		s, _ := benchScheduler(b, path)
		ctx := context.Background()
		for b.Loop() {
			notes, err := s.cfg.Store.NotesSince(ctx, benchNow.Add(-day))
			if err != nil {
				b.Fatal(err)
			}
			for m := 0; m < benchMediators; m++ {
				d, err := s.BuildDigest(ctx, fmt.Sprintf("U%03d", m), benchNow, time.UTC, benchNow.Add(-day), notes)
				if err != nil || d.OpenCases != benchPerMed {
					b.Fatalf("digest: %d open, %v", d.OpenCases, err)
				}
				_ = bot.RenderDigest(&d) // rendered by the Slack sender at send time
			}
		}
	})
}

// BenchmarkReminderScan finds the reminders of 100,000 pending deadlines
// (a 70-day offset, so that every one falls due in the scanned window), beside a raw
// read-only scan of the same 100,000 index entries; and times one idle tick
// (nothing due) over the same store.
func BenchmarkReminderScan(b *testing.B) {
	path := benchFixture(b)
	b.Run("raw-scan-deadline-index", func(b *testing.B) {
		for b.Loop() {
			if n := rawScan[casebot.DeadlineRef](b, path, "idx_deadline"); n != benchMediators*benchPerMed {
				b.Fatalf("scanned %d entries", n)
			}
		}
	})
	b.Run("scan-100k-due", func(b *testing.B) {
		s, _ := benchScheduler(b, path)
		ctx := context.Background()
		zone := s.zoneCache(ctx)
		for b.Loop() {
			fs, err := s.offsetFires(ctx, 70*day, benchNow.Add(-70*day), benchNow, benchNow.Add(-70*day), zone, map[string]*casebot.Case{})
			if err != nil || len(fs) != benchMediators*benchPerMed {
				b.Fatalf("found %d reminders, %v", len(fs), err)
			}
		}
	})
	b.Run("idle-tick-100k-pending", func(b *testing.B) {
		s, db := benchScheduler(b, path)
		ctx := context.Background()
		// Bring the scan mark and the digest marks up to date first.
		if _, err := s.Tick(ctx, benchNow); err != nil {
			b.Fatal(err)
		}
		_ = db
		at := benchNow.Add(time.Second)
		for b.Loop() {
			at = at.Add(time.Millisecond)
			if _, err := s.Tick(ctx, at); err != nil {
				b.Fatal(err)
			}
		}
	})
}
