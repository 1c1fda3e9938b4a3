package store

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// The in-flight mark outlives a failed attempt and a reopen (a crash), and
// goes with the message when it is done or dead.
func TestOutboxBegin(t *testing.T) {
	path := filepath.Join(t.TempDir(), "inflight.db")
	clk := newClock()
	db := openAt(t, path, clk, Options{})
	ctx := context.Background()
	if err := db.Enqueue(ctx,
		casebot.OutMessage{Key: "k1", Kind: casebot.OutSlack, To: "U1", Text: "one"},
		casebot.OutMessage{Key: "k2", Kind: casebot.OutSlack, To: "U2", Text: "two"}); err != nil {
		t.Fatal(err)
	}
	begin := func(id uint64, want bool) {
		t.Helper()
		got, err := db.OutboxBegin(ctx, id)
		if err != nil || got != want {
			t.Fatalf("OutboxBegin(%d) = %v, %v; want %v", id, got, err, want)
		}
	}
	begin(1, false)
	begin(1, true)
	begin(2, false)
	if err := db.OutboxRetry(ctx, 2, clk.Now(), "timeout"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, path, clk, Options{})
	begin(2, true) // a failed attempt may still have arrived
	if err := db.OutboxDone(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := db.OutboxDead(ctx, 2, "gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.OutboxBegin(ctx, 1); casebot.ErrorCode(err) != casebot.ENOTFOUND {
		t.Fatalf("OutboxBegin(done) = %v, want ENOTFOUND", err)
	}
	err := db.testView(func(tx kv.Tx) error {
		if n := tx.Bucket(bucketInFlight).KeyN(); n != 0 {
			t.Errorf("%d in-flight marks left, want 0", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, db, "begin, retry, done, dead")
}
