package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/casebot/casebot"
)

// outKeys returns, by key, the oldest pending message of each recipient.
func outKeys(tb testing.TB, db *DB) map[string]casebot.OutMessage {
	tb.Helper()
	msgs, err := db.OutboxDue(context.Background(), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), 0)
	if err != nil {
		tb.Fatal(err)
	}
	// OutboxDue returns the oldest pending message of each recipient.
	out := map[string]casebot.OutMessage{}
	for _, m := range msgs {
		out[m.Key] = m
	}
	return out
}

func TestCommitRemindersGuards(t *testing.T) {
	ctx := context.Background()
	db, clk := openTest(t)
	due := clk.Now().Add(48 * time.Hour)
	c := newCase(t, db, "Fence", "U1", casebot.Party{Role: casebot.RoleClaimant, Name: "Ann", Email: "ann@example.com"})
	c = update(t, db, c.ID, "plan", func(c *casebot.Case) {
		c.Deadlines = append(c.Deadlines, casebot.Deadline{N: 1, Due: due, Text: "brief"}, casebot.Deadline{N: 2, Due: due, Text: "met"})
		c.Sessions = append(c.Sessions, casebot.Session{N: 1, Start: due, Duration: time.Hour, Title: "Opening", Sequence: 1})
	})
	update(t, db, c.ID, "done", func(c *casebot.Case) { c.Deadlines[1].Met = true })

	msg := func(key, kind, to string) casebot.OutMessage {
		return casebot.OutMessage{Key: key, Kind: kind, To: to, CaseID: c.ID, Text: "reminder"}
	}
	b := casebot.ReminderBatch{From: time.Time{}, To: clk.Now(), Reminders: []casebot.Reminder{
		{CaseID: c.ID, Deadline: 1, Due: due, Msgs: []casebot.OutMessage{msg("d1", casebot.OutSlack, "U1")}},
		{CaseID: c.ID, Deadline: 2, Due: due, Msgs: []casebot.OutMessage{msg("d2-met", casebot.OutSlack, "U1")}},
		{CaseID: c.ID, Deadline: 1, Due: due.Add(time.Hour), Msgs: []casebot.OutMessage{msg("d1-moved", casebot.OutSlack, "U1")}},
		{CaseID: c.ID, Session: 1, Due: due, Sequence: 1, Msgs: []casebot.OutMessage{
			msg("s1", casebot.OutSlack, "U1"), msg("s1/ann", casebot.OutEmail, "ann@example.com"), msg("s1/bob", casebot.OutEmail, "bob@example.com")}},
		{CaseID: c.ID, Session: 1, Due: due, Sequence: 0, Msgs: []casebot.OutMessage{msg("s1-oldseq", casebot.OutSlack, "U2")}},
	}, Missed: []casebot.MissedReminder{{Key: "m1", User: "U1", CaseID: c.ID, What: "late", Fire: clk.Now().Add(-time.Hour)}}}
	n, err := db.CommitReminders(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("queued %d, want 3 (d1, s1, s1/ann)", n)
	}
	depth, _ := db.OutboxDepth(ctx)
	if depth != 3 {
		t.Errorf("outbox depth %d, want 3", depth)
	}
	keys := outKeys(t, db)
	if _, ok := keys["d1"]; !ok {
		t.Errorf("d1 not queued: %v", keys)
	}
	if _, ok := keys["s1/ann"]; !ok {
		t.Errorf("email to a party not queued: %v", keys)
	}
	st, err := db.ScheduleState(ctx)
	if err != nil || !st.ScannedTo.Equal(clk.Now()) {
		t.Errorf("ScannedTo = %v, %v; want %v", st.ScannedTo, err, clk.Now())
	}
	missed, err := db.Missed(ctx, "U1")
	if err != nil || len(missed) != 1 || missed[0].Key != "m1" {
		t.Errorf("Missed(U1) = %+v, %v", missed, err)
	}

	// The same batch again: refused, nothing written (the mark moved).
	if _, err := db.CommitReminders(ctx, b); casebot.ErrorCode(err) != casebot.ECONFLICT {
		t.Errorf("second commit from a stale mark: err %v, want ECONFLICT", err)
	}
	// From the right mark, the same keys are dropped.
	b.From, b.To = b.To, b.To.Add(time.Minute)
	if n, err := db.CommitReminders(ctx, b); err != nil || n != 0 {
		t.Errorf("recommit = %d, %v; want 0 queued", n, err)
	}
	if d, _ := db.OutboxDepth(ctx); d != 3 {
		t.Errorf("depth after recommit %d, want 3", d)
	}
	// A sent key stays sent: deliver d1, then commit it again.
	id := keys["d1"].ID
	if err := db.OutboxDone(ctx, id); err != nil {
		t.Fatal(err)
	}
	b.From, b.To = b.To, b.To.Add(time.Minute)
	b.Missed = []casebot.MissedReminder{{Key: "d1", User: "U1", What: "already sent"}}
	if n, err := db.CommitReminders(ctx, b); err != nil || n != 0 {
		t.Errorf("commit after delivery = %d, %v; want 0", n, err)
	}
	if missed, _ := db.Missed(ctx, "U1"); len(missed) != 1 {
		t.Errorf("a sent reminder was recorded as missed: %+v", missed)
	}

	// Closing the case cancels everything pending.
	update(t, db, c.ID, "close", func(c *casebot.Case) { c.Status = casebot.StatusSettled })
	b.From, b.To = b.To, b.To.Add(time.Minute)
	b.Reminders = []casebot.Reminder{{CaseID: c.ID, Deadline: 1, Due: due, Msgs: []casebot.OutMessage{msg("d1-after-close", casebot.OutSlack, "U1")}}}
	b.Missed = nil
	if n, err := db.CommitReminders(ctx, b); err != nil || n != 0 {
		t.Errorf("reminder of a closed case queued: %d, %v", n, err)
	}
}

func TestCommitDigest(t *testing.T) {
	ctx := context.Background()
	db, clk := openTest(t)
	fire := clk.Now()
	missed := casebot.MissedReminder{Key: "rem/x", User: "U1", What: "x", Fire: fire.Add(-48 * time.Hour)}
	if _, err := db.CommitReminders(ctx, casebot.ReminderBatch{To: fire, Missed: []casebot.MissedReminder{missed}}); err != nil {
		t.Fatal(err)
	}
	msg := &casebot.OutMessage{Key: "digest/U1/2026-03-02T08:00", Kind: casebot.OutSlack, To: "U1", Text: "digest"}
	ok, err := db.CommitDigest(ctx, casebot.DigestCommit{User: "U1", Fire: fire, Msg: msg, Clear: []string{"rem/x"}})
	if err != nil || !ok {
		t.Fatalf("CommitDigest = %v, %v", ok, err)
	}
	if m, _ := db.Missed(ctx, "U1"); len(m) != 0 {
		t.Errorf("listed missed entries not cleared: %+v", m)
	}
	st, _ := db.ScheduleState(ctx)
	if got := st.Digests["U1"]; !got.Handled.Equal(fire) || !got.Sent.Equal(clk.Now()) {
		t.Errorf("mark = %+v, want Handled=Sent=%v", got, fire)
	}
	// Again (a restart that rebuilt the same digest): not doubled.
	clk.Advance(time.Minute)
	ok, err = db.CommitDigest(ctx, casebot.DigestCommit{User: "U1", Fire: fire, Msg: msg})
	if err != nil || ok {
		t.Errorf("second CommitDigest = %v, %v; want false", ok, err)
	}
	if d, _ := db.OutboxDepth(ctx); d != 1 {
		t.Errorf("depth %d, want 1", d)
	}
	// An empty digest moves only Handled.
	later := fire.Add(24 * time.Hour)
	if ok, err := db.CommitDigest(ctx, casebot.DigestCommit{User: "U1", Fire: later}); err != nil || ok {
		t.Errorf("empty CommitDigest = %v, %v", ok, err)
	}
	st, _ = db.ScheduleState(ctx)
	if got := st.Digests["U1"]; !got.Handled.Equal(later) || !got.Sent.Equal(fire) {
		t.Errorf("mark after empty digest = %+v", got)
	}
}

func TestNotesSinceReadsNoBodies(t *testing.T) {
	ctx := context.Background()
	key := make([]byte, 32)
	clk := newClock()
	db := openAt(t, filepath.Join(t.TempDir(), "c.db"), clk, Options{EncryptionKey: key})
	c := newCase(t, db, "Fence", "U1")
	add := func(src casebot.NoteSource) {
		if _, err := db.AddNote(ctx, &casebot.Note{CaseID: c.ID, Author: "a@example.com", Source: src, Body: "secret"}, casebot.Change{Actor: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	add(casebot.SourceEmail)
	clk.Advance(time.Hour)
	since := clk.Now()
	add(casebot.SourceEmail)
	clk.Advance(time.Minute)
	add(casebot.SourceSlack)
	got, err := db.NotesSince(ctx, since)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].N != 2 || got[0].Source != casebot.SourceEmail || got[1].N != 3 {
		t.Errorf("NotesSince = %+v, want notes 2 (email) and 3", got)
	}
}

func TestEachDeadlineFromStopsEarly(t *testing.T) {
	ctx := context.Background()
	db, clk := openTest(t)
	c := newCase(t, db, "Fence", "U1")
	update(t, db, c.ID, "plan", func(c *casebot.Case) {
		for i := 1; i <= 5; i++ {
			c.Deadlines = append(c.Deadlines, casebot.Deadline{N: i, Due: clk.Now().Add(time.Duration(i) * time.Hour)})
			c.Sessions = append(c.Sessions, casebot.Session{N: i, Start: clk.Now().Add(time.Duration(i) * time.Hour), Duration: time.Hour})
		}
	})
	var seen []int
	err := db.EachDeadlineFrom(ctx, clk.Now().Add(2*time.Hour), func(r casebot.DeadlineRef) bool {
		seen = append(seen, r.Deadline.N)
		return len(seen) < 2
	})
	if err != nil || len(seen) != 2 || seen[0] != 2 || seen[1] != 3 {
		t.Errorf("EachDeadlineFrom saw %v, %v; want [2 3]", seen, err)
	}
	var first int
	if err := db.EachSessionFrom(ctx, clk.Now().Add(150*time.Minute), func(r casebot.SessionRef) bool { first = r.Session.N; return false }); err != nil || first != 3 {
		t.Errorf("EachSessionFrom first = %d, %v; want 3", first, err)
	}
}

func TestImportCases(t *testing.T) {
	ctx := context.Background()
	db, clk := openTest(t)
	due := clk.Now().Add(day)
	cs := []*casebot.Case{
		{ID: "MED-2026-0007", Title: "A", Mediator: "U1", Priority: casebot.PriorityHigh, Status: casebot.StatusActive,
			Deadlines: []casebot.Deadline{{N: 1, Due: due, Text: "x"}}},
		{ID: "MED-2026-0008", Title: "B", Mediator: "U2", Priority: casebot.PriorityLow, Status: casebot.StatusIntake},
	}
	if err := db.ImportCases(ctx, cs, "import"); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, db, "import")
	if ds, err := db.DeadlinesBetween(ctx, due, due.Add(time.Second)); err != nil || len(ds) != 1 || ds[0].CaseID != "MED-2026-0007" {
		t.Errorf("imported deadline not indexed: %+v, %v", ds, err)
	}
	if err := db.ImportCases(ctx, cs[1:], "import"); casebot.ErrorCode(err) != casebot.ECONFLICT {
		t.Errorf("re-import: %v, want ECONFLICT", err)
	}
	// A new case does not take an imported ID.
	if c := newCase(t, db, "C", "U1"); c.ID == "MED-2026-0007" || c.ID == "MED-2026-0008" {
		t.Errorf("new case got imported ID %s", c.ID)
	}
}

const day = 24 * time.Hour
