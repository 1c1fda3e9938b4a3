package slackbot_test

import (
	"context"
	"fmt"
	"testing"

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
// casebot_slackbench_100000_v1, kept on the cluster across runs; each run
// works on a server-side copy of it (show writes its views to the audit
// trail), dropped after.
//
//	CASEBOT_POSTGRES_URL=postgres://… go test -run='^$' -bench=SlackCommands64Postgres -benchtime=1x ./bot/slackbot/
func BenchmarkSlackCommands64Postgres(b *testing.B) {
	pgtest.Base(b) // skips before any fixture is built
	name := fmt.Sprintf("casebot_slackbench_%d_%s", benchCases, pgFixtureVersion)
	fixture := pgtest.Cached(b, name, func(url string) {
		path, _ := benchFixture(b)
		b.Logf("copying the %d-case fixture into PostgreSQL database %s", benchCases, name)
		rep, err := store.CopyStore(context.Background(), path, url, store.CopyOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("copied %d keys, %d bytes", rep.Keys, rep.Bytes)
	})
	benchSlackCommands(b, pgtest.Clone(b, fixture, "casebot_slackbench_run"), benchCaseIDs())
}
