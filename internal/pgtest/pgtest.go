// Package pgtest gives tests and benchmarks outside the store a PostgreSQL
// database of their own on the cluster of CASEBOT_POSTGRES_URL: a fresh
// one dropped after the test, or a copy of a cached fixture database that
// is built once and kept across runs. Without CASEBOT_POSTGRES_URL they
// skip. (The store's own suite makes schemas in store/pgtest_test.go.)
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"regexp"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Env names the cluster the PostgreSQL tests use.
const Env = "CASEBOT_POSTGRES_URL"

// Base returns CASEBOT_POSTGRES_URL, or skips tb when it is empty.
func Base(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(Env)
	if base == "" {
		tb.Skip(Env + " not set: no PostgreSQL to run on")
	}
	return base
}

var nameRe = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// Database creates a database named prefix plus a random suffix, drops it
// (closing its connections) when tb ends, and returns its URL.
func Database(tb testing.TB, prefix string) string {
	tb.Helper()
	base := Base(tb)
	name := prefix + "_" + suffix()
	create(tb, base, name, "")
	return At(tb, base, name)
}

// Clone creates a database named prefix plus a random suffix as a copy of
// the database template (a file copy on the server: quick even for a
// large fixture), drops it when tb ends, and returns its URL. Nothing may
// be connected to template meanwhile.
func Clone(tb testing.TB, template, prefix string) string {
	tb.Helper()
	base := Base(tb)
	name := prefix + "_" + suffix()
	create(tb, base, name, template)
	return At(tb, base, name)
}

// Cached returns the name of the fixture database name (which should say
// the fixture's version), building it first with build when it does not
// exist: build fills a database under a temporary name, which is renamed
// to name only once build has returned, so an interrupted build is never
// taken for a fixture. The database is kept after the run.
func Cached(tb testing.TB, name string, build func(url string)) string {
	tb.Helper()
	base := Base(tb)
	check(tb, name)
	if exists(tb, base, name) {
		return name
	}
	tmp := name + "_building"
	exec(tb, base, "DROP DATABASE IF EXISTS "+tmp+" WITH (FORCE)")
	exec(tb, base, "CREATE DATABASE "+tmp)
	build(At(tb, base, tmp))
	exec(tb, base, "ALTER DATABASE "+tmp+" RENAME TO "+name)
	return name
}

// At returns base with its database replaced by name.
func At(tb testing.TB, base, name string) string {
	tb.Helper()
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("%s: %v", Env, err)
	}
	u.Path = "/" + name
	return u.String()
}

func create(tb testing.TB, base, name, template string) {
	tb.Helper()
	check(tb, name)
	sql := "CREATE DATABASE " + name
	if template != "" {
		check(tb, template)
		sql += " TEMPLATE " + template + " STRATEGY FILE_COPY"
	}
	exec(tb, base, sql)
	tb.Cleanup(func() {
		// Not tb.Fatal: the test is over.
		if err := run(base, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("drop database %s: %v", name, err)
		}
	})
}

func exists(tb testing.TB, base, name string) bool {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n > 0
}

func exec(tb testing.TB, base, sql string) {
	tb.Helper()
	if err := run(base, sql); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
}

func run(base, sql string) error {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

func check(tb testing.TB, name string) {
	tb.Helper()
	if !nameRe.MatchString(name) || len(name) > 63 {
		tb.Fatalf("pgtest: %q is not a plain database name", name)
	}
}

func suffix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
