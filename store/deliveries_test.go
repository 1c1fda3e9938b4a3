package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/casebot/casebot/store/kv"
)

// A delivery key is first once within its ttl, also after the store is
// closed and opened again (a daemon restart); after the ttl it is first
// again, and expired keys are pruned.
func TestFirstDeliveryAcrossRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "casebot.db")
	clk := newClock()
	db := openAt(t, path, clk, Options{})
	const ttl = time.Hour
	first := func(db *DB, key string) bool {
		t.Helper()
		ok, err := db.FirstDelivery(ctx, key, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !first(db, "event:Ev1") {
		t.Fatal("a new key is not first")
	}
	if first(db, "event:Ev1") {
		t.Error("a repeated key is first again")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	clk.Advance(10 * time.Minute)
	db = openAt(t, path, clk, Options{})
	if first(db, "event:Ev1") {
		t.Error("after a restart, a repeated key is first again")
	}
	if !first(db, "event:Ev2") {
		t.Error("another key is not first")
	}
	for i := range 50 {
		first(db, fmt.Sprintf("event:Old%d", i))
	}
	clk.Advance(2 * ttl)
	if !first(db, "event:Ev1") {
		t.Error("a key older than its ttl is not first again")
	}
	var left int
	if err := db.testView(func(tx kv.Tx) error {
		return tx.Bucket(bucketDeliveries).ForEach(func(k, v []byte) error { left++; return nil })
	}); err != nil {
		t.Fatal(err)
	}
	if left != 2 { // Ev1 again and the prune mark
		t.Errorf("%d entries after pruning, want 2", left)
	}
	if _, err := db.FirstDelivery(ctx, "", ttl); err == nil {
		t.Error("an empty key was accepted")
	}
}
