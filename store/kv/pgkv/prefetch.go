package pgkv

import (
	"github.com/jackc/pgx/v5"

	"github.com/casebot/casebot/store/kv"
)

// prefetchSQL reads many keys of a bucket in one round trip.
const prefetchSQL = `SELECT key, value FROM kv WHERE bucket = $1 AND key = ANY($2::bytea[])`

var _ kv.Prefetcher = (*Bucket)(nil)

// Prefetch implements kv.Prefetcher: the keys that the transaction has not
// written or read yet are read in one query, and remembered, present or
// absent, as Get remembers what it reads.
func (b *Bucket) Prefetch(keys [][]byte) {
	t := b.tx
	if t.err != nil || b.st.wiped {
		return
	}
	var want [][]byte
	for _, k := range keys {
		if _, ok := b.over.lookup(k); ok {
			continue
		}
		if _, ok := b.cache[string(k)]; ok {
			continue
		}
		want = append(want, k)
	}
	if len(want) == 0 {
		return
	}
	if b.cache == nil {
		b.cache = make(map[string][]byte, len(want))
	}
	t.trip("prefetch", b.name)
	rows, err := t.conn.Query(t.ctx, prefetchSQL, b.name, byteaArray(want))
	if err != nil {
		t.fail(err)
		return
	}
	found := make(map[string][]byte, len(want))
	var k, v []byte
	_, err = pgx.ForEachRow(rows, []any{&k, &v}, func() error {
		if v == nil {
			v = empty
		}
		found[string(k)] = v
		return nil
	})
	if err != nil {
		t.fail(err)
		return
	}
	for _, k := range want {
		b.cache[string(k)] = found[string(k)] // nil: absent
	}
}
