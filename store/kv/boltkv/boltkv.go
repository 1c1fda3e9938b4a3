// Package boltkv is the kv engine over one bbolt file: casebot's default,
// embedded store. Its transactions are bbolt's, one writer at a time, so
// it never needs retries; fences always pass (one process holds the file).
package boltkv

import (
	"context"

	"github.com/casebot/casebot/store/kv"
	bolt "go.etcd.io/bbolt"
)

// Engine is a kv.Engine over an open bbolt database.
type Engine struct{ db *bolt.DB }

var _ kv.Engine = (*Engine)(nil)

// New wraps an open bbolt database; Close closes it.
func New(db *bolt.DB) *Engine { return &Engine{db: db} }

// DB returns the bbolt database, for what only bbolt does (hot backups).
func (e *Engine) DB() *bolt.DB { return e.db }

// View implements kv.Engine.
func (e *Engine) View(ctx context.Context, fn func(kv.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return e.db.View(func(tx *bolt.Tx) error { return fn(wrap(tx)) })
}

// Update implements kv.Engine.
func (e *Engine) Update(ctx context.Context, fn func(kv.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return e.db.Update(func(tx *bolt.Tx) error { return fn(wrap(tx)) })
}

// Batch implements kv.Engine with bbolt's Batch.
func (e *Engine) Batch(ctx context.Context, fn func(kv.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return e.db.Batch(func(tx *bolt.Tx) error { return fn(wrap(tx)) })
}

// Writes implements kv.Engine: the pages bbolt has written.
func (e *Engine) Writes() int64 {
	st := e.db.Stats()
	return st.TxStats.GetWrite()
}

// Close implements kv.Engine.
func (e *Engine) Close() error { return e.db.Close() }

// Tx is a kv.Tx over a bbolt transaction.
type Tx struct {
	tx *bolt.Tx
	// buckets caches the wrappers handed out, so repeated lookups of the
	// same bucket in one transaction allocate nothing.
	buckets map[string]*Bucket
}

func wrap(tx *bolt.Tx) *Tx { return &Tx{tx: tx} }

// Bolt returns the bbolt transaction.
func (t *Tx) Bolt() *bolt.Tx { return t.tx }

func (t *Tx) wrapBucket(name []byte, b *bolt.Bucket) *Bucket {
	if t.buckets == nil {
		t.buckets = make(map[string]*Bucket, 8)
	}
	w := &Bucket{b: b}
	t.buckets[string(name)] = w
	return w
}

// Bucket implements kv.Tx.
func (t *Tx) Bucket(name []byte) kv.Bucket {
	if w, ok := t.buckets[string(name)]; ok {
		return w
	}
	b := t.tx.Bucket(name)
	if b == nil {
		return nil
	}
	return t.wrapBucket(name, b)
}

// CreateBucket implements kv.Tx.
func (t *Tx) CreateBucket(name []byte) (kv.Bucket, error) {
	b, err := t.tx.CreateBucket(name)
	if err == bolt.ErrBucketExists {
		return nil, kv.ErrBucketExists
	} else if err != nil {
		return nil, err
	}
	return t.wrapBucket(name, b), nil
}

// CreateBucketIfNotExists implements kv.Tx.
func (t *Tx) CreateBucketIfNotExists(name []byte) (kv.Bucket, error) {
	if w, ok := t.buckets[string(name)]; ok {
		return w, nil
	}
	b, err := t.tx.CreateBucketIfNotExists(name)
	if err != nil {
		return nil, err
	}
	return t.wrapBucket(name, b), nil
}

// DeleteBucket implements kv.Tx.
func (t *Tx) DeleteBucket(name []byte) error {
	delete(t.buckets, string(name))
	err := t.tx.DeleteBucket(name)
	if err == bolt.ErrBucketNotFound {
		return kv.ErrBucketNotFound
	}
	return err
}

// ForEachBucket implements kv.Tx.
func (t *Tx) ForEachBucket(fn func(name []byte) error) error {
	return t.tx.ForEach(func(name []byte, _ *bolt.Bucket) error { return fn(name) })
}

// Writable implements kv.Tx.
func (t *Tx) Writable() bool { return t.tx.Writable() }

// Bucket is a kv.Bucket over a bbolt bucket.
type Bucket struct{ b *bolt.Bucket }

// Get implements kv.Bucket.
func (b *Bucket) Get(key []byte) []byte { return b.b.Get(key) }

// Put implements kv.Bucket.
func (b *Bucket) Put(key, value []byte) error { return b.b.Put(key, value) }

// PutNew implements kv.Bucket: bbolt's Put finds the key's place in any
// case.
func (b *Bucket) PutNew(key, value []byte) error { return b.b.Put(key, value) }

// Delete implements kv.Bucket.
func (b *Bucket) Delete(key []byte) error { return b.b.Delete(key) }

// Cursor implements kv.Bucket.
func (b *Bucket) Cursor() kv.Cursor { return b.b.Cursor() }

// ForEach implements kv.Bucket.
func (b *Bucket) ForEach(fn func(k, v []byte) error) error { return b.b.ForEach(fn) }

// NextSequence implements kv.Bucket.
func (b *Bucket) NextSequence() (uint64, error) { return b.b.NextSequence() }

// Sequence implements kv.Bucket.
func (b *Bucket) Sequence() uint64 { return b.b.Sequence() }

// SetSequence implements kv.Bucket.
func (b *Bucket) SetSequence(v uint64) error { return b.b.SetSequence(v) }

// KeyN implements kv.Bucket.
func (b *Bucket) KeyN() int { return b.b.Stats().KeyN }

// AppendMostly implements kv.Bucket: pages fill to 95% before they split
// (bbolt splits at 50% by default, leaving an append-only bucket's pages
// half empty).
func (b *Bucket) AppendMostly() { b.b.FillPercent = 0.95 }
