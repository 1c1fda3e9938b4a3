package kv

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
