package store

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

const envKeyringChild = "CASEBOT_KEYRING_CHILD_DB"

// TestKeyringChild is the child of TestKeyringCrashBeforeCommit: it
// creates a case and kills itself with SIGKILL right after the keyring
// holding the case's new key is on disk, before the case commits.
func TestKeyringChild(t *testing.T) {
	path := os.Getenv(envKeyringChild)
	if path == "" {
		t.Skip("runs only as the child of TestKeyringCrashBeforeCommit")
	}
	db := openAt(t, path, newClock(), Options{EncryptionKey: testKey})
	db.keys.afterWrite = func() { _ = syscall.Kill(os.Getpid(), syscall.SIGKILL) }
	_, err := db.CreateCase(context.Background(), &casebot.Case{Title: "never committed", Mediator: "U1"}, casebot.Change{Actor: "U1"})
	t.Fatalf("CreateCase returned (%v); the child should have been killed", err)
}

// A SIGKILL between the keyring write and the commit that first uses the
// new key loses nothing: every case reads, the store checks clean, and the
// unused key is picked up by the next case of that ID.
func TestKeyringCrashBeforeCommit(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "casebot.db")
	db, err := Open(ctx, storePath(t, path), Options{EncryptionKey: testKey, Now: newClock().Now, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, title := range []string{"one", "two", "three"} {
		c := newCase(t, db, title, "U1")
		if _, err := db.AddNote(ctx, &casebot.Note{CaseID: c.ID, Author: "U1", Body: "note of " + title}, casebot.Change{}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestKeyringChild$")
	cmd.Env = append(os.Environ(), envKeyringChild+"="+path)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child: %v, want killed by SIGKILL\n%s", err, out)
	}

	db = openAt(t, path, newClock(), Options{EncryptionKey: testKey})
	if n := db.keys.size(); n != len(ids)+1 {
		t.Errorf("keyring holds %d keys, want %d (the crashed case's key, unused)", n, len(ids)+1)
	}
	mustCheck(t, db, "crash between keyring write and commit")
	for i, id := range ids {
		notes, err := db.Notes(ctx, id)
		if err != nil || len(notes) != 1 || !strings.HasSuffix(notes[0].Body, []string{"one", "two", "three"}[i]) {
			t.Errorf("notes of %s = %+v, %v", id, notes, err)
		}
	}
	c := newCase(t, db, "after the crash", "U1")
	if _, err := db.AddNote(ctx, &casebot.Note{CaseID: c.ID, Author: "U1", Body: "fine"}, casebot.Change{}); err != nil {
		t.Fatal(err)
	}
	if notes, err := db.Notes(ctx, c.ID); err != nil || len(notes) != 1 {
		t.Errorf("new case notes = %+v, %v", notes, err)
	}
	mustCheck(t, db, "new case after the crash")
}

// A crash after a purge commits but before its key is destroyed leaves
// the key in the keyring; the next Open destroys it.
func TestOpenDestroysKeysOfPurgedCases(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "casebot.db")
	db, err := Open(ctx, storePath(t, path), Options{EncryptionKey: testKey, Now: newClock().Now, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	a, b := plantCase(t, db)
	restore := saveKeyring(t, path)
	if _, err := db.PurgeCase(ctx, a.ID, "UADMIN"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// As if the process died before the keyring was rewritten.
	restore()
	db = openAt(t, path, newClock(), Options{EncryptionKey: testKey})
	if _, ok := db.keys.get(a.ID); ok {
		t.Error("Open kept the purged case's data key")
	}
	if _, ok := db.keys.get(b.ID); !ok {
		t.Error("Open destroyed a live case's data key")
	}
	mustCheck(t, db, "reopen")
}

// Notes sealed under the master key (before per-case keys) stay readable;
// the case gets a key at Open and new notes use it.
func TestMasterSealedNotesStayReadable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "casebot.db")
	db, err := Open(ctx, storePath(t, path), Options{EncryptionKey: testKey, Now: newClock().Now, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	c := newCase(t, db, "legacy", "U1")
	// Rewrite the store as an older casebot left it: the note sealed under
	// the master key, no data key recorded, no keyring.
	err = db.testUpdate(func(tx kv.Tx) error {
		v, err := db.encodeNote(be64(1), &casebot.Note{CaseID: c.ID, N: 1, Author: "U1", Body: "old secret", Created: db.now()})
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketNotes).Put(be64(1), v); err != nil {
			return err
		}
		if err := tx.Bucket(bucketNoteN).Put(numberedKey(c.ID, 1), be64(1)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketNotes).SetSequence(1); err != nil {
			return err
		}
		// The case record as stores before schema 6 kept it: JSON.
		cs, _ := db.getCase(tx, c.ID)
		cs.NoteCount = 1
		rec, err := json.Marshal(cs)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketCases).Put([]byte(c.ID), rec); err != nil {
			return err
		}
		// Such a store predates list pages and the search index (schema
		// 8 and 9): opening it builds them.
		if err := tx.Bucket(bucketMeta).Put(metaSchemaVersion, be64(7)); err != nil {
			return err
		}
		return tx.Bucket(bucketCaseKeys).Delete([]byte(c.ID))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	removeKeyring(t, path)

	db = openAt(t, path, newClock(), Options{EncryptionKey: testKey})
	if _, ok := db.keys.get(c.ID); !ok {
		t.Fatal("Open did not give the case a data key")
	}
	if _, err := db.AddNote(ctx, &casebot.Note{CaseID: c.ID, Author: "U1", Body: "new secret"}, casebot.Change{}); err != nil {
		t.Fatal(err)
	}
	notes, err := db.Notes(ctx, c.ID)
	if err != nil || len(notes) != 2 || notes[0].Body != "old secret" || notes[1].Body != "new secret" {
		t.Fatalf("notes = %+v, %v", notes, err)
	}
	err = db.testView(func(tx kv.Tx) error {
		seq := tx.Bucket(bucketNoteN).Get(numberedKey(c.ID, 2))
		_, sealed, err := unframe2(tx.Bucket(bucketNotes).Get(seq))
		if err == nil && sealed[0] != sealCaseGCM {
			t.Errorf("new note sealed as version %d, want %d (the case key)", sealed[0], sealCaseGCM)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, db, "legacy notes")
}

// A lost keyring is reported by Check, and the store refuses to seal new
// content of such a case under a fresh key; a damaged keyring is refused
// at Open.
func TestKeyringLostOrDamaged(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "casebot.db")
	db, err := Open(ctx, storePath(t, path), Options{EncryptionKey: testKey, Now: newClock().Now, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	c := newCase(t, db, "keyed", "U1")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if !onPostgres() {
		if fi, _ := os.Stat(keyringPath(path)); fi.Mode().Perm() != 0o600 {
			t.Errorf("keyring mode %v, want 0600", fi.Mode().Perm())
		}
	}
	restore := saveKeyring(t, path)
	damageKeyring(t, path)
	if _, err := Open(ctx, storePath(t, path), Options{EncryptionKey: testKey}); err == nil || !strings.Contains(err.Error(), "keyring") {
		t.Fatalf("Open with a damaged keyring: %v; want a refusal naming the keyring", err)
	}

	restore()
	removeKeyring(t, path)
	db = openAt(t, path, newClock(), Options{EncryptionKey: testKey})
	if err := db.Check(ctx); err == nil || !strings.Contains(err.Error(), c.ID) || !strings.Contains(err.Error(), "missing from the keyring") {
		t.Errorf("Check = %v; want the case's missing key reported", err)
	}
	if _, err := db.AddNote(ctx, &casebot.Note{CaseID: c.ID, Author: "U1", Body: "x"}, casebot.Change{}); err == nil {
		t.Error("AddNote sealed under a new key although the case's key is lost")
	}
}

// Open checks every key of the keyring against the master key but makes
// no case's sealer: a case's key is unwrapped when its content is first
// read or written, and only that case's; a key the master key does not
// open is still refused at Open.
func TestKeyringUnwrapsOnUse(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "casebot.db")
	db := openAt(t, path, newClock(), Options{EncryptionKey: testKey})
	a, b := newCase(t, db, "first", "U1"), newCase(t, db, "second", "U1")
	for _, c := range []*casebot.Case{a, b} {
		if _, err := db.AddNote(ctx, &casebot.Note{CaseID: c.ID, Author: "U1", Body: "sealed words of " + c.Title}, casebot.Change{Actor: "U1", Action: "note.add"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, path, newClock(), Options{EncryptionKey: testKey})
	unwrapped := func(id string) bool {
		k, ok := db.keys.get(id)
		if !ok {
			t.Fatalf("no key for %s", id)
		}
		return k.slot.seal.Load() != nil
	}
	if unwrapped(a.ID) || unwrapped(b.ID) {
		t.Fatal("Open made a case's sealer")
	}
	notes, err := db.Notes(ctx, a.ID)
	if err != nil || len(notes) != 1 || notes[0].Body != "sealed words of first" {
		t.Fatalf("notes of %s: %+v, %v", a.ID, notes, err)
	}
	if !unwrapped(a.ID) || unwrapped(b.ID) {
		t.Errorf("after reading %s: its key unwrapped %v, %s's %v; want only its own", a.ID, unwrapped(a.ID), b.ID, unwrapped(b.ID))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// One key the master key does not open, among good ones: refused at
	// Open, naming the case, before anything reads it.
	damageKey(t, path, b.ID)
	if _, err := Open(ctx, storePath(t, path), Options{EncryptionKey: testKey}); err == nil || !strings.Contains(err.Error(), b.ID) {
		t.Fatalf("Open with %s's key damaged: %v; want a refusal naming the case", b.ID, err)
	}
}

// A case without a recorded data key (a store from before per-case keys,
// whose Open has not yet settled them) gets it at the next writable Open,
// which then marks the store settled; once settled, Open reads only the
// purge marks.
func TestOpenRecordsMissingKeyMarks(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "casebot.db")
	db := openAt(t, path, newClock(), Options{EncryptionKey: testKey})
	c := newCase(t, db, "unmarked", "U1")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	settled := func() bool {
		var ok bool
		rawUpdate(t, path, func(tx kv.Tx) error {
			ok = tx.Bucket(bucketMeta).Get(metaKeysSettled) != nil
			return nil
		})
		return ok
	}
	if !settled() {
		t.Fatal("a store opened writable is not marked settled")
	}
	rawUpdate(t, path, func(tx kv.Tx) error {
		if err := tx.Bucket(bucketCaseKeys).Delete([]byte(c.ID)); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Delete(metaKeysSettled)
	})
	db = openAt(t, path, newClock(), Options{EncryptionKey: testKey})
	mustCheck(t, db, "Open recorded the case's key")
	if got, err := db.Case(ctx, c.ID); err != nil || got.Title != "unmarked" {
		t.Fatalf("case after Open: %+v, %v", got, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if !settled() {
		t.Error("Open did not mark the store settled")
	}
}
