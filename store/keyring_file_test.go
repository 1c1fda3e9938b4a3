package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/casebot/casebot"
)

// keyringFileStore opens a keyed bbolt store in a temporary folder with
// cases a and b, each with a note sealed under its own key, and closes
// it; it returns the store's path.
func keyringFileStore(t *testing.T) (path string, a, b *casebot.Case) {
	t.Helper()
	skipOnPostgres(t, "the keyring file is bbolt's")
	path = filepath.Join(t.TempDir(), "casebot.db")
	db, err := Open(context.Background(), path, Options{EncryptionKey: testKey, Now: newClock().Now, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	a, b = newCase(t, db, "first", "U1"), newCase(t, db, "second", "U1")
	for _, c := range []*casebot.Case{a, b} {
		if _, err := db.AddNote(context.Background(), &casebot.Note{CaseID: c.ID, Author: "U1", Body: "sealed words of " + c.Title}, casebot.Change{Actor: "U1"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path, a, b
}

func readKeyringFile(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(keyringPath(path))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// notesRead fails the test unless every case's note reads.
func notesRead(t *testing.T, db *DB, cs ...*casebot.Case) {
	t.Helper()
	for _, c := range cs {
		if notes, err := db.Notes(context.Background(), c.ID); err != nil || len(notes) != 1 || !strings.HasSuffix(notes[0].Body, c.Title) {
			t.Errorf("notes of %s = %+v, %v", c.ID, notes, err)
		}
	}
}

// A new case's key is appended to the keyring file: what was there stays
// byte for byte, and the file grows by one record.
func TestKeyringAppends(t *testing.T) {
	path, a, b := keyringFileStore(t)
	before := readKeyringFile(t, path)
	if !bytes.HasPrefix(before, []byte(keyringMagic)) {
		t.Fatalf("keyring starts %q, want the version 2 header", before[:min(len(before), 20)])
	}
	db := openAt(t, path, newClock(), Options{EncryptionKey: testKey})
	fiBefore, err := os.Stat(keyringPath(path))
	if err != nil {
		t.Fatal(err)
	}
	c := newCase(t, db, "third", "U1")
	after := readKeyringFile(t, path)
	if fiAfter, err := os.Stat(keyringPath(path)); err != nil || !os.SameFile(fiBefore, fiAfter) {
		t.Errorf("the keyring file was replaced (%v), not appended to", err)
	}
	if !bytes.HasPrefix(after, before) || len(after) <= len(before) {
		t.Fatalf("keyring went from %d to %d bytes, not by an append", len(before), len(after))
	}
	k, _ := db.keys.get(c.ID)
	if want := appendKeyRecord(nil, c.ID, k); !bytes.Equal(after[len(before):], want) {
		t.Errorf("appended %x, want the record of %s's key %x", after[len(before):], c.ID, want)
	}
	keys, err := decodeKeyring(after)
	if err != nil || len(keys) != 3 {
		t.Fatalf("keyring decodes to %d keys, %v", len(keys), err)
	}
	notesRead(t, db, a, b)
	mustCheck(t, db, "append")
}

// An unfinished last record, an append a crash cut short, is dropped at
// Open when no content uses its key, and the file is rewritten without
// it; the same holds for a whole last record that fails its checksum.
func TestKeyringUnfinishedRecord(t *testing.T) {
	for _, tt := range []struct {
		name string
		tail func(rec []byte) []byte
	}{
		{"cut short", func(rec []byte) []byte { return rec[:len(rec)/2] }},
		{"length only", func(rec []byte) []byte { return rec[:1] }},
		{"bad checksum", func(rec []byte) []byte { r := bytes.Clone(rec); r[len(rec)-1] ^= 1; return r }},
		{"zeros", func(rec []byte) []byte { return make([]byte, len(rec)) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path, a, b := keyringFileStore(t)
			clean := readKeyringFile(t, path)
			rec := appendKeyRecord(nil, "MED-2026-0099", caseKey{wrapped: bytes.Repeat([]byte{7}, 61)})
			if err := os.WriteFile(keyringPath(path), append(bytes.Clone(clean), tt.tail(rec)...), 0o600); err != nil {
				t.Fatal(err)
			}
			db := openAt(t, path, newClock(), Options{EncryptionKey: testKey})
			if got := readKeyringFile(t, path); !bytes.Equal(got, clean) {
				t.Errorf("keyring after Open: %d bytes, want the %d before the unfinished record", len(got), len(clean))
			}
			if _, ok := db.keys.get("MED-2026-0099"); ok {
				t.Error("the unfinished record's key was kept")
			}
			notesRead(t, db, a, b)
			c := newCase(t, db, "after", "U1")
			if _, ok := db.keys.get(c.ID); !ok {
				t.Error("no key for a case made after the repair")
			}
			mustCheck(t, db, "repair")
		})
	}
}

// A damaged record is refused, and the file left as it is: in the middle
// of the file, or at its end when a case's content uses its key.
func TestKeyringDamagedRecord(t *testing.T) {
	for _, tt := range []struct {
		name string
		at   func(raw []byte) int // the byte to flip
	}{
		{"first record", func([]byte) int { return len(keyringMagic) + 5 }},
		{"last record, in use", func(raw []byte) int { return len(raw) - 10 }},
		{"a length", func([]byte) int { return len(keyringMagic) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path, _, _ := keyringFileStore(t)
			raw := readKeyringFile(t, path)
			raw[tt.at(raw)] ^= 0x40
			if err := os.WriteFile(keyringPath(path), raw, 0o600); err != nil {
				t.Fatal(err)
			}
			for _, ro := range []bool{false, true} {
				db, err := Open(context.Background(), path, Options{EncryptionKey: testKey, ReadOnly: ro})
				if err == nil {
					_ = db.Close()
				}
				if err == nil || !strings.Contains(err.Error(), "keyring") || !strings.Contains(err.Error(), "restore it from a copy") {
					t.Errorf("Open (read-only %v) = %v; want the keyring refused", ro, err)
				}
			}
			if got := readKeyringFile(t, path); !bytes.Equal(got, raw) {
				t.Error("the damaged keyring was rewritten")
			}
		})
	}
}

// A keyring of version 1 reads; a read-only Open leaves it as it is, a
// writable one rewrites it as version 2 with the same keys.
func TestKeyringVersion1(t *testing.T) {
	path, a, b := keyringFileStore(t)
	keys, err := decodeKeyring(readKeyringFile(t, path))
	if err != nil {
		t.Fatal(err)
	}
	v1 := encodeKeyringV1(keys)
	if err := os.WriteFile(keyringPath(path), v1, 0o600); err != nil {
		t.Fatal(err)
	}
	ro, err := Open(context.Background(), path, Options{EncryptionKey: testKey, ReadOnly: true, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	notesRead(t, ro, a, b)
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readKeyringFile(t, path); !bytes.Equal(got, v1) {
		t.Error("a read-only Open rewrote the keyring")
	}
	db := openAt(t, path, newClock(), Options{EncryptionKey: testKey})
	if got := readKeyringFile(t, path); !bytes.Equal(got, encodeKeyring(keys)) {
		t.Errorf("keyring after a writable Open starts %q; want version 2 with the same keys", got[:min(len(got), 20)])
	}
	notesRead(t, db, a, b)
	newCase(t, db, "third", "U1")
	mustCheck(t, db, "version 1")
}

// A purge rewrites the keyring file without the purged case's key: its
// wrapped bytes are nowhere in it.
func TestKeyringPurgeRewrites(t *testing.T) {
	path, a, b := keyringFileStore(t)
	db := openAt(t, path, newClock(), Options{EncryptionKey: testKey})
	ka, _ := db.keys.get(a.ID)
	update(t, db, a.ID, "case.close", func(c *casebot.Case) { c.Status, c.Outcome = casebot.StatusSettled, casebot.StatusSettled })
	if _, err := db.PurgeCase(context.Background(), a.ID, "UADMIN"); err != nil {
		t.Fatal(err)
	}
	raw := readKeyringFile(t, path)
	if bytes.Contains(raw, ka.wrapped) || bytes.Contains(raw, []byte(a.ID)) {
		t.Error("the purged case's key is still in the keyring file")
	}
	if keys, err := decodeKeyring(raw); err != nil || len(keys) != 1 {
		t.Errorf("keyring holds %d keys, %v; want the other case's", len(keys), err)
	}
	notesRead(t, db, b)
}

// encodeKeyringV1 writes keys in the keyring's version 1 format.
func encodeKeyringV1(keys map[string]caseKey) []byte {
	e := enc{b: []byte(keyringMagicV1)}
	e.uint(uint64(len(keys)))
	for _, id := range slices.Sorted(maps.Keys(keys)) {
		k := keys[id]
		e.str(id)
		e.b = append(e.b, k.id[:]...)
		e.bytes(k.wrapped)
	}
	sum := sha256.Sum256(e.b)
	return append(e.b, sum[:]...)
}

// A keyring file removed under a running casebot, or replaced by an older
// copy, is written again whole, from the keys in memory, by the next new
// case's key: no key is lost.
func TestKeyringFileRemovedWhileOpen(t *testing.T) {
	for _, replace := range []bool{false, true} {
		t.Run(map[bool]string{false: "removed", true: "older copy"}[replace], func(t *testing.T) { keyringFileReplaced(t, replace) })
	}
}

func keyringFileReplaced(t *testing.T, withOlder bool) {
	path, a, b := keyringFileStore(t)
	older := readKeyringFile(t, path)
	db := openAt(t, path, newClock(), Options{EncryptionKey: testKey})
	d := newCase(t, db, "fourth", "U1")
	if err := os.Remove(keyringPath(path)); err != nil {
		t.Fatal(err)
	}
	if withOlder {
		if err := os.WriteFile(keyringPath(path), older, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c := newCase(t, db, "third", "U1")
	if _, err := db.AddNote(context.Background(), &casebot.Note{CaseID: c.ID, Author: "U1", Body: "sealed words of " + c.Title}, casebot.Change{Actor: "U1"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	keys, err := decodeKeyring(readKeyringFile(t, path))
	if _, ok := keys[d.ID]; err != nil || len(keys) != 4 || !ok {
		t.Fatalf("keyring after the removal holds %d keys (%s's: %v), %v; want 4", len(keys), d.ID, ok, err)
	}
	db = openAt(t, path, newClock(), Options{EncryptionKey: testKey})
	notesRead(t, db, a, b, c)
	mustCheck(t, db, "keyring written again")
}
