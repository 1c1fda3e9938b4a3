package mail_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/casebot/casebot/internal/pgtest"
	"github.com/casebot/casebot/store"
)

// BenchmarkIngest10kPostgres is BenchmarkIngest10k with each intake's
// store on PostgreSQL, in a fresh database of its own on the cluster of
// CASEBOT_POSTGRES_URL (skipped without it); the ratio is to the bare
// fetch in the same run (goal >= 0.3).
//
//	CASEBOT_POSTGRES_URL=postgres://… go test -run='^$' -bench=Ingest10kPostgres -benchtime=1x ./mail/
func BenchmarkIngest10kPostgres(b *testing.B) { benchIngest(b, 10000, openPostgresStore) }

// openPostgresStore opens a store on a fresh PostgreSQL database, dropped
// after tb.
func openPostgresStore(tb testing.TB) *store.DB {
	tb.Helper()
	u := pgtest.Database(tb, "casebot_mailbench")
	db, err := store.Open(context.Background(), u, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}
