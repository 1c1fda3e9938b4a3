package pgkv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/casebot/casebot/store/kv"
)

// SQL of transactions.
const (
	beginWriteSQL = `BEGIN ISOLATION LEVEL SERIALIZABLE`
	beginReadSQL  = `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`
	bucketsSQL    = `SELECT name FROM kv_buckets`
	getSQL        = `SELECT value FROM kv WHERE bucket = $1 AND key = $2`
	seqSQL        = `SELECT value FROM kv_sequences WHERE name = $1`
	keyNSQL       = `SELECT count(*) FROM kv WHERE bucket = $1 AND NOT (key = ANY($2::bytea[]))`
	// fenceSQL divides by zero (SQLSTATE 22012) when the lease is no
	// longer held with the token, so that the pipelined COMMIT after it
	// never runs. It reads the clock at the check, not the transaction's
	// start (now()), which is stricter than the lease contract's now().
	fenceSQL    = `SELECT 1 / (SELECT count(*)::int FROM casebot_lease WHERE name = $1 AND token = $2 AND expires_at > clock_timestamp())`
	wipeKeysSQL = `DELETE FROM kv WHERE bucket = ANY($1::bytea[])`
	wipeSeqSQL  = `DELETE FROM kv_sequences WHERE name = ANY($1::bytea[])`
	dropSQL     = `DELETE FROM kv_buckets WHERE name = ANY($1::bytea[])`
	createSQL   = `INSERT INTO kv_buckets (name) SELECT unnest($1::bytea[]) ON CONFLICT DO NOTHING`
	deleteSQL   = `DELETE FROM kv WHERE (bucket, key) IN (SELECT * FROM unnest($1::bytea[], $2::bytea[]))`
	insertSQL   = `INSERT INTO kv (bucket, key, value) SELECT * FROM unnest($1::bytea[], $2::bytea[], $3::bytea[])`
	upsertSQL   = `INSERT INTO kv (bucket, key, value) SELECT * FROM unnest($1::bytea[], $2::bytea[], $3::bytea[]) ON CONFLICT (bucket, key) DO UPDATE SET value = EXCLUDED.value`
	setSeqSQL   = `INSERT INTO kv_sequences (name, value) SELECT * FROM unnest($1::bytea[], $2::bigint[]) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value`
)

// flushChunk bounds the bytes of values one flush statement carries.
const flushChunk = 32 << 20

// empty is the value of a key stored with an empty value: non-nil, as
// bbolt returns it (the store tells an empty value from an absent key).
var empty = []byte{}

// Tx is a kv.Tx over one PostgreSQL transaction. Its writes wait in
// per-bucket overlays until commit.
type Tx struct {
	e        *Engine
	ctx      context.Context
	conn     *pgxpool.Conn
	writable bool
	// err is the first failure of the database; once set, reads return
	// nothing and the transaction never commits.
	err     error
	names   map[string]*bstate
	written int
	// ahead is the flush sent ahead of the commit (flush.go), whose
	// results are read before the connection is used again; unflushed
	// counts the bytes written to the overlays since the last flush.
	ahead     pgx.BatchResults
	unflushed int
	// noFresh takes every PutNew as Put: this run follows one whose
	// plain INSERT met a key already there.
	noFresh bool
	trace   txTrace
}

// bstate is what the transaction knows of one bucket name.
type bstate struct {
	exists bool // the bucket exists in the transaction's view
	inDB   bool // kv_buckets holds it at the transaction's snapshot
	wiped  bool // its rows and sequence in the database are deleted by this transaction
	ahead  bool // rows of it were flushed ahead of the commit (flush.go)
	handle *Bucket
}

var _ kv.Tx = (*Tx)(nil)

// begin starts a transaction, reads which buckets exist and what ctx's
// kv.Reads name, in one round trip.
func (e *Engine) begin(ctx context.Context, writable bool) (*Tx, error) {
	acq := traceNow()
	pool := e.pool
	if writable && e.wpool != nil {
		pool = e.wpool
	}
	conn, err := pool.Acquire(ctx)
	traceSince("acquire", acq)
	if err != nil {
		return nil, e.wrap(ctx, err)
	}
	fastByteaArrays(conn.Conn().TypeMap())
	tx := &Tx{e: e, ctx: ctx, conn: conn, writable: writable, names: make(map[string]*bstate, 64)}
	b := &pgx.Batch{}
	if writable {
		b.Queue(beginWriteSQL)
	} else {
		b.Queue(beginReadSQL)
	}
	b.Queue(bucketsSQL)
	reads := kv.ReadsFrom(ctx)
	queueReads(b, reads)
	tx.trip("begin", nil)
	e.txs.Add(1)
	br := conn.SendBatch(ctx, b)
	_, err = br.Exec()
	if err == nil {
		var rows pgx.Rows
		rows, err = br.Query()
		if err == nil {
			var name []byte
			_, err = pgx.ForEachRow(rows, []any{&name}, func() error {
				tx.names[string(name)] = &bstate{exists: true, inDB: true}
				return nil
			})
		}
	}
	if err == nil {
		err = tx.applyReads(br, reads)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		tx.err = err
		tx.rollback()
		if isConflict(err) {
			return nil, err
		}
		return nil, e.wrap(ctx, err)
	}
	if tracing {
		tx.traceTrip("fn", nil) // the function's own time, up to its next trip
	}
	return tx, nil
}

// fail records the first failure of the database.
func (t *Tx) fail(err error) {
	if t.err == nil {
		t.err = err
	}
}

// rollback ends the transaction, if still open, and releases its
// connection.
func (t *Tx) rollback() {
	if t.conn == nil {
		return
	}
	t.settle()
	t.traceEnd()
	pc := t.conn.Conn().PgConn()
	if !pc.IsClosed() && pc.TxStatus() != 'I' {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), 5*time.Second)
		if _, err := pc.Exec(ctx, "ROLLBACK").ReadAll(); err != nil {
			_ = pc.Close(ctx)
		}
		cancel()
	}
	t.conn.Release()
	t.conn = nil
}

// commit flushes the writes (those not flushed ahead), checks the fence
// and commits, all in one pipelined round trip; a failure is left in
// t.err.
func (t *Tx) commit() {
	t.settle()
	if t.err != nil {
		return
	}
	b := &pgx.Batch{}
	fenceAt := -1
	if f, ok := kv.FenceFrom(t.ctx); ok {
		fenceAt = b.Len()
		b.Queue(fenceSQL, f.Name, f.Token)
	}
	var wiped, dropped, created [][]byte
	var handles []*Bucket
	for _, name := range slices.Sorted(maps.Keys(t.names)) {
		st := t.names[name]
		switch {
		case st.exists && !st.inDB:
			created = append(created, []byte(name))
		case !st.exists && st.inDB:
			dropped = append(dropped, []byte(name))
		}
		if st.wiped {
			wiped = append(wiped, []byte(name))
		}
		if st.exists && st.handle != nil {
			handles = append(handles, st.handle)
		}
	}
	if len(wiped) > 0 {
		b.Queue(wipeKeysSQL, byteaArray(wiped))
		b.Queue(wipeSeqSQL, byteaArray(wiped))
		t.written += len(wiped) * rowOverhead
	}
	if len(dropped) > 0 {
		b.Queue(dropSQL, byteaArray(dropped))
	}
	if len(created) > 0 {
		b.Queue(createSQL, byteaArray(created))
	}
	var seqN [][]byte
	var seqV []int64
	for _, h := range handles {
		if tracing {
			t.traceRows(h)
		}
		for _, en := range h.over.sorted() {
			t.written += rowOverhead + len(en.key) + len(en.value)
		}
		if h.seqDirty {
			seqN, seqV = append(seqN, h.name), append(seqV, int64(h.seq))
		}
	}
	queueRows(b, handles)
	if len(seqN) > 0 {
		b.Queue(setSeqSQL, byteaArray(seqN), seqV)
	}
	b.Queue("COMMIT")
	n := b.Len()
	t.trip("commit", nil)
	br := t.conn.SendBatch(t.ctx, b)
	for i := range n {
		if _, err := br.Exec(); err != nil {
			var pe *pgconn.PgError
			if i == fenceAt && errors.As(err, &pe) && pe.Code == "22012" {
				f, _ := kv.FenceFrom(t.ctx)
				err = fmt.Errorf("lease %q token %d: %w", f.Name, f.Token, kv.ErrFenced)
			}
			t.fail(err)
			break
		}
	}
	if err := br.Close(); err != nil {
		t.fail(err)
	}
	if t.err == nil {
		t.traceEnd()
		t.conn.Release()
		t.conn = nil
	}
}

// Writable implements kv.Tx.
func (t *Tx) Writable() bool { return t.writable }

// Bucket implements kv.Tx.
func (t *Tx) Bucket(name []byte) kv.Bucket {
	st := t.names[string(name)]
	if st == nil || !st.exists {
		return nil
	}
	return t.handle(name, st)
}

func (t *Tx) handle(name []byte, st *bstate) *Bucket {
	if st.handle == nil {
		st.handle = &Bucket{tx: t, name: bytes.Clone(name), st: st}
		if st.wiped || !st.inDB {
			st.handle.seqLoaded = true
		}
	}
	return st.handle
}

// CreateBucket implements kv.Tx.
func (t *Tx) CreateBucket(name []byte) (kv.Bucket, error) {
	if !t.writable {
		return nil, kv.ErrTxNotWritable
	}
	if t.err != nil {
		return nil, t.err
	}
	if len(name) == 0 {
		return nil, errors.New("pgkv: bucket name required")
	}
	st := t.names[string(name)]
	if st != nil && st.exists {
		return nil, kv.ErrBucketExists
	}
	if st == nil {
		st = &bstate{}
		t.names[string(name)] = st
	}
	st.exists = true
	st.handle = nil
	return t.handle(name, st), nil
}

// CreateBucketIfNotExists implements kv.Tx.
func (t *Tx) CreateBucketIfNotExists(name []byte) (kv.Bucket, error) {
	if b := t.Bucket(name); b != nil {
		return b, nil
	}
	return t.CreateBucket(name)
}

// DeleteBucket implements kv.Tx.
func (t *Tx) DeleteBucket(name []byte) error {
	if !t.writable {
		return kv.ErrTxNotWritable
	}
	if t.err != nil {
		return t.err
	}
	st := t.names[string(name)]
	if st == nil || !st.exists {
		return kv.ErrBucketNotFound
	}
	st.exists = false
	st.wiped = st.inDB || st.wiped || st.ahead
	st.handle = nil
	return nil
}

// ForEachBucket implements kv.Tx.
func (t *Tx) ForEachBucket(fn func(name []byte) error) error {
	var names []string
	for name, st := range t.names {
		if st.exists {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		if err := fn([]byte(name)); err != nil {
			return err
		}
	}
	return nil
}

// Bucket is a kv.Bucket of a Tx: an overlay of the transaction's writes
// over the database's rows.
type Bucket struct {
	tx   *Tx
	name []byte
	st   *bstate
	over overlay
	// cache holds values read from the database (nil: absent).
	cache map[string][]byte
	// pages are runs of rows read at the transaction's start, which
	// cursors take up (Cursor.adopt).
	pages []page

	seq                 uint64
	seqLoaded, seqDirty bool
}

var _ kv.Bucket = (*Bucket)(nil)

// Get implements kv.Bucket.
func (b *Bucket) Get(key []byte) []byte {
	t := b.tx
	if t.err != nil {
		return nil
	}
	if e, ok := b.over.lookup(key); ok {
		if e.del {
			return nil
		}
		return e.value
	}
	if b.st.wiped {
		return nil
	}
	if v, ok := b.cache[string(key)]; ok {
		return v
	}
	var v []byte
	t.trip("get", b.name)
	err := t.conn.QueryRow(t.ctx, getSQL, b.name, key).Scan(&v)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		v = nil
	case err != nil:
		t.fail(err)
		return nil
	case v == nil:
		v = empty
	}
	if b.cache == nil {
		b.cache = make(map[string][]byte)
	}
	b.cache[string(key)] = v
	return v
}

func (b *Bucket) writable() error {
	if !b.tx.writable {
		return kv.ErrTxNotWritable
	}
	return b.tx.err
}

// Put implements kv.Bucket.
func (b *Bucket) Put(key, value []byte) error { return b.put(key, value, false) }

// PutNew implements kv.Bucket: the key is inserted with a plain INSERT
// unless the transaction already wrote it, or runs again because a key
// put so was there after all (Engine.update).
func (b *Bucket) PutNew(key, value []byte) error { return b.put(key, value, !b.tx.noFresh) }

// put writes key's value into the overlay, as a fresh key (PutNew) when
// fresh.
func (b *Bucket) put(key, value []byte, fresh bool) error {
	if err := b.writable(); err != nil {
		return err
	}
	if len(key) == 0 {
		return errors.New("pgkv: key required")
	}
	if value == nil {
		value = empty
	}
	if fresh {
		b.over.setNew(key, value)
	} else {
		b.over.set(key, value, false)
	}
	b.tx.wrote(len(key) + len(value))
	return nil
}

// Delete implements kv.Bucket.
func (b *Bucket) Delete(key []byte) error {
	if err := b.writable(); err != nil {
		return err
	}
	b.over.set(key, nil, true)
	b.tx.wrote(len(key))
	return nil
}

// Cursor implements kv.Bucket.
func (b *Bucket) Cursor() kv.Cursor { return &Cursor{b: b} }

// ForEach implements kv.Bucket.
func (b *Bucket) ForEach(fn func(k, v []byte) error) error {
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return b.tx.err
}

func (b *Bucket) loadSeq() {
	if b.seqLoaded || b.tx.err != nil {
		return
	}
	t := b.tx
	var v int64
	t.trip("seq", b.name)
	err := t.conn.QueryRow(t.ctx, seqSQL, b.name).Scan(&v)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		t.fail(err)
		return
	}
	b.seq, b.seqLoaded = uint64(v), true
}

// NextSequence implements kv.Bucket.
func (b *Bucket) NextSequence() (uint64, error) {
	if err := b.writable(); err != nil {
		return 0, err
	}
	b.loadSeq()
	if b.tx.err != nil {
		return 0, b.tx.err
	}
	b.seq++
	b.seqDirty = true
	return b.seq, nil
}

// Sequence implements kv.Bucket.
func (b *Bucket) Sequence() uint64 {
	b.loadSeq()
	if b.tx.err != nil {
		return 0
	}
	return b.seq
}

// SetSequence implements kv.Bucket.
func (b *Bucket) SetSequence(v uint64) error {
	if err := b.writable(); err != nil {
		return err
	}
	b.seq, b.seqLoaded, b.seqDirty = v, true, true
	return nil
}

// KeyN implements kv.Bucket: the database's count less the keys the
// overlay covers, plus the overlay's live keys.
func (b *Bucket) KeyN() int {
	t := b.tx
	if t.err != nil {
		return 0
	}
	n := 0
	es := b.over.sorted()
	keys := make([][]byte, 0, len(es))
	for _, en := range es {
		keys = append(keys, en.key)
		if !en.del {
			n++
		}
	}
	if b.st.wiped {
		return n
	}
	var dbN int64
	t.trip("keyn", b.name)
	if err := t.conn.QueryRow(t.ctx, keyNSQL, b.name, byteaArray(keys)).Scan(&dbN); err != nil {
		t.fail(err)
		return 0
	}
	return n + int(dbN)
}

// AppendMostly implements kv.Bucket; PostgreSQL's B-tree handles
// rightmost inserts by itself.
func (b *Bucket) AppendMostly() {}
