package store

import (
	"context"
	"testing"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
	"github.com/casebot/casebot/store/kv/pgkv"
)

// The keys the store puts with PutNew (a note's record, note_idx and
// idx_note_med entries, its search blocks, an intake's de-duplication
// keys) are new every time: on PostgreSQL not one transaction has to run
// again because one was there after all, through notes added, intake
// batches with duplicates within and across them, and the search index
// rebuilt whole. On bbolt the test checks the same outcomes.
func TestNewKeysAreNew(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	c := newCase(t, db, "Lease", "U1", ann, bob)
	update(t, db, c.ID, "case.comediator", func(c *casebot.Case) { c.CoMediators = []string{"U2"} })
	for _, body := range []string{"boundary fence", "the fence again"} {
		if _, err := db.AddNote(ctx, &casebot.Note{CaseID: c.ID, Author: "U1", Body: body}, casebot.Change{Actor: "U1", Action: "note.add"}); err != nil {
			t.Fatal(err)
		}
	}
	batch := func(uid uint32, keys ...string) []casebot.ItemResult {
		b := casebot.IngestBatch{Mailbox: "INBOX", UIDValidity: 1}
		for i, k := range keys {
			n := emailNote(c.ID, ann.Email, "fence posts "+k, k+"@x")
			b.Items = append(b.Items, casebot.MailItem{UID: uid + uint32(i), DedupeKey: k, Note: n})
			b.LastUID = uid + uint32(i)
		}
		res, err := db.Ingest(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	outcomes := func(res []casebot.ItemResult) (out []string) {
		for _, r := range res {
			out = append(out, r.Outcome)
		}
		return out
	}
	if got := outcomes(batch(1, "a", "b", "a")); len(got) != 3 || got[0] != casebot.OutcomeNote || got[1] != casebot.OutcomeNote || got[2] != casebot.OutcomeDuplicate {
		t.Fatalf("first batch: %v, want note, note, duplicate", got)
	}
	if got := outcomes(batch(4, "b", "c")); len(got) != 2 || got[0] != casebot.OutcomeDuplicate || got[1] != casebot.OutcomeNote {
		t.Fatalf("second batch: %v, want duplicate, note", got)
	}
	if err := db.update(ctx, func(tx kv.Tx) error { return db.indexAllNotes(tx) }); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, db, "notes, intake and the index rebuilt")
	hits, err := db.Search(ctx, []string{"fence"}, casebot.Actor{ID: "U2"}, 10)
	if err != nil || len(hits) != 5 {
		t.Fatalf("search by the co-mediator: %d hits (%v), want the 5 notes", len(hits), err)
	}
	if e, ok := db.kv.(*pgkv.Engine); ok {
		if n := e.FreshClashes(); n != 0 {
			t.Errorf("%d transactions ran again because a PutNew key was there", n)
		}
	}
}
