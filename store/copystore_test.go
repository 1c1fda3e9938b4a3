package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/internal/pgurl"
	"github.com/casebot/casebot/store/kv"
)

// bucketDigest is what a test knows of a bucket without keeping it: its
// sequence, its key count and a hash of its keys and values in order.
type bucketDigest struct {
	seq  uint64
	keys int
	sum  [sha256.Size]byte
}

// openLoc opens the store at loc itself, a bbolt path or a PostgreSQL URL:
// copy-store's tests name their engines (openAt would move a bbolt path
// to PostgreSQL under CASEBOT_STORE_ENGINE=postgres).
func openLoc(t *testing.T, loc string, opts Options) *DB {
	t.Helper()
	opts.Now, opts.Logger = newClock().Now, testLogger(t)
	db, err := Open(context.Background(), loc, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", pgurl.Redact(loc), err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// smallChunks makes a copy's write transactions small for the test, so
// that buckets take several and the multi-MiB document one of its own.
func smallChunks(t *testing.T) {
	bytes, keys := copyChunkBytes, copyChunkKeys
	copyChunkBytes, copyChunkKeys = 1<<20, 7
	t.Cleanup(func() { copyChunkBytes, copyChunkKeys = bytes, keys })
}

// digestEngine reads every bucket of eng, independently of the code under
// test.
func digestEngine(t *testing.T, eng kv.Engine) map[string]bucketDigest {
	t.Helper()
	out := map[string]bucketDigest{}
	err := eng.View(context.Background(), func(tx kv.Tx) error {
		return tx.ForEachBucket(func(name []byte) error {
			b := tx.Bucket(name)
			d := bucketDigest{seq: b.Sequence()}
			h := sha256.New()
			var n [8]byte
			if err := b.ForEach(func(k, v []byte) error {
				for _, p := range [][]byte{k, v} {
					binary.BigEndian.PutUint64(n[:], uint64(len(p)))
					h.Write(n[:])
					h.Write(p)
				}
				d.keys++
				return nil
			}); err != nil {
				return err
			}
			h.Sum(d.sum[:0])
			out[string(name)] = d
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// digestStore digests the store at loc through a read-only engine.
func digestStore(t *testing.T, loc string) map[string]bucketDigest {
	t.Helper()
	eng, err := openEngine(context.Background(), loc, Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	return digestEngine(t, eng)
}

// sameDigests fails the test unless two stores hold the same buckets,
// keys, values and sequences.
func sameDigests(t *testing.T, what string, want, got map[string]bucketDigest) {
	t.Helper()
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if g, ok := got[name]; !ok {
			t.Errorf("%s: bucket %s missing", what, name)
		} else if g != want[name] {
			t.Errorf("%s: bucket %s = %d keys, sequence %d; want %d keys, sequence %d (or the contents differ)", what, name, g.keys, g.seq, want[name].keys, want[name].seq)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: extra bucket %s", what, name)
		}
	}
}

// bigDoc is a multi-MiB attachment.
func bigDoc() []byte {
	b := make([]byte, 5<<20+123)
	for i := range b {
		b[i] = byte(i*7 + i>>11)
	}
	return b
}

// plantCopySource makes an encrypted store holding a purged case (a) and
// a live one (b) with notes, an email with a multi-MiB document, audit
// events, a pending outbox message and a key in the keyring. It returns
// the store's path, the live case and a backup taken before the purge.
func plantCopySource(t *testing.T) (path string, b *casebot.Case, before []byte) {
	t.Helper()
	ctx := context.Background()
	path = filepath.Join(t.TempDir(), "src.db")
	db := openLoc(t, path, Options{EncryptionKey: testKey})
	a, b := plantCase(t, db)
	ingest(t, db, 10, withAttachments(emailNote(b.ID, "bob@example.com", "the survey", "big@x"), att("survey.pdf", "application/pdf", bigDoc())))
	if _, err := db.FeedNotices(ctx, 16); err != nil {
		t.Fatal(err)
	}
	if n, err := db.OutboxDepth(ctx); err != nil || n == 0 {
		t.Fatalf("outbox depth %d, %v; want a pending message", n, err)
	}
	before = backupBytes(t, db)
	if _, err := db.PurgeCase(ctx, a.ID, "UADMIN"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path, b, before
}

// A bbolt store copied to a new bbolt file reads back equal record by
// record, keyring included; the copy opens with the same key and shows
// the same cases, notes and documents; a case purged before the copy
// stays purged, and a backup from before the purge opened with the
// copied keyring still reveals nothing of it.
func TestCopyStoreBoltToBolt(t *testing.T) {
	ctx := context.Background()
	smallChunks(t)
	src, b, before := plantCopySource(t)
	dst := filepath.Join(t.TempDir(), "dst.db")
	var progress bytes.Buffer
	rep, err := CopyStore(ctx, src, dst, CopyOptions{Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	want := digestStore(t, src)
	sameDigests(t, "copy", want, digestStore(t, dst))
	if len(rep.Buckets) != len(want) {
		t.Errorf("report lists %d buckets, the store has %d", len(rep.Buckets), len(want))
	}
	var keys int64
	for _, bc := range rep.Buckets {
		if d := want[bc.Name]; int64(d.keys) != bc.Keys || d.seq != bc.Sequence {
			t.Errorf("report: bucket %s: %d keys, sequence %d; want %d, %d", bc.Name, bc.Keys, bc.Sequence, d.keys, d.seq)
		}
		keys += bc.Keys
	}
	if keys != rep.Keys || rep.Bytes < 5<<20 {
		t.Errorf("report totals %d keys, %d bytes; the buckets add up to %d keys, and a 5 MiB document was copied", rep.Keys, rep.Bytes, keys)
	}
	if !rep.Keyring || rep.KeyringKeys != 1 {
		t.Errorf("report: keyring %v with %d keys; want the live case's key only", rep.Keyring, rep.KeyringKeys)
	}
	ringSrc, err := os.ReadFile(keyringPath(src))
	if err != nil {
		t.Fatal(err)
	}
	if ringDst, err := os.ReadFile(keyringPath(dst)); err != nil || !bytes.Equal(ringSrc, ringDst) {
		t.Errorf("copied keyring differs from the source's (%v)", err)
	}
	if fi, err := os.Stat(keyringPath(dst)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("copied keyring: %v, %v; want mode 0600", fi, err)
	}

	db := openLoc(t, dst, Options{EncryptionKey: testKey})
	mustCheck(t, db, "copy-store")
	cs, err := db.Cases(ctx, casebot.CaseFilter{State: "all"})
	if err != nil || len(cs) != 2 {
		t.Fatalf("copy: list all = %v, %v; want both cases", ids(cs), err)
	}
	if c, err := db.Case(ctx, b.ID); err != nil || c.Title != "Other" || c.Parties[0].Name != "Bob Keep" {
		t.Errorf("copy: Case(%s) = %+v, %v", b.ID, c, err)
	}
	if notes, err := db.Notes(ctx, b.ID); err != nil || len(notes) != 2 || notes[0].Body != "keepme note" {
		t.Errorf("copy: notes of %s = %+v, %v", b.ID, notes, err)
	}
	if _, content, err := db.DocumentFile(ctx, b.ID, 1); err != nil || !bytes.Equal(content, bigDoc()) {
		t.Errorf("copy: document 1 of %s: %d bytes, %v; want the 5 MiB survey", b.ID, len(content), err)
	}
	for _, c := range cs {
		if c.ID == b.ID {
			continue
		}
		if c.Title != casebot.PurgedTitle {
			t.Errorf("copy: the purged case %s reads as %+v", c.ID, c)
		}
		if notes, err := db.Notes(ctx, c.ID); err != nil || len(notes) != 0 {
			t.Errorf("copy: notes of the purged case = %d, %v", len(notes), err)
		}
		// The backup from before the purge, with the copied keyring.
		old := filepath.Join(t.TempDir(), "old.db")
		if err := os.WriteFile(old, before, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keyringPath(old), ringSrc, 0o600); err != nil {
			t.Fatal(err)
		}
		odb := openLoc(t, old, Options{EncryptionKey: testKey})
		if _, err := odb.Notes(ctx, c.ID); casebot.ErrorCode(err) != casebot.EUNAVAIL {
			t.Errorf("old backup with the copied keyring: notes of the purged case: %v; want EUNAVAIL", err)
		}
		if notes, err := odb.Notes(ctx, b.ID); err != nil || len(notes) != 2 {
			t.Errorf("old backup with the copied keyring: notes of the live case = %d, %v", len(notes), err)
		}
	}
}

// A target holding anything, a key, a sequence or a keyring, is refused
// and left as it was; so is the source itself, a missing source, a file
// that is not a store and a store of a newer schema.
func TestCopyStoreRefusals(t *testing.T) {
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "src.db")
	db := openLoc(t, src, Options{})
	newCase(t, db, "Fence", "U1")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	boltFile := func(name string, fn func(tx *bolt.Tx) error) string {
		p := filepath.Join(dir, name)
		bdb, err := bolt.Open(p, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := bdb.Update(fn); err != nil {
			t.Fatal(err)
		}
		if err := bdb.Close(); err != nil {
			t.Fatal(err)
		}
		return p
	}
	withKey := boltFile("key.db", func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("other"))
		if err == nil {
			err = b.Put([]byte("k"), []byte("v"))
		}
		return err
	})
	withSeq := boltFile("seq.db", func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("cases"))
		if err == nil {
			err = b.SetSequence(3)
		}
		return err
	})
	withRing := filepath.Join(dir, "ring.db")
	if err := os.WriteFile(keyringPath(withRing), []byte("any keyring"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, target, want string }{
		{"a bucket with keys", withKey, "bucket other holds keys"},
		{"a bucket sequence", withSeq, "bucket cases has sequence 3"},
		{"a keyring", withRing, "has a keyring"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			files := dirFiles(t, dir)
			_, err := CopyStore(ctx, src, tt.target, CopyOptions{})
			if !errors.Is(err, ErrTargetNotEmpty) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "nothing was copied") {
				t.Errorf("CopyStore = %v; want ErrTargetNotEmpty saying %q", err, tt.want)
			}
			if got := dirFiles(t, dir); !maps.Equal(got, files) {
				t.Errorf("the refused target's folder changed: %v, was %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(files)))
			}
		})
	}

	// An empty bucket is no content: a target holding only that is fine.
	empty := boltFile("empty.db", func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("cases")); return err })
	if _, err := CopyStore(ctx, src, empty, CopyOptions{}); err != nil {
		t.Errorf("CopyStore to a target with an empty bucket: %v", err)
	}

	newer := filepath.Join(dir, "newer.db")
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(newer, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	boltFile("newer.db", func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(metaSchemaVersion, binary.BigEndian.AppendUint64(nil, currentVersion+1))
	})
	notStore := boltFile("notstore.db", func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("x")); return err })
	for _, tt := range []struct{ name, from, to, want string }{
		{"the source itself", src, src, "is the source itself"},
		{"a missing source", filepath.Join(dir, "missing.db"), filepath.Join(dir, "t1.db"), "no such file"},
		{"not a store", notStore, filepath.Join(dir, "t2.db"), "not a casebot store"},
		{"a newer schema", newer, filepath.Join(dir, "t3.db"), "newer than this casebot"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := CopyStore(ctx, tt.from, tt.to, CopyOptions{}); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("CopyStore = %v; want an error saying %q", err, tt.want)
			}
			if tt.to != tt.from {
				if _, err := os.Stat(tt.to); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("the target %s was created (%v)", tt.to, err)
				}
			}
		})
	}
}

// dirFiles maps each file in dir to its size and modification time.
func dirFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range es {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = fmt.Sprintf("%d bytes, modified %s", fi.Size(), fi.ModTime())
	}
	return out
}

// A store another process holds is reported in use, within the timeout,
// rather than waited for.
func TestCopyStoreSourceInUse(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src.db")
	openLoc(t, src, Options{})
	start := time.Now()
	_, err := CopyStore(context.Background(), src, filepath.Join(t.TempDir(), "dst.db"), CopyOptions{Timeout: 200 * time.Millisecond})
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), src) {
		t.Errorf("CopyStore from a held store = %v; want ErrInUse naming it", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("CopyStore took %v to give up", took)
	}
}

// The verification names the bucket and key of the first difference, in
// hex, and never the value.
func TestCopyStoreVerifyFindsDifferences(t *testing.T) {
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "src.db")
	db := openLoc(t, src, Options{})
	c := newCase(t, db, "Secret title", "U1")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		tamper func(tx kv.Tx) error
		want   string
	}{
		{"a changed value", func(tx kv.Tx) error {
			return tx.Bucket(bucketCases).Put([]byte(c.ID), []byte("tampered"))
		}, "bucket cases, key " + hexOf(c.ID) + ": the values differ"},
		{"a missing key", func(tx kv.Tx) error { return tx.Bucket(bucketCases).Delete([]byte(c.ID)) },
			"bucket cases, key " + hexOf(c.ID) + ": missing from the copy"},
		{"an extra key", func(tx kv.Tx) error { return tx.Bucket(bucketCases).Put([]byte("ZZZ"), []byte("x")) },
			"bucket cases, key 5a5a5a: is in the copy but not in the source"},
		{"a sequence", func(tx kv.Tx) error { return tx.Bucket(bucketAudit).SetSequence(999) },
			"bucket audit_log: sequence"},
		{"a missing bucket", func(tx kv.Tx) error { return tx.DeleteBucket(bucketSent) }, "bucket sent: missing from the copy"},
		{"an extra bucket", func(tx kv.Tx) error {
			b, err := tx.CreateBucket([]byte("zextra"))
			if err == nil {
				_, err = b.NextSequence()
			}
			return err
		}, "bucket zextra: is in the copy but not in the source"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "dst.db")
			if _, err := CopyStore(ctx, src, dst, CopyOptions{}); err != nil {
				t.Fatal(err)
			}
			s, err := openEngine(ctx, src, Options{ReadOnly: true, Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			d, err := openEngine(ctx, dst, Options{Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if err := d.Update(ctx, tt.tamper); err != nil {
				t.Fatal(err)
			}
			_, err = compareBuckets(ctx, s, d, nil)
			var me *MismatchError
			if !errors.As(err, &me) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("compareBuckets = %v; want a mismatch saying %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "tampered") || strings.Contains(err.Error(), "Secret") {
				t.Errorf("the mismatch shows a value: %v", err)
			}
		})
	}
}

func hexOf(s string) string { return hex.EncodeToString([]byte(s)) }

// A backup by copy (the backup of a PostgreSQL store; here of a bbolt
// one, through the same engine-level code) is a bbolt store holding every
// bucket, key, value and sequence, and no keyring: with the keyring
// beside it, it opens and reads.
func TestBackupByCopy(t *testing.T) {
	ctx := context.Background()
	src, b, _ := plantCopySource(t)
	db := openLoc(t, src, Options{EncryptionKey: testKey})
	var buf bytes.Buffer
	n, err := db.backupByCopy(ctx, &buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("backupByCopy = %d, %v; wrote %d bytes", n, err, buf.Len())
	}
	out := filepath.Join(t.TempDir(), "backup.db")
	if err := os.WriteFile(out, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	want := digestEngine(t, db.kv)
	sameDigests(t, "backup by copy", want, digestStore(t, out))
	// The same content as the bbolt backup's compaction.
	compacted := filepath.Join(t.TempDir(), "compacted.db")
	if err := os.WriteFile(compacted, backupBytes(t, db), 0o600); err != nil {
		t.Fatal(err)
	}
	sameDigests(t, "compacted backup", want, digestStore(t, compacted))
	if _, err := os.Stat(keyringPath(out)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a backup came with a keyring (%v)", err)
	}
	ring, err := os.ReadFile(keyringPath(src))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyringPath(out), ring, 0o600); err != nil {
		t.Fatal(err)
	}
	bdb := openLoc(t, out, Options{EncryptionKey: testKey, ReadOnly: true})
	if _, content, err := bdb.DocumentFile(ctx, b.ID, 1); err != nil || !bytes.Equal(content, bigDoc()) {
		t.Errorf("backup: document 1 of %s: %d bytes, %v", b.ID, len(content), err)
	}
}

// A copy that fails its verification is removed again: a new target
// file with its keyring, or what was written into an empty one.
func TestCopyStoreFailureUndone(t *testing.T) {
	ctx := context.Background()
	src, _, _ := plantCopySource(t)
	copyTestHook = func(dst kv.Engine) error {
		return dst.Update(ctx, func(tx kv.Tx) error { return tx.Bucket(bucketCases).Put([]byte("MED-1999-0001"), []byte("x")) })
	}
	t.Cleanup(func() { copyTestHook = nil })

	dir := t.TempDir()
	dst := filepath.Join(dir, "new.db")
	var me *MismatchError
	if _, err := CopyStore(ctx, src, dst, CopyOptions{}); !errors.As(err, &me) || me.Bucket != "cases" {
		t.Fatalf("CopyStore = %v; want a mismatch in cases", err)
	}
	if files := dirFiles(t, dir); len(files) != 0 {
		t.Errorf("after a failed copy to a new file the folder holds %v", slices.Sorted(maps.Keys(files)))
	}

	empty := filepath.Join(dir, "empty.db")
	bdb, err := bolt.Open(empty, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := bdb.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := CopyStore(ctx, src, empty, CopyOptions{}); !errors.As(err, &me) {
		t.Fatalf("CopyStore = %v; want a mismatch", err)
	}
	if _, err := os.Stat(keyringPath(empty)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the failed copy's keyring is still there (%v)", err)
	}
	if d := digestStore(t, empty); len(d) != 0 {
		t.Errorf("the empty target holds %d buckets after a failed copy", len(d))
	}
}
