package store

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

func TestOutbox(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	clk := newClock()
	db := openAt(t, path, clk, Options{})
	ctx := context.Background()
	now := clk.Now()
	msg := func(key, to string) casebot.OutMessage {
		return casebot.OutMessage{Key: key, Kind: casebot.OutSlack, To: to, Text: "about " + key}
	}
	if err := db.Enqueue(ctx, msg("a1", "U1"), msg("b1", "U2"), msg("a2", "U1"), msg("c1", "U3")); err != nil {
		t.Fatal(err)
	}
	// The same keys again, pending: no-ops.
	if err := db.Enqueue(ctx, msg("a1", "U1"), msg("b1", "U2")); err != nil {
		t.Fatal(err)
	}
	keys := func(ms []casebot.OutMessage) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Key)
		}
		return out
	}
	due := func(at time.Time, limit int) []casebot.OutMessage {
		t.Helper()
		ms, err := db.OutboxDue(ctx, at, limit)
		if err != nil {
			t.Fatal(err)
		}
		return ms
	}
	if d, _ := db.OutboxDepth(ctx); d != 4 {
		t.Fatalf("depth %d, want 4", d)
	}
	got := due(now, 0)
	if !slices.Equal(keys(got), []string{"a1", "b1", "c1"}) || got[0].Created != now || got[0].NextTry != now || got[0].Text != "about a1" {
		t.Fatalf("due = %+v, want a1 b1 c1 (a2 waits behind a1)", got)
	}
	if !slices.Equal(keys(due(now, 2)), []string{"a1", "b1"}) {
		t.Errorf("limit 2: %v", keys(due(now, 2)))
	}
	// a1 fails: U1's queue waits for it; a2 is not sent ahead of it.
	a1 := got[0]
	if err := db.OutboxRetry(ctx, a1.ID, now.Add(time.Minute), "slack down"); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys(due(now, 0)), []string{"b1", "c1"}) {
		t.Errorf("after retry: %v", keys(due(now, 0)))
	}
	if next, ok, err := db.OutboxNext(ctx); err != nil || !ok || !next.Equal(now) {
		t.Errorf("OutboxNext = %s %v %v, want %s", next, ok, err, now)
	}
	for _, m := range got[1:] {
		if err := db.OutboxDone(ctx, m.ID); err != nil {
			t.Fatal(err)
		}
	}
	if next, ok, _ := db.OutboxNext(ctx); !ok || !next.Equal(now.Add(time.Minute)) {
		t.Errorf("OutboxNext = %s, want a1's retry at %s", next, now.Add(time.Minute))
	}
	later := due(now.Add(time.Minute), 0)
	if len(later) != 1 || later[0].Key != "a1" || later[0].Attempts != 1 || later[0].LastError != "slack down" {
		t.Fatalf("later = %+v", later)
	}
	if err := db.OutboxDone(ctx, a1.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.OutboxDone(ctx, a1.ID); casebot.ErrorCode(err) != casebot.ENOTFOUND {
		t.Errorf("second Done: %v", err)
	}
	// Delivered keys stay known across a reopen: enqueuing them again does nothing.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, path, clk, Options{})
	if err := db.Enqueue(ctx, msg("a1", "U1"), msg("b1", "U2"), msg("c1", "U3")); err != nil {
		t.Fatal(err)
	}
	rest := due(now.Add(time.Hour), 0)
	if !slices.Equal(keys(rest), []string{"a2"}) || rest[0].ID <= a1.ID {
		t.Fatalf("after reopen: %+v, want only a2", rest)
	}
	if err := db.OutboxDone(ctx, rest[0].ID); err != nil {
		t.Fatal(err)
	}
	if d, _ := db.OutboxDepth(ctx); d != 0 {
		t.Errorf("depth %d, want 0", d)
	}
	if _, ok, _ := db.OutboxNext(ctx); ok {
		t.Error("OutboxNext reports a message in an empty outbox")
	}
}

func TestOutboxWithChange(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	c, err := db.CreateCase(ctx, &casebot.Case{Title: "t", Mediator: "U1"}, casebot.Change{Actor: "U1",
		Outbox: []casebot.OutMessage{{Key: "new", Kind: casebot.OutEmail, To: "p@example.com", CaseID: "MED-2026-0001", MessageID: "<m1@casebot>", Text: "hi"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := db.CaseForMessageID(ctx, "<m1@casebot>"); err != nil || got != c.ID {
		t.Errorf("CaseForMessageID = %q, %v", got, err)
	}
	if _, err := db.CaseForMessageID(ctx, "<other@x>"); casebot.ErrorCode(err) != casebot.ENOTFOUND {
		t.Errorf("unknown Message-ID: %v", err)
	}
	if d, _ := db.OutboxDepth(ctx); d != 1 {
		t.Errorf("depth %d, want 1", d)
	}
}

func TestOutboxDead(t *testing.T) {
	db, clk := openTest(t)
	ctx := context.Background()
	m := func(key string) casebot.OutMessage {
		return casebot.OutMessage{Key: key, Kind: casebot.OutSlack, To: "UGONE", Text: "secret " + key}
	}
	if err := db.Enqueue(ctx, m("first"), m("second")); err != nil {
		t.Fatal(err)
	}
	due, _ := db.OutboxDue(ctx, clk.Now(), 0)
	if len(due) != 1 || due[0].Key != "first" {
		t.Fatalf("due = %+v", due)
	}
	if err := db.OutboxDead(ctx, due[0].ID, "user_not_found"); err != nil {
		t.Fatal(err)
	}
	// The recipient's next message is no longer blocked; the dead key stays known.
	if due, _ = db.OutboxDue(ctx, clk.Now(), 0); len(due) != 1 || due[0].Key != "second" {
		t.Fatalf("after dead: %+v", due)
	}
	if err := db.Enqueue(ctx, m("first")); err != nil {
		t.Fatal(err)
	}
	if d, _ := db.OutboxDepth(ctx); d != 1 {
		t.Errorf("depth %d, want 1", d)
	}
	var dead *casebot.OutMessage
	err := db.testView(func(tx kv.Tx) error {
		k, v := tx.Bucket(bucketDead).Cursor().First()
		var err error
		dead, err = db.decodeOut(k, v)
		return err
	})
	if err != nil || dead.Key != "first" || dead.LastError != "user_not_found" || dead.Text != "secret first" {
		t.Errorf("dead letter = %+v, %v", dead, err)
	}
	if err := db.OutboxDead(ctx, 999, "x"); casebot.ErrorCode(err) != casebot.ENOTFOUND {
		t.Errorf("unknown id: %v", err)
	}
}
