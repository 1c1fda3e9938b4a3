package mail

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/emersion/go-imap/v2"

	"github.com/casebot/casebot"
)

// batcher turns fetched messages into store batches for one sync: the
// read loop hands it each message (add), parseWorkers goroutines parse
// them in chunks, and a collector puts the results back in UID order and
// cuts batches by count, bytes and the pages the last commit wrote, which
// it queues on the writer.
type batcher struct {
	in          *Intake
	ctx         context.Context
	w           *writer
	uidValidity uint32
	max         int64 // max_message_bytes

	jobs  chan job
	order chan chan []result

	chunk      []fetched // the read loop's, not yet handed over
	chunkBytes int64
	ahead      *byteGate
	lk         *sharedLookup
	wg         sync.WaitGroup // the workers
	done       chan error     // the collector's outcome

	mu        sync.Mutex
	committed []*commit // queued on the writer, not yet taken
	err       error     // the collector's first failure

	seen       atomic.Uint32 // \Seen applied up to this UID, for the next commit to record
	milliPages atomic.Uint64 // pages the last commit wrote per thousand messages
}

// pageCounter is what a store may offer so that intake can keep a batch's
// write set (the pages one commit writes) near maxWritePages.
type pageCounter interface{ PageWrites() int64 }

// maxWritePages bounds the pages a batch's commit should write. The
// de-duplication index is keyed by hash, so every new key dirties a page
// of its own once the index has more pages than a batch has keys; bbolt
// holds each dirty page and its node in memory until the commit. Batches
// shrink as the store grows so that this write set, and the intake's
// memory with it, stays flat: about 9 KiB a page.
const maxWritePages = 512

// A job is a chunk of messages for one worker: handing messages over in
// chunks wakes a worker (and the collector) once a chunk, not once a
// message, and so leaves the fetch's goroutines their turn.
type job struct {
	rs  []fetched
	out chan []result
}

type result struct {
	it  casebot.MailItem
	err error
	n   int64
}

// maxQueued is how many batches may wait for the writer or be committing
// while the next is collected: two, so that the collector goes on while
// one batch commits and the one it just finished waits. With
// maxBatchBytes, three batches bound the raw bytes held.
const maxQueued = 2

// parseWorkers is how many goroutines parse messages. Parsing is the
// longest stage of intake: on one goroutine it held up the fetch while a
// core stood idle.
var parseWorkers = min(runtime.GOMAXPROCS(0), 4)

// Read-ahead: at most fetchAheadMsgs messages and (unless a single message
// is larger) fetchAheadBytes raw bytes are read from the wire but not yet
// in a batch.
const (
	fetchAheadMsgs  = 128
	fetchAheadBytes = 16 << 20
)

// A chunk holds up to chunkMsgs messages and is handed over once it has
// chunkBytesMax bytes; the read loop hands over what it has at the end of
// each FETCH.
const (
	chunkMsgs     = 16
	chunkBytesMax = 256 << 10
)

// newBatcher starts the workers and the collector; close stops them.
func (in *Intake) newBatcher(ctx context.Context, w *writer, uidValidity uint32) *batcher {
	b := &batcher{in: in, ctx: ctx, w: w, uidValidity: uidValidity, max: in.cfg.Limits.withDefaults().MaxMessageBytes,
		jobs: make(chan job, fetchAheadMsgs/chunkMsgs), order: make(chan chan []result, fetchAheadMsgs/chunkMsgs),
		ahead: newByteGate(fetchAheadBytes), lk: newSharedLookup(in.cfg.Store, in.cfg.BatchSize), done: make(chan error, 1)}
	prep, _ := in.cfg.Store.(casebot.MailPreparer)
	for range parseWorkers {
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			for j := range b.jobs {
				res := make([]result, len(j.rs))
				for i, r := range j.rs {
					res[i].it, res[i].err = b.decide(b.lk, r)
					res[i].n = int64(len(r.raw))
					if prep != nil && res[i].err == nil {
						prep.PrepareMail(&res[i].it)
					}
				}
				j.out <- res
			}
		}()
	}
	go b.collect(min(firstBatch, in.cfg.BatchSize))
	return b
}

// add queues one message for the workers, in order, handing over a chunk
// when it is full; it waits while the read-ahead is full.
func (b *batcher) add(r fetched) {
	n := int64(len(r.raw))
	if !b.ahead.tryAcquire(n) {
		// The bytes held back may be the chunk's own: hand it over before
		// waiting for room.
		b.flush()
		b.ahead.acquire(n)
	}
	b.chunk = append(b.chunk, r)
	if b.chunkBytes += n; len(b.chunk) >= chunkMsgs || b.chunkBytes >= chunkBytesMax {
		b.flush()
	}
}

// flush hands the chunk to the workers.
func (b *batcher) flush() {
	if len(b.chunk) == 0 {
		return
	}
	out := make(chan []result, 1)
	b.order <- out
	b.jobs <- job{b.chunk, out}
	b.chunk, b.chunkBytes = nil, 0
}

// collect runs until order is closed: results in order into batches of
// limit messages (doubling up to BatchSize, and kept near maxWritePages
// pages a commit) or maxBatchBytes.
func (b *batcher) collect(limit int) {
	var items []casebot.MailItem
	var size int64
	var queued []*commit // on the writer and maybe not committed, oldest first
	cut := func() {
		if len(items) == 0 {
			return
		}
		for len(queued) >= maxQueued {
			<-queued[0].done
			queued = queued[1:]
		}
		p := b.commit(items)
		queued = append(queued, p)
		b.mu.Lock()
		b.committed = append(b.committed, p)
		b.mu.Unlock()
		items, size = nil, 0
		limit = min(2*limit, b.in.cfg.BatchSize)
		if mp := b.milliPages.Load(); mp > 0 {
			limit = min(limit, max(firstBatch, int(maxWritePages*1000/mp)))
		}
	}
	var err error
	for out := range b.order {
		for _, res := range <-out {
			b.ahead.release(res.n)
			if err != nil {
				continue
			}
			if err = res.err; err != nil {
				b.mu.Lock()
				b.err = err
				b.mu.Unlock()
				continue
			}
			if items == nil {
				items = make([]casebot.MailItem, 0, limit)
			}
			items = append(items, res.it)
			size += res.n
			if len(items) >= limit || size >= maxBatchBytes {
				cut()
			}
		}
	}
	if err == nil {
		cut()
	}
	b.done <- err
}

// takeCommitted returns the batches queued on the writer since the last
// call, in order.
func (b *batcher) takeCommitted() []*commit {
	b.mu.Lock()
	defer b.mu.Unlock()
	cs := b.committed
	b.committed = nil
	return cs
}

// failed returns the collector's first failure so far (a store lookup
// that failed), if any.
func (b *batcher) failed() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// close waits for every message added to be parsed and its batch queued
// on the writer, stops the workers and returns the collector's failure.
func (b *batcher) close() error {
	b.flush()
	close(b.jobs)
	close(b.order)
	err := <-b.done
	b.wg.Wait()
	return err
}

// byteGate bounds the bytes in flight between a producer and a consumer.
type byteGate struct {
	mu    sync.Mutex
	cond  sync.Cond
	n     int64
	limit int64
}

func newByteGate(limit int64) *byteGate {
	g := &byteGate{limit: limit}
	g.cond.L = &g.mu
	return g
}

// tryAcquire takes n bytes if they fit (or none are in flight) and
// reports whether it did.
func (g *byteGate) tryAcquire(n int64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n > 0 && g.n+n > g.limit {
		return false
	}
	g.n += n
	return true
}

// acquire waits until n more bytes fit, or none are in flight.
func (g *byteGate) acquire(n int64) {
	g.mu.Lock()
	for g.n > 0 && g.n+n > g.limit {
		g.cond.Wait()
	}
	g.n += n
	g.mu.Unlock()
}

func (g *byteGate) release(n int64) {
	g.mu.Lock()
	g.n -= n
	g.mu.Unlock()
	g.cond.Signal()
}

// decide parses one message and decides what becomes of it.
func (b *batcher) decide(lk Lookup, r fetched) (casebot.MailItem, error) {
	var m *Message
	var perr error
	if r.size > b.max {
		m, _ = Parse(bytes.NewReader(r.raw), Limits{MaxMessageBytes: int64(len(r.raw)) + 1})
		perr = &ParseError{Reason: fmt.Sprintf("message is %d bytes; the limit is %d", r.size, b.max)}
	} else {
		m, perr = Parse(bytes.NewReader(r.raw), b.in.cfg.Limits)
	}
	return b.in.cfg.Addressing.Decide(b.ctx, lk, r.uid, m, perr, r.raw)
}

// writer runs store writes one after another on a goroutine of its own.
// After the first failure it runs nothing more and reports that failure.
type writer struct {
	ops  chan func()
	err  error // the first failure; the writer's goroutine's own
	idle chan struct{}
}

func newWriter() *writer {
	w := &writer{ops: make(chan func(), 4), idle: make(chan struct{})}
	go func() {
		for op := range w.ops {
			op()
		}
		close(w.idle)
	}()
	return w
}

// task is a write queued on a writer; done is closed once err is set.
// After the first failure the writer runs nothing more, and every later
// task reports that failure.
type task struct {
	done chan struct{}
	err  error
}

// isDone reports whether the task has run.
func (t *task) isDone() bool {
	select {
	case <-t.done:
		return true
	default:
		return false
	}
}

// do queues fn.
func (w *writer) do(fn func() error) *task {
	t := &task{done: make(chan struct{})}
	w.ops <- func() {
		if w.err == nil {
			w.err = fn()
		}
		t.err = w.err
		close(t.done)
	}
	return t
}

// wait returns once every queued write has run, with the first failure.
func (w *writer) wait() error {
	t := w.do(func() error { return nil })
	<-t.done
	return t.err
}

// close stops the goroutine once the queue has run.
func (w *writer) close() {
	close(w.ops)
	<-w.idle
}

// commit is a batch queued on the writer, with the UIDs it holds.
type commit struct {
	*task
	set  imap.UIDSet
	last uint32
}

// commit queues a batch's store transaction on the writer (no network
// I/O).
//
// The transaction also records how far \Seen has been applied (as it
// stands when the transaction runs), so that record costs no commit of its
// own.
//
// When the store counts the pages it writes, the commit notes how many it
// wrote per message, which sizes the batches after it.
func (b *batcher) commit(items []casebot.MailItem) *commit {
	p := &commit{}
	for _, it := range items {
		p.set.AddNum(imap.UID(it.UID))
		p.last = max(p.last, it.UID)
	}
	pc, counts := b.in.cfg.Store.(pageCounter)
	p.task = b.w.do(func() error {
		var p0 int64
		if counts {
			p0 = pc.PageWrites()
		}
		if err := b.in.ingest(b.ctx, b.uidValidity, p.last, b.seen.Load(), items); err != nil {
			return err
		}
		if counts {
			b.milliPages.Store(uint64(max(1, 1000*(pc.PageWrites()-p0)/int64(len(items)))))
		}
		return nil
	})
	return p
}

// ingest commits one batch and reports its results.
func (in *Intake) ingest(ctx context.Context, uidValidity, last, done uint32, items []casebot.MailItem) error {
	res, err := in.cfg.Store.Ingest(ctx, casebot.IngestBatch{
		Mailbox: in.cfg.Mailbox, UIDValidity: uidValidity, LastUID: last, DoneUID: done, Items: items,
		NoticeFeed: true,
	})
	if err != nil {
		return err
	}
	debug := in.log.Enabled(ctx, slog.LevelDebug)
	for _, r := range res {
		if debug {
			in.log.Debug("imap: message", slog.Uint64("uid", uint64(r.UID)), slog.String("outcome", r.Outcome),
				slog.String("case", r.CaseID), slog.Int("note", r.N), slog.Uint64("mail", r.Mail), slog.String("reason", r.Reason))
		}
		if in.cfg.OnResult != nil {
			in.cfg.OnResult(r)
		}
	}
	return nil
}

// sharedLookup caches case reads for the parse workers of one fetch: many
// messages name the same few cases. It forgets what it holds after each
// batch's worth of lookups, and the store checks party membership again
// when it commits, so a change meanwhile is still honoured.
type sharedLookup struct {
	Lookup
	mu    sync.Mutex
	cases map[string]caseOrErr
	uses  int
	every int
}

type caseOrErr struct {
	c   *casebot.Case
	err error
}

func newSharedLookup(l Lookup, every int) *sharedLookup {
	return &sharedLookup{Lookup: l, cases: map[string]caseOrErr{}, every: every}
}

func (l *sharedLookup) Case(ctx context.Context, id string) (*casebot.Case, error) {
	l.mu.Lock()
	if l.uses++; l.uses > l.every {
		clear(l.cases)
		l.uses = 1
	}
	v, ok := l.cases[id]
	l.mu.Unlock()
	if ok {
		return v.c, v.err
	}
	c, err := l.Lookup.Case(ctx, id)
	if err == nil || casebot.ErrorCode(err) == casebot.ENOTFOUND {
		l.mu.Lock()
		l.cases[id] = caseOrErr{c, err}
		l.mu.Unlock()
	}
	return c, err
}
