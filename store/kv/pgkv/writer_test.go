package pgkv

import (
	"context"
	"testing"
	"time"

	"github.com/casebot/casebot/store/kv"
)

// Write transactions have a connection of their own: a write commits while
// every connection of the pool is held by readers.
func TestWriterNotBehindReaders(t *testing.T) {
	u := testURL(t) + "&pool_max_conns=1"
	e := openURL(t, u, Options{})
	mustUpdate(t, e, func(tx kv.Tx) error { _, err := tx.CreateBucket([]byte("b")); return err })
	hold, held := make(chan struct{}), make(chan struct{})
	go func() {
		_ = e.View(ctx, func(kv.Tx) error { close(held); <-hold; return nil })
	}()
	<-held
	defer close(hold)
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := e.Update(c, func(tx kv.Tx) error { return tx.Bucket([]byte("b")).Put(key(1), []byte("v")) }); err != nil {
		t.Fatalf("Update while the pool's one connection is held: %v", err)
	}
}
