package store

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/casebot/casebot/store/kv/boltkv"
	bolt "go.etcd.io/bbolt"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/internal/pgurl"
	"github.com/casebot/casebot/internal/testclock"
	"github.com/casebot/casebot/store/kv"
)

// newClock returns the tests' settable clock, at 9:00 UTC on 2 March 2026.
func newClock() *testclock.Clock { return testclock.New(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)) }

// testLogger sends logs to t.Log.
func testLogger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tb.Output(), nil))
}

// openAt opens the store at path with the clock and options, closing it at cleanup.
func openAt(tb testing.TB, path string, clk *testclock.Clock, opts Options) *DB {
	tb.Helper()
	if opts.Now == nil {
		opts.Now = clk.Now
	}
	if opts.Logger == nil {
		opts.Logger = testLogger(tb)
	}
	db, err := Open(context.Background(), storePath(tb, path), opts)
	if err != nil {
		tb.Fatalf("Open(%s): %v", path, err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// openTest opens a new store in a temporary directory.
func openTest(tb testing.TB) (*DB, *testclock.Clock) {
	tb.Helper()
	clk := newClock()
	return openAt(tb, filepath.Join(tb.TempDir(), "casebot.db"), clk, Options{}), clk
}

// mustCheck fails the test when an index disagrees with the records.
func mustCheck(tb testing.TB, db *DB, after string) {
	tb.Helper()
	if err := db.Check(context.Background()); err != nil {
		tb.Fatalf("after %s: %v", after, err)
	}
}

func newCase(tb testing.TB, db *DB, title, mediator string, parties ...casebot.Party) *casebot.Case {
	tb.Helper()
	c, err := db.CreateCase(context.Background(), &casebot.Case{Title: title, Mediator: mediator, Parties: parties},
		casebot.Change{Actor: mediator, Action: "case.create", Detail: title})
	if err != nil {
		tb.Fatalf("CreateCase(%q): %v", title, err)
	}
	return c
}

func update(tb testing.TB, db *DB, id, action string, fn func(c *casebot.Case)) *casebot.Case {
	tb.Helper()
	c, err := db.UpdateCase(context.Background(), id, func(c *casebot.Case) (casebot.Change, error) {
		fn(c)
		return casebot.Change{Actor: "U1", Action: action}, nil
	})
	if err != nil {
		tb.Fatalf("UpdateCase(%s, %s): %v", id, action, err)
	}
	return c
}

func ids(cs []*casebot.Case) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

// storePath returns where a test's store at path lives: path itself on
// bbolt; with CASEBOT_STORE_ENGINE=postgres, the URL of a schema of its own
// in the database of CASEBOT_POSTGRES_URL (pgtest_test.go), created at its
// first use and dropped at cleanup, so that reopening path reopens the
// same store.
func storePath(tb testing.TB, path string) string {
	tb.Helper()
	if !onPostgres() || pgurl.Is(path) {
		return path
	}
	return postgresFor(tb, path)
}

// testUpdate runs fn in a write transaction of db's engine.
func (db *DB) testUpdate(fn func(kv.Tx) error) error { return db.kv.Update(context.Background(), fn) }

// testView runs fn in a read transaction of db's engine.
func (db *DB) testView(fn func(kv.Tx) error) error { return db.kv.View(context.Background(), fn) }

// testBatch runs fn through db's engine's Batch.
func (db *DB) testBatch(fn func(kv.Tx) error) error { return db.kv.Batch(context.Background(), fn) }

// boltDB returns the bbolt database under db, or nil on another engine.
func (db *DB) boltDB() *bolt.DB {
	if be, ok := db.kv.(*boltkv.Engine); ok {
		return be.DB()
	}
	return nil
}
