package store

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/casebot/casebot"
)

// TestPrepareMail checks that terms hashed ahead by PrepareMail index a
// note as Ingest's own would, and that terms another store prepared (with
// its own term key) are not trusted but hashed again.
func TestPrepareMail(t *testing.T) {
	ctx := context.Background()
	key := func(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }
	db := openAt(t, filepath.Join(t.TempDir(), "a.db"), newClock(), Options{EncryptionKey: key(1)})
	other := openAt(t, filepath.Join(t.TempDir(), "b.db"), newClock(), Options{EncryptionKey: key(2)})
	c := newCase(t, db, "Lease", "U1", casebot.Party{Role: casebot.RoleClaimant, Name: "Ann", Email: "ann@example.com"})
	items := []casebot.MailItem{
		{UID: 1, DedupeKey: "a", Note: emailNote(c.ID, "ann@example.com", "the boiler broke", "m1@x")},
		{UID: 2, DedupeKey: "b", Note: emailNote(c.ID, "ann@example.com", "the radiator leaks", "m2@x")},
		{UID: 3, DedupeKey: "c", Note: emailNote(c.ID, "ann@example.com", "the window sticks", "m3@x")},
	}
	db.PrepareMail(&items[0])
	other.PrepareMail(&items[1]) // another store's key: hashed again
	if items[0].Prepared == nil || items[1].Prepared == nil {
		t.Fatal("PrepareMail left Prepared nil")
	}
	empty := casebot.MailItem{UID: 9, Skip: "auto-reply"}
	db.PrepareMail(&empty)
	if empty.Prepared != nil {
		t.Fatalf("an item without a note was prepared: %+v", empty.Prepared)
	}
	if _, err := db.Ingest(ctx, casebot.IngestBatch{Mailbox: "INBOX", UIDValidity: 1, LastUID: 3, Items: items}); err != nil {
		t.Fatal(err)
	}
	for word, n := range map[string]int{"boiler": 1, "radiator": 2, "window": 3} {
		hits, err := db.Search(ctx, []string{word}, casebot.Actor{ID: "U1"}, 10)
		if err != nil || len(hits) != 1 || hits[0].Note.N != n {
			t.Errorf("search %q = %+v, %v; want note %d", word, hits, err, n)
		}
	}
	mustCheck(t, db, "ingest of prepared items")
}
