package pgkv

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/casebot/casebot/store/kv"
)

// PutNew inserts without ON CONFLICT; a key that is there after all makes
// the transaction run again with PutNew as Put, and nothing of the first
// run stays: the value is replaced, the other writes land once.
func TestPutNew(t *testing.T) {
	e := openTest(t)
	mustUpdate(t, e, func(tx kv.Tx) error {
		b, _ := tx.CreateBucket([]byte("n"))
		return b.Put([]byte("old"), []byte("1"))
	})
	get := func(key string) []byte {
		var v []byte
		_ = e.View(ctx, func(tx kv.Tx) error {
			v = bytes.Clone(tx.Bucket([]byte("n")).Get([]byte(key)))
			return nil
		})
		return v
	}

	// Absent keys: inserted, no second run.
	runs := 0
	mustUpdate(t, e, func(tx kv.Tx) error {
		runs++
		b := tx.Bucket([]byte("n"))
		if err := b.PutNew([]byte("new"), []byte("a")); err != nil {
			return err
		}
		// Written earlier in the transaction: upserted as Put's.
		if err := b.Put([]byte("twice"), []byte("x")); err != nil {
			return err
		}
		if err := b.PutNew([]byte("twice"), []byte("y")); err != nil {
			return err
		}
		// Deleted earlier in the transaction: its row is still there
		// when the insert would run.
		if err := b.Delete([]byte("old")); err != nil {
			return err
		}
		return b.PutNew([]byte("old"), []byte("2"))
	})
	if runs != 1 || e.FreshClashes() != 0 {
		t.Errorf("%d runs, %d clashes; want 1 run and none", runs, e.FreshClashes())
	}
	for k, want := range map[string]string{"new": "a", "twice": "y", "old": "2"} {
		if got := get(k); string(got) != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}

	// A key that is there: the run is redone with Put, once.
	runs = 0
	var seqs []uint64
	mustUpdate(t, e, func(tx kv.Tx) error {
		runs++
		b := tx.Bucket([]byte("n"))
		s, err := b.NextSequence()
		if err != nil {
			return err
		}
		seqs = append(seqs, s)
		if err := b.PutNew(fmt.Appendf(nil, "seq%d", s), []byte("s")); err != nil {
			return err
		}
		return b.PutNew([]byte("new"), []byte("b"))
	})
	if runs != 2 || e.FreshClashes() != 1 {
		t.Errorf("%d runs, %d clashes; want 2 runs and 1 clash", runs, e.FreshClashes())
	}
	if got := get("new"); string(got) != "b" {
		t.Errorf("new = %q, want the second value", got)
	}
	if len(seqs) != 2 || seqs[0] != seqs[1] {
		t.Errorf("sequences of the two runs: %v, want the same one twice (the first run rolled back)", seqs)
	}
	if get(fmt.Sprintf("seq%d", seqs[0])) == nil {
		t.Error("the rerun's own new key is missing")
	}

	// The clash is in rows sent ahead of the commit (flush.go).
	runs = 0
	big := bytes.Repeat([]byte("v"), 4096)
	mustUpdate(t, e, func(tx kv.Tx) error {
		runs++
		b := tx.Bucket([]byte("n"))
		if err := b.PutNew([]byte("new"), []byte("c")); err != nil {
			return err
		}
		for i := range 2 * flushAhead / len(big) {
			if err := b.PutNew(fmt.Appendf(nil, "big%05d", i), big); err != nil {
				return err
			}
		}
		return nil
	})
	if runs != 2 || e.FreshClashes() != 2 {
		t.Errorf("%d runs, %d clashes in all; want 2 runs and 2 clashes", runs, e.FreshClashes())
	}
	if got := get("new"); string(got) != "c" {
		t.Errorf("new = %q, want the third value", got)
	}
	var n int
	_ = e.View(ctx, func(tx kv.Tx) error { n = tx.Bucket([]byte("n")).KeyN(); return nil })
	if want := 4 + 2*flushAhead/len(big); n != want { // old, new, twice, seq1 and the big ones
		t.Errorf("%d keys, want %d", n, want)
	}
}
