package store

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv/pgkv"
)

// pgBenchNotes is the number of notes each run of the PostgreSQL
// benchmark writes through each path.
const pgBenchNotes = 4000

// BenchmarkPostgresNoteWrites32 writes 1 KiB notes through AddNote from 32
// goroutines on PostgreSQL, and, in the same run, the same number of raw
// single-row INSERTs of 1 KiB through pgx from 32 goroutines, and reports
// their throughput ratio (goal: >= 0.5), with the same note writes on
// bbolt beside them. Skipped without CASEBOT_POSTGRES_URL.
func BenchmarkPostgresNoteWrites32(b *testing.B) {
	base := os.Getenv("CASEBOT_POSTGRES_URL")
	if base == "" {
		b.Skip("CASEBOT_POSTGRES_URL not set")
	}
	ctx := context.Background()
	body := kib()
	notes := func(db *DB) time.Duration {
		var cs []string
		for g := range writers {
			cs = append(cs, newCase(b, db, "bench "+strconv.Itoa(g), "U1").ID)
		}
		return run32(b, pgBenchNotes, func(g, i int) error {
			_, err := db.AddNote(ctx, &casebot.Note{CaseID: cs[g], Author: "U1", Body: body}, casebot.Change{Actor: "U1", Action: "note.add"})
			return err
		})
	}
	var pgD, rawD, boltD time.Duration
	for range b.N {
		dir := b.TempDir()
		u := postgresFor(b, filepath.Join(dir, "pg.db"))
		pg := openAt(b, u, newClock(), Options{})
		pgD += notes(pg)
		if e, ok := pg.kv.(*pgkv.Engine); ok {
			trips, txs := e.RoundTrips()
			b.ReportMetric(float64(txs), "pg-txs")
			b.ReportMetric(float64(trips)/float64(txs), "pg-trips/tx")
		}

		pool, err := pgxpool.New(ctx, u+"&pool_max_conns=32")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `CREATE TABLE raw_notes (id bigserial PRIMARY KEY, body bytea NOT NULL)`); err != nil {
			b.Fatal(err)
		}
		val := []byte(body)
		rawD += run32(b, pgBenchNotes, func(g, i int) error {
			_, err := pool.Exec(ctx, `INSERT INTO raw_notes (body) VALUES ($1)`, val)
			return err
		})
		pool.Close()

		bolt := openAt(b, filepath.Join(dir, "bolt.db"), newClock(), Options{})
		boltD += notes(bolt)
	}
	n := float64(b.N * pgBenchNotes)
	b.ReportMetric(n/pgD.Seconds(), "pg-notes/s")
	b.ReportMetric(n/rawD.Seconds(), "pg-raw-inserts/s")
	b.ReportMetric(rawD.Seconds()/pgD.Seconds(), "ratio")
	b.ReportMetric(n/boltD.Seconds(), "bolt-notes/s")
}
