package pgkv

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/casebot/casebot/store/kv"
)

// batchLinger is how long a batch waits for callers once no batch runs,
// unless it has as many as the last batch had.
const batchLinger = time.Millisecond

// Batch implements kv.Engine the way bbolt's Batch does: concurrent
// callers are gathered and their functions run in one transaction, one
// commit (PostgreSQL's commit waits for the disk; the store's writers
// conflict on shared sequences, so one process commits one transaction at
// a time and a batch is what shares a commit). A batch gathers callers
// while the one before it runs; once none runs, it starts as soon as it
// has as many callers as the last batch had (the writers that batch
// released coming back: group commit), after batchLinger at most, or when
// it holds MaxBatchSize calls. MaxBatchDelay bounds any other wait; a
// batch whose delay ends while another runs waits for that one to end
// instead of queueing behind it for the one writer. When one function
// fails, it is rerun alone (in a transaction of its own) and the others
// run again together without it. Callers carrying different fences never
// share a transaction: a fence belongs to the caller that brought it.
func (e *Engine) Batch(ctx context.Context, fn func(kv.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if e.opts.ReadOnly {
		return e.Update(ctx, fn)
	}
	defer traceSince("batch call", traceNow())
	f, fenced := kv.FenceFrom(ctx)
	c := call{fn: fn, err: make(chan error, 1), reads: kv.ReadsFrom(ctx)}
	e.batchMu.Lock()
	if e.batch != nil && (e.batch.fenced != fenced || e.batch.fence != f) {
		// Another fence's batch: start it now, and a batch of our own.
		go e.batch.trigger()
	}
	if e.batch == nil || e.batch.fenced != fenced || e.batch.fence != f {
		wait := e.opts.MaxBatchDelay
		if e.batchesRunning == 0 {
			wait = min(wait, batchLinger)
		}
		e.batch = &batch{e: e, fence: f, fenced: fenced, ctx: context.WithoutCancel(ctx)}
		e.batch.timer = time.AfterFunc(wait, e.batch.timeout)
	}
	b := e.batch
	b.calls = append(b.calls, c)
	if len(b.calls) >= e.opts.MaxBatchSize || e.batchesRunning == 0 && len(b.calls) >= e.lastBatch {
		go b.trigger()
	}
	e.batchMu.Unlock()

	select {
	case err := <-c.err:
		if errors.Is(err, errTrySolo) {
			return e.Update(ctx, fn)
		}
		return err
	case <-ctx.Done():
		// The batch may still commit fn's writes; the caller only learns
		// that it stopped waiting.
		return ctx.Err()
	}
}

type call struct {
	fn    func(kv.Tx) error
	err   chan error
	reads kv.Reads
}

type batch struct {
	e      *Engine
	ctx    context.Context
	fence  kv.Fence
	fenced bool
	timer  *time.Timer
	start  sync.Once
	calls  []call
}

// errTrySolo tells a caller whose function failed in a batch to run it in
// a transaction of its own.
var errTrySolo = errors.New("pgkv: batch function returned an error and should be re-run solo")

// trigger runs the batch, once.
func (b *batch) trigger() { b.start.Do(b.run) }

// timeout runs the batch when its wait is over, unless a batch is
// running: then it goes on gathering, and the running batch starts it
// when it ends. Started now, it would only wait for the one writer
// behind the running batch, and split the callers that gather meanwhile
// into batches of their own, each with its own commit.
func (b *batch) timeout() {
	b.e.batchMu.Lock()
	held := b.e.batch == b && b.e.batchesRunning > 0
	b.e.batchMu.Unlock()
	if !held {
		b.trigger()
	}
}

// run takes the batch off the engine and runs its calls, dropping a failing
// call (told to rerun alone) until the rest commit or fail together on an
// error of the database.
func (b *batch) run() {
	b.e.batchMu.Lock()
	b.timer.Stop()
	if b.e.batch == b {
		b.e.batch = nil
	}
	b.e.batchesRunning++
	b.e.lastBatch = len(b.calls)
	b.e.batchMu.Unlock()
	defer func() {
		b.e.batchMu.Lock()
		b.e.batchesRunning--
		if next := b.e.batch; next != nil && b.e.batchesRunning == 0 {
			if len(next.calls) >= b.e.lastBatch {
				go next.trigger()
			} else {
				next.timer.Reset(min(b.e.opts.MaxBatchDelay, batchLinger))
			}
		}
		b.e.batchMu.Unlock()
	}()

	calls := b.calls
	for len(calls) > 0 {
		// The transaction reads what every call named, at its start.
		var reads kv.Reads
		for _, c := range calls {
			reads.Add(c.reads)
		}
		failIdx := -1
		err := b.e.Update(kv.WithReads(b.ctx, reads), func(tx kv.Tx) error {
			failIdx = -1
			t := tx.(*Tx)
			for i, c := range calls {
				if err := callSafely(c.fn, tx); err != nil {
					if t.err != nil {
						return t.err
					}
					failIdx = i
					return fmt.Errorf("batch call %d: %w", i, err)
				}
				if t.err != nil {
					return t.err
				}
			}
			return nil
		})
		if failIdx >= 0 && err != nil && !errors.Is(err, kv.ErrUnavailable) && !errors.Is(err, kv.ErrFenced) {
			c := calls[failIdx]
			calls = append(calls[:failIdx:failIdx], calls[failIdx+1:]...)
			c.err <- errTrySolo
			continue
		}
		for _, c := range calls {
			c.err <- err
		}
		return
	}
}

// callSafely runs fn, turning a panic into an error, so that the call is
// rerun alone in its caller's goroutine, where it panics again.
func callSafely(fn func(kv.Tx) error, tx kv.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return fn(tx)
}
