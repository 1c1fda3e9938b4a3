package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// bbolt → PostgreSQL → bbolt: each copy equal to the first store record by
// record, the keyring moved from file to table and back byte for byte;
// the store on PostgreSQL opens with the same key and reads, its backup
// is a bbolt store equal to it without a keyring, and a second copy onto
// it is refused. Skipped without CASEBOT_POSTGRES_URL.
func TestCopyStorePostgresRoundTrip(t *testing.T) {
	ctx := context.Background()
	smallChunks(t)
	pg := postgresFor(t, filepath.Join(t.TempDir(), "pg-target")) // skips without a database
	src, b, _ := plantCopySource(t)
	want := digestStore(t, src)

	rep, err := CopyStore(ctx, src, pg, CopyOptions{})
	if err != nil {
		t.Fatalf("CopyStore to PostgreSQL: %v", err)
	}
	if !rep.Keyring || rep.KeyringKeys != 1 || len(rep.Buckets) != len(want) {
		t.Errorf("report: keyring %v, %d keys, %d buckets; want 1 key and %d buckets", rep.Keyring, rep.KeyringKeys, len(rep.Buckets), len(want))
	}
	sameDigests(t, "on PostgreSQL", want, digestStore(t, pg))
	if _, err := CopyStore(ctx, src, pg, CopyOptions{}); !errors.Is(err, ErrTargetNotEmpty) {
		t.Errorf("a second copy onto the database: %v; want ErrTargetNotEmpty", err)
	}

	back := filepath.Join(t.TempDir(), "back.db")
	if _, err := CopyStore(ctx, pg, back, CopyOptions{}); err != nil {
		t.Fatalf("CopyStore back to bbolt: %v", err)
	}
	sameDigests(t, "back on bbolt", want, digestStore(t, back))
	ringSrc, err := os.ReadFile(keyringPath(src))
	if err != nil {
		t.Fatal(err)
	}
	if ringBack, err := os.ReadFile(keyringPath(back)); err != nil || !bytes.Equal(ringSrc, ringBack) {
		t.Errorf("the keyring back from PostgreSQL differs from the first (%v)", err)
	}

	db := openLoc(t, pg, Options{EncryptionKey: testKey})
	mustCheck(t, db, "copy to PostgreSQL")
	if notes, err := db.Notes(ctx, b.ID); err != nil || len(notes) != 2 || notes[0].Body != "keepme note" {
		t.Errorf("on PostgreSQL: notes of %s = %+v, %v", b.ID, notes, err)
	}
	if _, content, err := db.DocumentFile(ctx, b.ID, 1); err != nil || !bytes.Equal(content, bigDoc()) {
		t.Errorf("on PostgreSQL: document 1: %d bytes, %v", len(content), err)
	}
	var buf bytes.Buffer
	if _, err := db.Backup(ctx, &buf); err != nil {
		t.Fatalf("Backup on PostgreSQL: %v", err)
	}
	out := filepath.Join(t.TempDir(), "pg-backup.db")
	if err := os.WriteFile(out, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	sameDigests(t, "backup of the PostgreSQL store", digestEngine(t, db.kv), digestStore(t, out))
	if _, err := os.Stat(keyringPath(out)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the backup came with a keyring (%v)", err)
	}

	bdb := openLoc(t, back, Options{EncryptionKey: testKey})
	mustCheck(t, bdb, "copy back to bbolt")
	if _, content, err := bdb.DocumentFile(ctx, b.ID, 1); err != nil || !bytes.Equal(content, bigDoc()) {
		t.Errorf("back on bbolt: document 1: %d bytes, %v", len(content), err)
	}
}
