// Package kv is the narrow transactional key-value seam under casebot's
// store: ordered buckets of byte keys, range scans through cursors,
// per-bucket sequences, and read and write transactions. The store's logic
// (records, indexes, audit, outbox, intake and scheduler state, documents,
// aggregates, search postings) is written once over these interfaces; an
// engine implements them: bbolt (package boltkv, one embedded file) or
// PostgreSQL (package pgkv, several instances on one database). This is how
// HashiCorp Vault's physical backends and etcd's backend are built.
//
// The rules are bbolt's, which every engine keeps:
//   - keys within a bucket are ordered bytewise;
//   - a value returned by Get or a cursor is valid only until the
//     transaction ends and must not be modified;
//   - a write transaction sees its own writes, cursors included;
//   - a function given to Batch may run more than once and must depend only
//     on its transaction;
//   - a transaction's function that returns an error rolls it back.
//
// Engines that can fail mid-transaction (a network) record the first such
// failure in the transaction; the engine then returns it from View, Update
// or Batch in place of whatever the function returned, and never commits.
package kv

import (
	"context"
	"errors"
)

// Engine runs transactions over one store.
type Engine interface {
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(Tx) error) error
	// Update runs fn in a read-write transaction and commits it when fn
	// returns nil. Engines that detect conflicts between concurrent
	// transactions retry fn; fn must depend only on its transaction.
	Update(ctx context.Context, fn func(Tx) error) error
	// Batch is Update that may coalesce concurrent callers into one
	// commit; fn may run more than once.
	Batch(ctx context.Context, fn func(Tx) error) error
	// Writes is a running count of the engine's units of written data
	// (bbolt: pages; PostgreSQL: the 8 KiB pages its rows fill), for
	// callers that bound the size of their transactions by what one costs.
	Writes() int64
	// Close releases the engine after open transactions finish.
	Close() error
}

// Tx is one transaction.
type Tx interface {
	// Bucket returns the named bucket, or nil when it does not exist.
	Bucket(name []byte) Bucket
	// CreateBucket creates the named bucket; it fails when it exists.
	CreateBucket(name []byte) (Bucket, error)
	// CreateBucketIfNotExists returns the named bucket, creating it.
	CreateBucketIfNotExists(name []byte) (Bucket, error)
	// DeleteBucket removes the named bucket, its keys and its sequence.
	DeleteBucket(name []byte) error
	// ForEachBucket calls fn with the name of every bucket, in order.
	ForEachBucket(fn func(name []byte) error) error
	// Writable reports whether the transaction may write.
	Writable() bool
}

// Bucket is an ordered collection of keys and values.
type Bucket interface {
	// Get returns the key's value, or nil when the key is absent.
	Get(key []byte) []byte
	// Put sets the key's value. Neither may be modified while the
	// transaction lasts.
	Put(key, value []byte) error
	// PutNew is Put for a key the caller believes absent: one made from
	// a fresh sequence number, or just seen absent. An engine may insert
	// it without first looking for an existing key (PostgreSQL's plain
	// INSERT costs less than an upsert). Should the key be there after
	// all, the value still replaces it, as Put's would: the engine finds
	// out at the commit and runs the transaction again with every PutNew
	// taken as Put.
	PutNew(key, value []byte) error
	// Delete removes the key; an absent key is no error.
	Delete(key []byte) error
	// Cursor returns a cursor over the bucket's keys.
	Cursor() Cursor
	// ForEach calls fn for every key in order; an error stops it.
	ForEach(fn func(k, v []byte) error) error
	// NextSequence increments the bucket's sequence and returns it.
	NextSequence() (uint64, error)
	// Sequence returns the bucket's sequence.
	Sequence() uint64
	// SetSequence sets the bucket's sequence.
	SetSequence(v uint64) error
	// KeyN counts the bucket's keys.
	KeyN() int
	// AppendMostly tells the engine that keys are mostly added at the
	// bucket's end (bbolt then fills pages before splitting them).
	AppendMostly()
}

// Cursor walks a bucket's keys in order. Each move returns the key and
// value it lands on, or a nil key past either end.
type Cursor interface {
	First() (key, value []byte)
	Last() (key, value []byte)
	Next() (key, value []byte)
	Prev() (key, value []byte)
	// Seek moves to the first key at or after seek.
	Seek(seek []byte) (key, value []byte)
}

// Errors engines return.
var (
	// ErrBucketExists is CreateBucket's error for an existing bucket.
	ErrBucketExists = errors.New("kv: bucket already exists")
	// ErrBucketNotFound is DeleteBucket's error for a missing bucket.
	ErrBucketNotFound = errors.New("kv: bucket not found")
	// ErrTxNotWritable is returned by writes in a read-only transaction.
	ErrTxNotWritable = errors.New("kv: transaction not writable")
	// ErrFenced is the error of a transaction whose fencing token is no
	// longer the lease's: its writer lost the lease, and nothing of the
	// transaction was committed.
	ErrFenced = errors.New("kv: fenced: this instance no longer holds the leader lease")
	// ErrUnavailable wraps failures to reach the engine's database.
	ErrUnavailable = errors.New("store unavailable")
)

// Fence is a lease's fencing token. A write transaction run with a
// context carrying a Fence commits only while the lease named Name is
// still held with Token; otherwise it fails with ErrFenced.
type Fence struct {
	Name  string
	Token int64
}

type fenceKey struct{}

// WithFence returns ctx carrying f; every write transaction run with the
// returned context checks it.
func WithFence(ctx context.Context, f Fence) context.Context {
	return context.WithValue(ctx, fenceKey{}, f)
}

// FenceFrom returns the fence ctx carries, if any.
func FenceFrom(ctx context.Context) (Fence, bool) {
	f, ok := ctx.Value(fenceKey{}).(Fence)
	return f, ok
}
