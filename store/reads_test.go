package store

import (
	"context"
	"testing"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv/pgkv"
)

// On PostgreSQL, the reads of show and of a mediator's list page are
// named at the start of their transactions: each is one round trip (two
// for the notes, whose records are read in one more; show's CaseRecords
// reads the case, its notes and documents in those two), and a recorded view
// two (start and commit), a list page its start and the pages of its one
// walk; the answers are those of bbolt's store.
func TestReadsRoundTrips(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	c := newCase(t, db, "Lease", "U1", ann, bob)
	ingest(t, db, 1,
		withAttachments(emailNote(c.ID, ann.Email, "Attached.", "m1@x"), att("a.pdf", "application/pdf", []byte("%PDF-1.4 a"))),
		withAttachments(emailNote(c.ID, bob.Email, "Mine.", "m2@x"), att("b.pdf", "application/pdf", []byte("%PDF-1.4 b"))),
		emailNote(c.ID, ann.Email, "Third.", "m3@x"))
	for range 60 {
		newCase(t, db, "Another", "U1")
	}
	e, _ := db.kv.(*pgkv.Engine)
	step := func(what string, want int64, fn func() error) {
		t.Helper()
		var before int64
		if e != nil {
			before, _ = e.RoundTrips()
		}
		if err := fn(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if e != nil {
			if got, _ := e.RoundTrips(); got-before != want {
				t.Errorf("%s: %d round trips, want %d", what, got-before, want)
			}
		}
	}
	step("Case", 1, func() error { _, err := db.Case(ctx, c.ID); return err })
	step("Notes", 2, func() error {
		ns, err := db.Notes(ctx, c.ID)
		if err == nil && (len(ns) != 3 || ns[0].N != 1 || ns[2].N != 3) {
			t.Errorf("notes %+v", ns)
		}
		return err
	})
	step("Documents", 1, func() error {
		ds, n, err := db.Documents(ctx, c.ID, 1)
		if err == nil && (n != 2 || len(ds) != 1 || ds[0].N != 2) {
			t.Errorf("documents %+v of %d, want doc 2 of 2", ds, n)
		}
		return err
	})
	step("CaseRecords", 2, func() error {
		rec, err := db.CaseRecords(ctx, c.ID, 1, func(got *casebot.Case) error {
			if got.ID != c.ID {
				t.Errorf("see asked about %s", got.ID)
			}
			return nil
		})
		if err == nil && (rec.Case.ID != c.ID || len(rec.Notes) != 3 || rec.Notes[2].Body != "Third." || rec.DocumentCount != 2 || len(rec.Documents) != 1 || rec.Documents[0].N != 2) {
			t.Errorf("records: %+v", rec)
		}
		return err
	})
	// Refused: the refusal as is, after one round trip (nothing more read).
	step("CaseRecords refused", 1, func() error {
		no := casebot.Errorf(casebot.EFORBIDDEN, "no")
		if _, err := db.CaseRecords(ctx, c.ID, 1, func(*casebot.Case) error { return no }); err != no {
			t.Errorf("refused: %v, want the refusal as is", err)
		}
		return nil
	})
	if _, err := db.CaseRecords(ctx, "MED-1999-0001", 1, nil); casebot.ErrorCode(err) != casebot.ENOTFOUND {
		t.Errorf("CaseRecords of a missing case: %v, want ENOTFOUND", err)
	}
	step("RecordView", 2, func() error { return db.RecordView(ctx, c.ID, "U1", "the case") })
	// 61 entries: all read with the start (the walk is named with room
	// for 128).
	step("CasePage", 1, func() error {
		pg, err := db.CasePage(ctx, casebot.CaseFilter{Mediator: "U1", State: "open"}, 2)
		if err == nil && (pg.Total != 61 || pg.Pages != 2 || len(pg.Cases) != 11) {
			t.Errorf("page 2 of U1's list: total %d, pages %d, %d cases", pg.Total, pg.Pages, len(pg.Cases))
		}
		return err
	})
	if err := db.RecordView(ctx, "MED-1999-0001", "U1", "the case"); casebot.ErrorCode(err) != casebot.ENOTFOUND {
		t.Errorf("RecordView of a missing case: %v, want ENOTFOUND", err)
	}
}
