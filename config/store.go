package config

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/internal/pgurl"
)

// Store backends (store.backend).
const (
	BackendBolt     = "bolt"
	BackendPostgres = "postgres"
)

// Bounds of store.lease: shorter leases make a leader step down at every
// hiccup of the database; longer ones make a take-over wait that long.
const (
	MinLease = 3 * time.Second
	MaxLease = 10 * time.Minute
)

// Postgres reports whether the store is a PostgreSQL database.
func (s Store) Postgres() bool { return s.Backend == BackendPostgres }

// Location is what store.Open takes: the bbolt file's path, or the
// PostgreSQL URL (with its password: never log it; see Display).
func (s Store) Location() string {
	if s.Postgres() {
		return s.PostgresURL
	}
	return s.Path
}

// Display is the store's location as it may be logged or shown: the bbolt
// path, or the PostgreSQL URL without its password.
func (s Store) Display() string {
	if s.Postgres() {
		return pgurl.Redact(s.PostgresURL)
	}
	return s.Path
}

// validateStore checks store.backend, store.path, store.postgres_url and
// store.lease, reporting each problem through bad.
func (c *Config) validateStore(bad func(key, format string, args ...any)) {
	s := &c.Store
	urlFromEnv := slices.Contains(c.FromEnv, "store.postgres_url")
	switch s.Backend {
	case BackendBolt:
		if pgurl.Is(s.Path) {
			bad("store.path", "is a PostgreSQL URL; for PostgreSQL set store.backend = %q and store.postgres_url", BackendPostgres)
		}
		// A URL in the environment may serve other tools (tests, copy-store);
		// one written in the file beside backend = "bolt" is a mistake.
		if s.PostgresURL != "" && !urlFromEnv {
			bad("store.postgres_url", "is set but store.backend is %q; set store.backend = %q to use it", BackendBolt, BackendPostgres)
		}
	case BackendPostgres:
		if s.PostgresURL == "" {
			bad("store.postgres_url", "required when store.backend = %q (or set %s)", BackendPostgres, EnvPostgresURL)
		} else if err := checkPostgresURL(s.PostgresURL); err != nil {
			bad("store.postgres_url", "%v", err)
		}
	default:
		bad("store.backend", "%q must be %q or %q", s.Backend, BackendBolt, BackendPostgres)
	}
	s.LeaseDuration = 0
	if d, err := casebot.ParseDuration(s.Lease); err != nil {
		bad("store.lease", "%s", casebot.ErrorMessage(err))
	} else if d < MinLease || d > MaxLease {
		bad("store.lease", "%q must be between %s and %s", s.Lease, MinLease, MaxLease)
	} else {
		s.LeaseDuration = d
	}
}

// checkPostgresURL checks that raw is a postgres:// URL with a host; its
// error never contains the password.
func checkPostgresURL(raw string) error {
	if !pgurl.Is(raw) {
		return fmt.Errorf("%s is not a postgres:// URL (like postgres://casebot@db.example:5432/casebot)", pgurl.Redact(raw))
	}
	if strings.ContainsAny(raw, " \t\n") {
		return errors.New("must not contain spaces (the value is not shown: it may hold a password)")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("is not a valid URL (the value is not shown: it may hold a password)")
	}
	if u.Host == "" && u.Query().Get("host") == "" {
		return fmt.Errorf("%s names no host", pgurl.Redact(raw))
	}
	return nil
}
