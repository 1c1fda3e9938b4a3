package pgkv

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/casebot/casebot/store/kv"
)

// A transaction that writes more than flushAhead sends rows ahead of its
// commit; it still reads its own writes (Gets, cursors, KeyN) as they are
// when read, later writes of flushed keys win, buckets it deletes after
// a flush lose their rows (one it created too), and a transaction that
// fails after a flush leaves nothing.
func TestFlushAhead(t *testing.T) {
	e := openTest(t)
	mustUpdate(t, e, func(tx kv.Tx) error {
		b, err := tx.CreateBucket([]byte("b"))
		if err != nil {
			return err
		}
		return b.Put(key(0), []byte("before"))
	})
	val := bytes.Repeat([]byte("x"), 1000)
	n := 2 * flushAhead / len(val) // twice flushAhead in each of two buckets: several flushes ahead
	mustUpdate(t, e, func(tx kv.Tx) error {
		b := tx.Bucket([]byte("b"))
		tmp, err := tx.CreateBucket([]byte("tmp"))
		if err != nil {
			return err
		}
		for i := range n {
			if err := b.Put(key(i), val); err != nil {
				return err
			}
			if err := tmp.Put(key(i), val); err != nil {
				return err
			}
		}
		if !tx.(*Tx).names["b"].ahead {
			t.Fatal("nothing was flushed ahead")
		}
		// Later writes of flushed keys.
		_ = b.Put(key(1), []byte("again"))
		_ = b.Delete(key(2))
		if got := b.Get(key(1)); string(got) != "again" || b.Get(key(2)) != nil {
			t.Errorf("own writes after a flush: %q, %q", got, b.Get(key(2)))
		}
		if k := b.KeyN(); k != n-1 {
			t.Errorf("KeyN after a flush = %d, want %d", k, n-1)
		}
		count := 0
		c := b.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			count++
		}
		if count != n-1 {
			t.Errorf("cursor after a flush: %d keys, want %d", count, n-1)
		}
		// A bucket created and flushed, then deleted; another deleted
		// and created again.
		if err := tx.DeleteBucket([]byte("tmp")); err != nil {
			return err
		}
		if err := tx.DeleteBucket([]byte("b")); err != nil {
			return err
		}
		b2, err := tx.CreateBucket([]byte("b"))
		if err != nil {
			return err
		}
		return b2.Put([]byte("only"), []byte("1"))
	})
	_ = e.View(ctx, func(tx kv.Tx) error {
		if tx.Bucket([]byte("tmp")) != nil {
			t.Error("a deleted bucket exists")
		}
		b := tx.Bucket([]byte("b"))
		if k := b.KeyN(); k != 1 || string(b.Get([]byte("only"))) != "1" {
			t.Errorf("recreated bucket: %d keys", k)
		}
		return nil
	})
	var orphans int
	if err := e.Pool().QueryRow(ctx, `SELECT count(*) FROM kv WHERE bucket = 'tmp'`).Scan(&orphans); err != nil || orphans != 0 {
		t.Errorf("rows of a deleted bucket: %d (%v)", orphans, err)
	}
	// A failing transaction, after flushes, leaves nothing.
	err := e.Update(ctx, func(tx kv.Tx) error {
		b := tx.Bucket([]byte("b"))
		for i := range n {
			_ = b.Put(key(i), val)
		}
		return fmt.Errorf("changed my mind")
	})
	if err == nil {
		t.Fatal("a failing function committed")
	}
	_ = e.View(ctx, func(tx kv.Tx) error {
		if k := tx.Bucket([]byte("b")).KeyN(); k != 1 {
			t.Errorf("after a failed transaction with flushes: %d keys, want 1", k)
		}
		return nil
	})
	// The connection is clean for the next transaction.
	mustUpdate(t, e, func(tx kv.Tx) error { return tx.Bucket([]byte("b")).Put([]byte("next"), []byte("1")) })
}
