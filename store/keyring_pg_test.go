package store

import (
	"path/filepath"
	"testing"
)

// Two instances on one PostgreSQL store share its keyring table: a key
// one makes is found by the other's cache miss, and when both make a key
// for the same case, both end up with the first one stored.
func TestKeyringSharedBetweenInstances(t *testing.T) {
	if !onPostgres() {
		t.Skip("PostgreSQL only: several instances share one keyring table")
	}
	u := storePath(t, filepath.Join(t.TempDir(), "shared.db"))
	a := openAt(t, u, newClock(), Options{EncryptionKey: testKey})
	b := openAt(t, u, newClock(), Options{EncryptionKey: testKey})

	if err := a.keys.ensure("MED-2026-0001"); err != nil {
		t.Fatal(err)
	}
	ka, _ := a.keys.get("MED-2026-0001")
	if _, ok := b.keys.get("MED-2026-0001"); ok {
		t.Fatal("b's cache has a key it never loaded: the test proves nothing")
	}
	kb, ok, err := b.keys.find("MED-2026-0001")
	if err != nil || !ok || kb.id != ka.id {
		t.Fatalf("b.find = %x, %v, %v; want a's key %x", kb.id, ok, err, ka.id)
	}

	// Both make a key for a new case without seeing the other's: the row
	// written first wins, and both use it.
	if err := a.keys.ensure("MED-2026-0002"); err != nil {
		t.Fatal(err)
	}
	if err := b.keys.ensure("MED-2026-0002"); err != nil {
		t.Fatal(err)
	}
	k1, _ := a.keys.get("MED-2026-0002")
	k2, _ := b.keys.get("MED-2026-0002")
	if k1.id != k2.id {
		t.Fatalf("the instances disagree on the case's key: %x vs %x", k1.id, k2.id)
	}
	s1, err1 := a.keys.sealer("MED-2026-0002", k1)
	s2, err2 := b.keys.sealer("MED-2026-0002", k2)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	plain, err := s2.open([]byte("ad"), s1.seal([]byte("ad"), []byte("secret")))
	if err != nil || string(plain) != "secret" {
		t.Fatalf("b cannot open what a sealed: %q, %v", plain, err)
	}

	// A purge's removal on one is seen by the other's cache miss.
	if err := a.keys.remove("MED-2026-0001"); err != nil {
		t.Fatal(err)
	}
	c := openAt(t, u, newClock(), Options{EncryptionKey: testKey})
	if _, ok, err := c.keys.find("MED-2026-0001"); ok || err != nil {
		t.Fatalf("a third instance finds a destroyed key (ok=%v, err=%v)", ok, err)
	}
}
