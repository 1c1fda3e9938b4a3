package slackbot_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/casebot/casebot/internal/pgtest"
	"github.com/casebot/casebot/store"
)

// pgFixtureVersion is the version of the PostgreSQL copy of the 100,000-case
// fixture; it follows the bbolt fixture's (the -v1 of benchFixture's file
// name): bump both together.
const pgFixtureVersion = "v1"

// BenchmarkSlackCommands64Postgres is BenchmarkSlackCommands64 with the
// store on PostgreSQL (skipped without CASEBOT_POSTGRES_URL): p99 of show
// and list against help, same clients, same fixture. The fixture is the
// bbolt one copied with store.CopyStore into a database of its own,
// casebot_slackbench_100000_v1, kept on the cluster across runs (migrated
// to this casebot's schema before it is copied; drop it when the store's
// schema changes, or bump pgFixtureVersion); each run
// works on a server-side copy of it (show writes its views to the audit
// trail), dropped after.
//
//	CASEBOT_POSTGRES_URL=postgres://… go test -run='^$' -bench=SlackCommands64Postgres -benchtime=1x ./bot/slackbot/
func BenchmarkSlackCommands64Postgres(b *testing.B) {
	pgtest.Base(b) // skips before any fixture is built
	name := fmt.Sprintf("casebot_slackbench_%d_%s", benchCases, pgFixtureVersion)
	fixture := pgtest.Cached(b, name, func(url string) {
		ctx := context.Background()
		path, _ := benchFixture(b)
		// Opened once here, the copy is migrated to this casebot's schema
		// (quicker on bbolt), so the cached database need not be on every run.
		db, err := store.Open(ctx, path, store.Options{Logger: slLogger(b)})
		if err != nil {
			b.Fatal(err)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		b.Logf("copying the %d-case fixture into PostgreSQL database %s", benchCases, name)
		began := time.Now()
		rep, err := store.CopyStore(ctx, path, url, store.CopyOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("copied and verified %d keys, %d bytes in %s", rep.Keys, rep.Bytes, time.Since(began).Round(time.Second))
	})
	benchSlackCommands(b, pgtest.Clone(b, fixture, "casebot_slackbench_run"), benchCaseIDs())
}
