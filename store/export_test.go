package store

import (
	"context"
	"testing"
	"time"

	"github.com/casebot/casebot"
)

// An export is recorded without touching the case; a refusal from check
// (the case reassigned since it was read) records nothing and comes back
// unchanged; a missing case is ENOTFOUND.
func TestRecordExport(t *testing.T) {
	ctx := context.Background()
	db, clk := openTest(t)
	c := newCase(t, db, "Lease dispute", "U1")
	clk.Advance(time.Hour)
	visible := func(c *casebot.Case) error {
		if c.Mediator != "U1" {
			return casebot.ErrHidden(c.ID)
		}
		return nil
	}
	if err := db.RecordExport(ctx, c.ID, "U1", "0 notes, 0 emails, 0 documents", casebot.About{Text: "the case file"}, visible); err != nil {
		t.Fatal(err)
	}
	evs, err := db.Audit(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if last := evs[len(evs)-1]; len(evs) != 2 || last.Action != "case.export" || last.Actor != "U1" || last.Detail != "0 notes, 0 emails, 0 documents" ||
		last.About.Text != "the case file" || !last.At.Equal(clk.Now()) {
		t.Fatalf("audit %+v, want the case.export last", evs)
	}
	got, err := db.Case(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Updated.Equal(c.Updated) || !got.Activity.Equal(c.Activity) {
		t.Errorf("the export touched the case: updated %v, activity %v; was %v, %v", got.Updated, got.Activity, c.Updated, c.Activity)
	}

	update(t, db, c.ID, "case.assign", func(c *casebot.Case) { c.Mediator = "U2" })
	err = db.RecordExport(ctx, c.ID, "U1", "x", casebot.About{}, visible)
	if e, ok := err.(*casebot.Error); !ok || e.Message != casebot.ErrHidden(c.ID).Message {
		t.Errorf("RecordExport after reassignment = %v, want check's denial unchanged", err)
	}
	if evs2, _ := db.Audit(ctx, c.ID); len(evs2) != len(evs)+1 {
		t.Errorf("a refused export was recorded: %d events, want %d", len(evs2), len(evs)+1)
	}
	if err := db.RecordExport(ctx, "MED-2026-0999", "U1", "x", casebot.About{}, nil); casebot.ErrorCode(err) != casebot.ENOTFOUND {
		t.Errorf("RecordExport of a missing case = %v, want ENOTFOUND", err)
	}
}
