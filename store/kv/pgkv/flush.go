package pgkv

import "github.com/jackc/pgx/v5"

// flushAhead is how many bytes of keys and values a write transaction
// buffers before it sends them to the database ahead of its commit: the
// server inserts them while the transaction goes on (a 2,000-message
// intake commit writes about 2.3 MiB in 10,000 rows), and the commit
// carries only the rest. A transaction smaller than this (a note, a
// recorded view, a batch of either) sends everything with its commit, in
// the one round trip. At 256 KiB an intake spent more on the statements
// (and on waiting for each flush's results before the next) than it gained
// from starting early: Ingest10kPostgres, six rounds alternated, 0.290 of
// the bare fetch on average at 1 MiB against 0.271 at 256 KiB (0.250 at
// 64 KiB, 0.274 at 8 MiB, which sends nothing ahead).
const flushAhead = 1 << 20

// wrote counts n bytes written to an overlay, and sends the unflushed
// writes ahead once they pass flushAhead.
func (t *Tx) wrote(n int) {
	t.unflushed += rowOverhead + n
	if t.unflushed >= flushAhead && t.err == nil {
		t.flushAhead()
	}
}

// flushAhead sends the overlays' writes not yet flushed, without waiting
// for the results (settle reads them). Entries flushed are marked, and a
// later write of their key makes an unflushed entry, sent later, so the
// database sees each key's writes in order. The rows of a bucket deleted
// in the transaction are left for the commit, which deletes the bucket's
// rows before it writes them; a bucket deleted after rows of it were
// flushed has its rows deleted at the commit, even one it created. Reads stay right: the overlay, read first,
// still holds every entry, and the database rows flushed under them are
// hidden by them.
func (t *Tx) flushAhead() {
	t.unflushed = 0
	var handles []*Bucket
	for _, st := range t.names {
		if st.exists && !st.wiped && st.handle != nil {
			handles = append(handles, st.handle)
			st.ahead = true
		}
	}
	b := &pgx.Batch{}
	queueRows(b, handles)
	if b.Len() == 0 {
		return
	}
	t.trip("flush", nil) // settles the flush before this one
	if t.err != nil {
		return
	}
	t.ahead = t.conn.SendBatch(t.ctx, b)
}

// settle reads the results of the flush sent ahead, if any; a failure is
// the transaction's.
func (t *Tx) settle() {
	if t.ahead == nil {
		return
	}
	br := t.ahead
	t.ahead = nil
	if err := br.Close(); err != nil {
		t.fail(err)
	}
}

// queueRows queues the deletes, upserts and inserts (PutNew's) of the
// handles' entries not yet flushed, and marks them flushed. A key appears
// once among them (an overlay holds a key once), so their order does not
// matter.
// Deletes in a bucket deleted by the transaction are left out: its rows
// are deleted whole.
func queueRows(b *pgx.Batch, handles []*Bucket) {
	var delB, delK, putB, putK, putV, insB, insK, insV [][]byte
	size := 0
	flushPuts := func() {
		if len(putK) > 0 {
			b.Queue(upsertSQL, byteaArray(putB), byteaArray(putK), byteaArray(putV))
		}
		if len(insK) > 0 {
			b.Queue(insertSQL, byteaArray(insB), byteaArray(insK), byteaArray(insV))
		}
		putB, putK, putV, insB, insK, insV, size = nil, nil, nil, nil, nil, nil, 0
	}
	for _, h := range handles {
		es := h.over.sorted() // in any order would do; pend's entries must come too
		for i := range es {
			en := &es[i]
			if en.flushed {
				continue
			}
			en.flushed = true
			if en.del {
				if !h.st.wiped {
					delB, delK = append(delB, h.name), append(delK, en.key)
				}
				continue
			}
			if size > 0 && size+len(en.value) > flushChunk {
				flushPuts()
			}
			if en.fresh {
				insB, insK, insV = append(insB, h.name), append(insK, en.key), append(insV, en.value)
			} else {
				putB, putK, putV = append(putB, h.name), append(putK, en.key), append(putV, en.value)
			}
			size += len(en.value) + len(en.key)
		}
	}
	if len(delK) > 0 {
		b.Queue(deleteSQL, byteaArray(delB), byteaArray(delK))
	}
	flushPuts()
}
