package pgkv

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/casebot/casebot/store/kv"
)

// trips returns the engine's round trips so far.
func trips(e *Engine) int64 { n, _ := e.RoundTrips(); return n }

// fillReads makes bucket b with keys k00000..k00039 (values "v<i>"), an
// empty value under "empty", sequence 7, and bucket c with key k00001.
func fillReads(t *testing.T, e *Engine) {
	t.Helper()
	mustUpdate(t, e, func(tx kv.Tx) error {
		b, err := tx.CreateBucket([]byte("b"))
		if err != nil {
			return err
		}
		for i := range 40 {
			_ = b.Put(key(i), fmt.Appendf(nil, "v%d", i))
		}
		_ = b.Put([]byte("empty"), nil)
		if err := b.SetSequence(7); err != nil {
			return err
		}
		c, err := tx.CreateBucket([]byte("c"))
		if err != nil {
			return err
		}
		return c.Put(key(1), []byte("c1"))
	})
}

// The keys, sequences and seeks a transaction names are read with its
// start, in one round trip, and answer its Gets, sequences and cursors
// without another; present, absent and empty keys alike, in either kind of
// transaction.
func TestReadsAtBegin(t *testing.T) {
	e := openTest(t)
	fillReads(t, e)
	reads := kv.Reads{
		Keys: []kv.Key{
			{Bucket: []byte("b"), Key: key(3)}, {Bucket: []byte("b"), Key: key(99)},
			{Bucket: []byte("b"), Key: []byte("empty")}, {Bucket: []byte("c"), Key: key(1)},
			{Bucket: []byte("b"), Key: key(3)}, // twice
			{Bucket: []byte("nope"), Key: key(1)},
		},
		Sequences: [][]byte{[]byte("b"), []byte("c"), []byte("nope")},
		Seeks:     []kv.Seek{{Bucket: []byte("b"), Key: key(10)}, {Bucket: []byte("b"), Key: key(0), Keys: 40}},
	}
	check := func(tx kv.Tx) {
		b, c := tx.Bucket([]byte("b")), tx.Bucket([]byte("c"))
		if got := b.Get(key(3)); string(got) != "v3" {
			t.Errorf("Get(k3) = %q", got)
		}
		if got := b.Get(key(99)); got != nil {
			t.Errorf("absent key: %q", got)
		}
		if got := b.Get([]byte("empty")); got == nil || len(got) != 0 {
			t.Errorf("empty value: %#v, want non-nil empty", got)
		}
		if got := c.Get(key(1)); string(got) != "c1" {
			t.Errorf("Get of c: %q", got)
		}
		if tx.Bucket([]byte("nope")) != nil {
			t.Error("a missing bucket named in the reads exists")
		}
		if s := b.Sequence(); s != 7 {
			t.Errorf("Sequence of b = %d, want 7", s)
		}
		if s := c.Sequence(); s != 0 {
			t.Errorf("Sequence of c (no row) = %d, want 0", s)
		}
		cur := b.Cursor()
		i := 10
		for k, v := cur.Seek(key(10)); k != nil && i < 20; k, v = cur.Next() {
			if string(k) != string(key(i)) || string(v) != fmt.Sprintf("v%d", i) {
				t.Fatalf("walk from k10: %q=%q at %d", k, v, i)
			}
			i++
		}
		// A walk named with its length: all of it read at the start.
		all := b.Cursor()
		k, v := all.Seek(key(0))
		for i := range 40 {
			if string(k) != string(key(i)) || string(v) != fmt.Sprintf("v%d", i) {
				t.Fatalf("walk from k0: %q=%q at %d", k, v, i)
			}
			if i < 39 {
				k, v = all.Next()
			}
		}
	}
	for _, write := range []bool{false, true} {
		t.Run(fmt.Sprintf("writable=%v", write), func(t *testing.T) {
			run := e.View
			if write {
				run = e.Update
			}
			before := trips(e)
			err := run(kv.WithReads(ctx, reads), func(tx kv.Tx) error {
				if got := trips(e) - before; got != 1 {
					t.Errorf("begin with reads made %d round trips, want 1", got)
				}
				at := trips(e)
				check(tx)
				if got := trips(e) - at; got != 0 {
					t.Errorf("reads named at the start made %d round trips", got)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A transaction's own writes win over what it read at its start, cursors
// included; a walk past the page read at the start reads on from the
// database, and a bucket deleted and created again in the transaction
// forgets what was read of it.
func TestReadsAndOwnWrites(t *testing.T) {
	e := openTest(t)
	fillReads(t, e)
	reads := kv.Reads{
		Keys:      []kv.Key{{Bucket: []byte("b"), Key: key(3)}, {Bucket: []byte("c"), Key: key(1)}},
		Sequences: [][]byte{[]byte("b")},
		Seeks:     []kv.Seek{{Bucket: []byte("b"), Key: key(0)}, {Bucket: []byte("c"), Key: key(0)}},
	}
	mustUpdate(t, e, func(tx kv.Tx) error {
		return tx.Bucket([]byte("b")).Put(key(5), []byte("v5"))
	})
	err := e.Update(kv.WithReads(ctx, reads), func(tx kv.Tx) error {
		b := tx.Bucket([]byte("b"))
		_ = b.Put(key(3), []byte("own"))
		_ = b.Delete(key(4))
		_ = b.Put(fmt.Appendf(key(6), "x"), []byte("new"))
		if got := b.Get(key(3)); string(got) != "own" {
			t.Errorf("Get after Put = %q", got)
		}
		if n, _ := b.NextSequence(); n != 8 {
			t.Errorf("NextSequence = %d, want 8", n)
		}
		var walk []string
		cur := b.Cursor()
		for k, v := cur.Seek(key(0)); k != nil; k, v = cur.Next() {
			walk = append(walk, string(k)+"="+string(v))
		}
		// 40 keys less k4, plus k6x ("empty" sorts before k0).
		if len(walk) != 40 || walk[3] != "k00003=own" || walk[4] != "k00005=v5" || walk[6] != "k00006x=new" || walk[39] != "k00039=v39" {
			t.Errorf("walk: %d keys, %v", len(walk), walk)
		}
		if err := tx.DeleteBucket([]byte("c")); err != nil {
			return err
		}
		c, err := tx.CreateBucket([]byte("c"))
		if err != nil {
			return err
		}
		if got := c.Get(key(1)); got != nil {
			t.Errorf("a recreated bucket gives what was read before: %q", got)
		}
		if k, _ := c.Cursor().Seek(key(0)); k != nil {
			t.Errorf("a recreated bucket's cursor finds %q", k)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A batch reads what each of its callers named at the start of its one
// transaction.
func TestBatchGathersReads(t *testing.T) {
	e := openURL(t, testURL(t), Options{MaxBatchDelay: time.Second})
	fillReads(t, e)
	const n = 8
	before, txs0 := e.RoundTrips()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			r := kv.Reads{Keys: []kv.Key{{Bucket: []byte("b"), Key: key(i)}}, Sequences: [][]byte{[]byte("b")}}
			errs[i] = e.Batch(kv.WithReads(ctx, r), func(tx kv.Tx) error {
				b := tx.Bucket([]byte("b"))
				if got := b.Get(key(i)); string(got) != fmt.Sprintf("v%d", i) {
					return fmt.Errorf("Get(k%d) = %q", i, got)
				}
				_, err := b.NextSequence()
				return err
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
	got, txs := e.RoundTrips()
	// Each transaction: its start, with every call's reads, and its commit.
	if trips, txs := got-before, txs-txs0; trips != 2*txs || txs > n {
		t.Errorf("%d round trips in %d transactions for %d batched calls, want 2 a transaction", trips, txs, n)
	}
	_ = e.View(ctx, func(tx kv.Tx) error {
		if s := tx.Bucket([]byte("b")).Sequence(); s != 7+n {
			t.Errorf("sequence %d after %d batched increments, want %d", s, n, 7+n)
		}
		return nil
	})
}
