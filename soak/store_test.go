package soak

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/casebot/casebot/internal/pgtest"
)

// soakStore is the store a soak runs on.
type soakStore struct {
	engine   string   // "bbolt" or "postgres", for the figures
	config   string   // the [store] table's keys
	location string   // what store.Open takes, for the audit
	env      []string // the daemon's environment; nil: the test's own
	// key is the store's encryption key (nil: none); keyring, on bbolt,
	// the keyring file beside the store, which a backup needs beside it.
	key     []byte
	keyring string
}

// bboltStore is the default: a bbolt file in dir, encrypted, so that the
// kills also fall on the keyring's appends (every new case adds a key).
func bboltStore(t *testing.T, dir string) soakStore {
	p := filepath.Join(dir, "casebot.db")
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "casebot.key")
	if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return soakStore{engine: "bbolt", config: fmt.Sprintf("path = %q\nencryption_key_file = %q", p, keyFile), location: p,
		key: key, keyring: p + ".keys"}
}

// soakLease is store.lease of the PostgreSQL soak: after each SIGKILL the
// restarted daemon (a new holder) waits for the dead one's lease to end
// before it leads, so a short lease keeps the leader's work moving. It
// must still be renewed in time on a busy 2-core machine.
const soakLease = "5s"

// postgresStore is a database of its own on the cluster of
// CASEBOT_POSTGRES_URL (skipped without it), dropped after the soak.
func postgresStore(t *testing.T, dir string) soakStore {
	u := pgtest.Database(t, "casebot_soak")
	// CASEBOT_POSTGRES_URL in the daemon's environment would win over the
	// config's postgres_url.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, pgtest.Env+"=") {
			env = append(env, kv)
		}
	}
	return soakStore{
		engine:   "postgres",
		config:   fmt.Sprintf("backend = \"postgres\"\npostgres_url = %q\nlease = %q", u, soakLease),
		location: u,
		env:      env,
	}
}
