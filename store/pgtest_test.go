package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	bolt "go.etcd.io/bbolt"

	"github.com/casebot/casebot/store/kv"
	"github.com/casebot/casebot/store/kv/boltkv"
	"github.com/casebot/casebot/store/kv/pgkv"
)

// The store's tests run on bbolt, or on PostgreSQL with
// CASEBOT_STORE_ENGINE=postgres and CASEBOT_POSTGRES_URL set: the same
// tests, each store in a schema of its own.

// onPostgres reports whether the store's tests run on PostgreSQL.
func onPostgres() bool { return os.Getenv("CASEBOT_STORE_ENGINE") == "postgres" }

// skipOnPostgres skips a test about bbolt itself on PostgreSQL.
func skipOnPostgres(tb testing.TB, why string) {
	tb.Helper()
	if onPostgres() {
		tb.Skip("bbolt only: " + why)
	}
}

var (
	pgSchemasMu sync.Mutex
	pgSchemas   = map[string]string{} // test store path -> URL
)

// postgresFor returns the URL of the schema standing for the store at
// path, creating it at its first use.
func postgresFor(tb testing.TB, path string) string {
	tb.Helper()
	base := os.Getenv("CASEBOT_POSTGRES_URL")
	if base == "" {
		tb.Skip("CASEBOT_STORE_ENGINE=postgres without CASEBOT_POSTGRES_URL: skipped")
	}
	pgSchemasMu.Lock()
	defer pgSchemasMu.Unlock()
	if u, ok := pgSchemas[path]; ok {
		return u
	}
	schema := fmt.Sprintf("st_%x", sha256.Sum256([]byte(path)))[:19]
	ctx := context.Background()
	exec := func(sql string) error {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec("CREATE SCHEMA IF NOT EXISTS " + schema); err != nil {
		tb.Fatalf("create schema for %s: %v", path, err)
	}
	tb.Cleanup(func() {
		pgSchemasMu.Lock()
		delete(pgSchemas, path)
		pgSchemasMu.Unlock()
		if err := exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("CASEBOT_POSTGRES_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	pgSchemas[path] = u.String()
	if _, err := os.Stat(path); err == nil {
		importBolt(tb, path, u.String())
	}
	return u.String()
}

// importBolt copies the bbolt file at path (a fixture, or a backup the test
// wrote) and the keyring file beside it into the schema at u, so that a
// test opening a bbolt file opens the same store on PostgreSQL.
func importBolt(tb testing.TB, path, u string) {
	tb.Helper()
	ctx := context.Background()
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		tb.Fatalf("import %s: %v", path, err)
	}
	defer bdb.Close()
	dst, err := pgkv.Open(ctx, u, pgkv.Options{})
	if err != nil {
		tb.Fatalf("import %s: %v", path, err)
	}
	defer dst.Close()
	err = boltkv.New(bdb).View(ctx, func(src kv.Tx) error {
		return dst.Update(ctx, func(tx kv.Tx) error {
			return src.ForEachBucket(func(name []byte) error {
				b, err := tx.CreateBucket(name)
				if err != nil {
					return err
				}
				sb := src.Bucket(name)
				if err := b.SetSequence(sb.Sequence()); err != nil {
					return err
				}
				return sb.ForEach(b.Put)
			})
		})
	})
	if err != nil {
		tb.Fatalf("import %s: %v", path, err)
	}
	if err := createKeyringTable(ctx, dst); err != nil {
		tb.Fatal(err)
	}
	ring, err := os.ReadFile(keyringPath(path))
	if errors.Is(err, os.ErrNotExist) {
		return
	} else if err != nil {
		tb.Fatal(err)
	}
	keys, err := decodeKeyring(ring)
	if err != nil {
		tb.Fatalf("import keyring of %s: %v", path, err)
	}
	if len(keys) > 0 {
		if _, err := (pgKeys{eng: dst}).add(keys); err != nil {
			tb.Fatal(err)
		}
	}
}

// copyKeyring copies the keyring of the store at from to a keyring file
// beside the (bbolt) file to, which opening to then imports on PostgreSQL.
func copyKeyring(tb testing.TB, from, to string) {
	tb.Helper()
	var ring []byte
	if onPostgres() {
		ctx := context.Background()
		e, err := pgkv.Open(ctx, postgresFor(tb, from), pgkv.Options{ReadOnly: true})
		if err != nil {
			tb.Fatal(err)
		}
		defer e.Close()
		keys, err := (pgKeys{eng: e}).load()
		if err != nil {
			tb.Fatal(err)
		}
		ring = encodeKeyring(keys)
	} else {
		var err error
		if ring, err = os.ReadFile(keyringPath(from)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := os.WriteFile(keyringPath(to), ring, 0o600); err != nil {
		tb.Fatal(err)
	}
}

// readStore returns the store at path as it lies at rest, for tests that
// look for plaintext: the bbolt file, or on PostgreSQL every bucket name,
// key, value and sequence and the keyring table of its schema.
func readStore(tb testing.TB, path string) ([]byte, error) {
	tb.Helper()
	if !onPostgres() {
		return os.ReadFile(path)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, postgresFor(tb, path))
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	var raw []byte
	for _, q := range []string{
		`SELECT name FROM kv_buckets`,
		`SELECT bucket || key || value FROM kv`,
		`SELECT name || int8send(value) FROM kv_sequences`,
		`SELECT convert_to(case_id, 'UTF8') || key_id || wrapped FROM casebot_keyring`,
	} {
		rows, err := conn.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", q, err)
		}
		var b []byte
		if _, err := pgx.ForEachRow(rows, []any{&b}, func() error { raw = append(raw, b...); return nil }); err != nil {
			return nil, err
		}
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("%s: the store's tables are empty", path)
	}
	return raw, nil
}

// pgExec runs sql on the schema of the store at path.
func pgExec(tb testing.TB, path, sql string, args ...any) {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, postgresFor(tb, path))
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
}

// saveKeyring copies the keyring of the store at path and returns a func
// that puts the copy back (as if a later change of it never happened).
func saveKeyring(tb testing.TB, path string) (restore func()) {
	tb.Helper()
	if !onPostgres() {
		ring, err := os.ReadFile(keyringPath(path))
		if err != nil {
			tb.Fatal(err)
		}
		return func() {
			if err := os.WriteFile(keyringPath(path), ring, 0o600); err != nil {
				tb.Fatal(err)
			}
		}
	}
	pgExec(tb, path, `DROP TABLE IF EXISTS keyring_copy; CREATE TABLE keyring_copy AS SELECT * FROM casebot_keyring`)
	return func() {
		pgExec(tb, path, `DELETE FROM casebot_keyring; INSERT INTO casebot_keyring SELECT * FROM keyring_copy`)
	}
}

// removeKeyring deletes the keyring of the store at path.
func removeKeyring(tb testing.TB, path string) {
	tb.Helper()
	if !onPostgres() {
		if err := os.Remove(keyringPath(path)); err != nil {
			tb.Fatal(err)
		}
		return
	}
	pgExec(tb, path, `DELETE FROM casebot_keyring`)
}

// damageKeyring flips a bit in the middle of the keyring of the store at
// path (on PostgreSQL: in a wrapped key).
func damageKeyring(tb testing.TB, path string) {
	tb.Helper()
	if !onPostgres() {
		ring, err := os.ReadFile(keyringPath(path))
		if err != nil {
			tb.Fatal(err)
		}
		ring[len(ring)/2] ^= 1
		if err := os.WriteFile(keyringPath(path), ring, 0o600); err != nil {
			tb.Fatal(err)
		}
		return
	}
	pgExec(tb, path, `UPDATE casebot_keyring SET wrapped = set_byte(wrapped, length(wrapped)/2, get_byte(wrapped, length(wrapped)/2) # 1)`)
}

// damageKey flips a bit of the wrapped key of one case in the keyring of
// the store at path, keeping the file's checksum right: the key is
// readable, but the master key does not open it.
func damageKey(tb testing.TB, path, caseID string) {
	tb.Helper()
	if onPostgres() {
		pgExec(tb, path, `UPDATE casebot_keyring SET wrapped = set_byte(wrapped, 20, get_byte(wrapped, 20) # 1) WHERE case_id = $1`, caseID)
		return
	}
	raw, err := os.ReadFile(keyringPath(path))
	if err != nil {
		tb.Fatal(err)
	}
	keys, err := decodeKeyring(raw)
	if err != nil {
		tb.Fatal(err)
	}
	k := keys[caseID]
	k.wrapped = bytes.Clone(k.wrapped)
	k.wrapped[20] ^= 1
	keys[caseID] = k
	if err := os.WriteFile(keyringPath(path), encodeKeyring(keys), 0o600); err != nil {
		tb.Fatal(err)
	}
}

// rawUpdate runs fn in a write transaction straight on the engine of the
// closed store at path, below the store's logic (to make a store look
// like an older or newer casebot left it).
func rawUpdate(tb testing.TB, path string, fn func(kv.Tx) error) {
	tb.Helper()
	ctx := context.Background()
	var eng kv.Engine
	if onPostgres() {
		e, err := pgkv.Open(ctx, postgresFor(tb, path), pgkv.Options{})
		if err != nil {
			tb.Fatal(err)
		}
		eng = e
	} else {
		bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
		if err != nil {
			tb.Fatal(err)
		}
		eng = boltkv.New(bdb)
	}
	defer eng.Close()
	if err := eng.Update(ctx, fn); err != nil {
		tb.Fatal(err)
	}
}
