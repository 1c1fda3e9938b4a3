package pgkv

import (
	"testing"

	"github.com/casebot/casebot/store/kv"
)

// Writes counts 8 KiB pages of written rows: at least one for a
// transaction that wrote, none for one that did not, and about a page per
// 8 KiB of keys and values.
func TestWritesCountsPages(t *testing.T) {
	e := openTest(t)
	mustUpdate(t, e, func(tx kv.Tx) error { _, err := tx.CreateBucket([]byte("b")); return err })
	w0 := e.Writes()
	mustUpdate(t, e, func(tx kv.Tx) error { return tx.Bucket([]byte("b")).Put(key(1), []byte("v")) })
	if got := e.Writes() - w0; got != 1 {
		t.Errorf("one small row: %d pages, want 1", got)
	}
	w0 = e.Writes()
	mustUpdate(t, e, func(tx kv.Tx) error { tx.Bucket([]byte("b")).Get(key(1)); return nil })
	if got := e.Writes() - w0; got != 0 {
		t.Errorf("a transaction that wrote nothing: %d pages", got)
	}
	w0 = e.Writes()
	mustUpdate(t, e, func(tx kv.Tx) error {
		for i := range 100 {
			if err := tx.Bucket([]byte("b")).Put(key(i), make([]byte, 1000)); err != nil {
				return err
			}
		}
		return nil
	})
	if got := e.Writes() - w0; got < 12 || got > 14 {
		t.Errorf("100 rows of 1000 bytes: %d pages, want about 13", got)
	}
}
