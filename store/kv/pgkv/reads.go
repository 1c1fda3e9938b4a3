package pgkv

import (
	"github.com/jackc/pgx/v5"

	"github.com/casebot/casebot/store/kv"
)

// SQL of the reads a transaction makes at its start (kv.Reads).
const (
	readKeysSQL = `SELECT bucket, key, value FROM kv WHERE (bucket, key) IN (SELECT * FROM unnest($1::bytea[], $2::bytea[]))`
	readSeqsSQL = `SELECT name, value FROM kv_sequences WHERE name = ANY($1::bytea[])`
)

// queueReads queues the queries of r after the transaction's BEGIN, so
// that they share its round trip.
func queueReads(b *pgx.Batch, r kv.Reads) {
	if len(r.Keys) > 0 {
		bs, ks := make([][]byte, len(r.Keys)), make([][]byte, len(r.Keys))
		for i, k := range r.Keys {
			bs[i], ks[i] = k.Bucket, k.Key
		}
		b.Queue(readKeysSQL, byteaArray(bs), byteaArray(ks))
	}
	if len(r.Sequences) > 0 {
		b.Queue(readSeqsSQL, byteaArray(r.Sequences))
	}
	for _, s := range r.Seeks {
		from := s.Key
		if from == nil {
			from = empty
		}
		b.Queue(pageFromSQL, s.Bucket, from, pageBytes, seekKeys(s))
	}
}

// applyReads reads the results of queueReads: each key named in r,
// present or absent, is remembered in its bucket as Get remembers what it
// reads, each sequence is loaded, and the page read from each seek is
// kept for the bucket's cursors. What belongs to buckets that do not exist
// is dropped.
func (t *Tx) applyReads(br pgx.BatchResults, r kv.Reads) error {
	if len(r.Keys) > 0 {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		var bn, k, v []byte
		_, err = pgx.ForEachRow(rows, []any{&bn, &k, &v}, func() error {
			if h := t.readHandle(bn); h != nil {
				if v == nil {
					v = empty
				}
				h.cache[string(k)] = v
			}
			bn, k, v = nil, nil, nil
			return nil
		})
		if err != nil {
			return err
		}
		for _, rk := range r.Keys {
			if h := t.readHandle(rk.Bucket); h != nil {
				if _, ok := h.cache[string(rk.Key)]; !ok {
					h.cache[string(rk.Key)] = nil // absent
				}
			}
		}
	}
	if len(r.Sequences) > 0 {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		var name []byte
		var v int64
		_, err = pgx.ForEachRow(rows, []any{&name, &v}, func() error {
			if h := t.readHandle(name); h != nil {
				h.seq, h.seqLoaded = uint64(v), true
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, name := range r.Sequences {
			if h := t.readHandle(name); h != nil && !h.seqLoaded {
				h.seqLoaded = true // no row: the sequence is 0
			}
		}
	}
	for _, s := range r.Seeks {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		from := s.Key
		if from == nil {
			from = empty
		}
		p, err := readPage(rows, from, false, true, false, seekKeys(s))
		if err != nil {
			return err
		}
		if h := t.readHandle(s.Bucket); h != nil {
			h.pages = append(h.pages, p)
		}
	}
	return nil
}

// readHandle returns the handle of an existing bucket with its cache made,
// or nil.
func (t *Tx) readHandle(name []byte) *Bucket {
	st := t.names[string(name)]
	if st == nil || !st.exists {
		return nil
	}
	h := t.handle(name, st)
	if h.cache == nil {
		h.cache = make(map[string][]byte)
	}
	return h
}

// seekKeys is how many keys the page of a named walk reads: what it says,
// within a first page's and a full page's.
func seekKeys(s kv.Seek) int { return min(max(s.Keys, firstPageKeys), pageKeys) }
