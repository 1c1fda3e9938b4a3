package config

import (
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot/internal/pgurl"
)

// TestStoreBackends: the bolt default, a postgres store from the file or
// the environment, the lease, and every bad combination named by its key.
func TestStoreBackends(t *testing.T) {
	c, err := Load("", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.Backend != BackendBolt || c.Store.Postgres() || c.Store.Location() != "casebot.db" || c.Store.LeaseDuration != 15*time.Second {
		t.Errorf("defaults: backend %q location %q lease %v", c.Store.Backend, c.Store.Location(), c.Store.LeaseDuration)
	}

	const secret = "s3cr3t-pw"
	pgURL := "postgres://casebot:" + secret + "@db.example:5432/casebot?sslmode=disable"
	p := writeFile(t, t.TempDir(), "casebot.toml", "[store]\nbackend = \"postgres\"\npostgres_url = \""+pgURL+"\"\nlease = \"5s\"\n")
	c, err = Load(p, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Store.Postgres() || c.Store.Location() != pgURL || c.Store.LeaseDuration != 5*time.Second {
		t.Errorf("postgres: location %q lease %v", c.Store.Location(), c.Store.LeaseDuration)
	}
	for what, s := range map[string]string{"summary": c.Summary(), "display": c.Store.Display()} {
		if strings.Contains(s, secret) {
			t.Errorf("%s shows the password: %s", what, s)
		}
		if !strings.Contains(s, "db.example:5432") {
			t.Errorf("%s does not name the host: %s", what, s)
		}
	}

	// From the environment, which overrides the file.
	envURL := "postgresql://other:" + secret + "@10.0.0.7/cb"
	p = writeFile(t, t.TempDir(), "casebot.toml", "[store]\nbackend = \"postgres\"\n")
	c, err = Load(p, func(k string) string {
		if k == EnvPostgresURL {
			return envURL
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.Location() != envURL || !strings.Contains(c.Summary(), "from environment") {
		t.Errorf("env: location %q summary %s", c.Store.Location(), c.Summary())
	}
	// A URL in the environment does not trouble a bolt store.
	if _, err := Load("", func(k string) string {
		if k == EnvPostgresURL {
			return envURL
		}
		return ""
	}); err != nil {
		t.Errorf("bolt store with %s set: %v", EnvPostgresURL, err)
	}

	bad := []struct{ name, toml, want string }{
		{"unknown backend", "backend = \"sqlite\"", `store.backend: "sqlite" must be "bolt" or "postgres"`},
		{"postgres without url", "backend = \"postgres\"", `store.postgres_url: required when store.backend = "postgres" (or set CASEBOT_POSTGRES_URL)`},
		{"not postgres url", "backend = \"postgres\"\npostgres_url = \"mysql://u:" + secret + "@h/db\"", `store.postgres_url: mysql://u:xxxxx@h/db is not a postgres:// URL`},
		{"dsn not url", "backend = \"postgres\"\npostgres_url = \"host=h password=" + secret + "\"", `store.postgres_url: (not a URL; not shown) is not a postgres:// URL`},
		{"url without host", "backend = \"postgres\"\npostgres_url = \"postgres:///casebot\"", `store.postgres_url: postgres:///casebot names no host`},
		{"bolt with url", "postgres_url = \"postgres://u@h/db\"", `store.postgres_url: is set but store.backend is "bolt"`},
		{"bolt with postgres path", "path = \"postgres://u:" + secret + "@h/db\"", `store.path: is a PostgreSQL URL`},
		{"bad lease", "lease = \"soon\"", `store.lease: "soon" is not a duration`},
		{"short lease", "lease = \"1s\"", `store.lease: "1s" must be between 3s and 10m0s`},
		{"long lease", "lease = \"1h\"", `store.lease: "1h" must be between 3s and 10m0s`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), "casebot.toml", "[store]\n"+tt.toml+"\n")
			_, err := Load(p, noEnv)
			if err == nil {
				t.Fatalf("Load succeeded, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error shows the password: %q", err)
			}
		})
	}
}

// TestRedactURL: passwords in the user info and in parameters are hidden.
func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:pw@h:5432/db":           "postgres://u:xxxxx@h:5432/db",
		"postgres://u@h/db?password=pw&x=1":   "postgres://u@h/db?password=xxxxx&x=1",
		"postgres://h/db":                     "postgres://h/db",
		"host=h password=pw":                  "(not a URL; not shown)",
		"postgres://u:p%zz@h/db":              "(not a URL; not shown)",
		"postgresql://u:pw@[::1]:5432/db?a=b": "postgresql://u:xxxxx@[::1]:5432/db?a=b",
	} {
		if got := pgurl.Redact(in); got != want {
			t.Errorf("pgurl.Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
