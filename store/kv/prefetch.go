package kv

import "context"

// Prefetcher is a Bucket that can read many keys at once: an engine over
// a network (PostgreSQL) reads them in one round trip and answers the
// transaction's later Gets of them from memory. bbolt's buckets, which
// read from memory anyway, are not Prefetchers.
type Prefetcher interface {
	// Prefetch reads keys (in any order; duplicates allowed) so that Get
	// of each answers without a round trip. A failure is the
	// transaction's, as for Get.
	Prefetch(keys [][]byte)
}

// Prefetch reads keys of b in one go when its engine can (Prefetcher),
// before a loop that Gets each of them; elsewhere it does nothing.
func Prefetch(b Bucket, keys [][]byte) {
	if p, ok := b.(Prefetcher); ok && len(keys) > 0 {
		p.Prefetch(keys)
	}
}

// Key names a key of a bucket.
type Key struct{ Bucket, Key []byte }

// Seek names a cursor walk forward from Key in Bucket, of about Keys keys
// (0 for a few).
type Seek struct {
	Bucket, Key []byte
	Keys        int
}

// Reads names what a transaction's function is going to read: keys it
// will Get, buckets whose sequence it will use (NextSequence, Sequence),
// and keys it will Seek a cursor to before walking forward (the engine
// reads the first keys from there, as many as the Seek says). An engine over a network (PostgreSQL) reads them together
// with the start of the transaction, in the same round trip, and answers
// the function's Gets and sequences from memory; bbolt ignores them. They
// are only hints: the function reads as it would without them, its own
// writes still win, and a key named but not read costs only its read.
type Reads struct {
	Keys      []Key
	Sequences [][]byte
	Seeks     []Seek
}

// Add appends what o names to r.
func (r *Reads) Add(o Reads) {
	r.Keys = append(r.Keys, o.Keys...)
	r.Sequences = append(r.Sequences, o.Sequences...)
	r.Seeks = append(r.Seeks, o.Seeks...)
}

type readsKey struct{}

// WithReads returns ctx carrying r, in place of any Reads ctx carried:
// the transactions run with the returned context read r at their start.
// A Batch gathers the Reads of every caller it coalesces.
func WithReads(ctx context.Context, r Reads) context.Context {
	return context.WithValue(ctx, readsKey{}, r)
}

// ReadsFrom returns the Reads ctx carries, if any.
func ReadsFrom(ctx context.Context) Reads {
	r, _ := ctx.Value(readsKey{}).(Reads)
	return r
}
