package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// Keys recorded in the legacy mail_seen bucket (stores written before
// mail_seen2) still make a message a duplicate; new keys of both forms go
// to mail_seen2, hashed ones in their compact form.
func TestSeenKeysOldAndNew(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	c := newCase(t, db, "Lease", "U1", casebot.Party{Role: casebot.RoleClaimant, Name: "Ann", Email: "ann@example.com"})
	key := func(s string) string {
		h := sha256.Sum256([]byte(s))
		return "m1:" + hex.EncodeToString(h[:])
	}
	old := key("old")
	err := db.testUpdate(func(tx kv.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketMailSeen)
		if err != nil {
			return err
		}
		return b.Put([]byte(old), []byte("note "+c.ID))
	})
	if err != nil {
		t.Fatal(err)
	}
	item := func(uid uint32, k string) casebot.MailItem {
		return casebot.MailItem{UID: uid, DedupeKey: k, Note: emailNote(c.ID, "ann@example.com", k, k+"@x")}
	}
	b := casebot.IngestBatch{Mailbox: "INBOX", UIDValidity: 1, LastUID: 5, Items: []casebot.MailItem{
		item(1, old), item(2, key("new")), item(3, key("new")), item(4, "plain"), item(5, "plain")}}
	want := []string{casebot.OutcomeDuplicate, casebot.OutcomeNote, casebot.OutcomeDuplicate, casebot.OutcomeNote, casebot.OutcomeDuplicate}
	for round := range 2 {
		res, err := db.Ingest(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			if r.Outcome != want[i] {
				t.Errorf("round %d, item %d: %s, want %s", round, i, r.Outcome, want[i])
			}
		}
		want = []string{casebot.OutcomeDuplicate, casebot.OutcomeDuplicate, casebot.OutcomeDuplicate, casebot.OutcomeDuplicate, casebot.OutcomeDuplicate}
	}
	err = db.testView(func(tx kv.Tx) error {
		if n := tx.Bucket(bucketMailSeen).KeyN(); n != 1 {
			t.Errorf("legacy bucket has %d keys, want the 1 it had", n)
		}
		s2 := tx.Bucket(bucketMailSeen2)
		if s2.KeyN() != 2 || s2.Get(seenKey(nil, key("new"))) == nil || len(seenKey(nil, key("new"))) != 1+seenHashLen || s2.Get(seenKey(nil, "plain")) == nil {
			t.Errorf("mail_seen2 holds %d keys, want the compact hashed key and the plain one", s2.KeyN())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
