// Package outbox delivers the messages casebot sends on its own (Slack
// notices, reminders, digests, emails). Messages are written to the store's
// persistent outbox in the same transaction as the change that causes them;
// a Worker takes them out in order per recipient, hands each to the Sender
// for its kind, and records the outcome: done, retry later with back-off, or
// dead when it can never be delivered.
//
// Delivery is exactly once across clean restarts: a send in flight at
// shutdown is allowed to finish and be recorded before Run returns. Across
// a crash (kill -9) in the instant between the remote side accepting a
// message and OutboxDone committing, it is exactly once where the store
// marks attempts (Beginner) and the sender can look a message up
// (Confirmer): before sending a message whose earlier attempt has no
// recorded outcome, the worker asks the sender whether it arrived, and
// records it done without sending when it did. The Slack sender can (it
// tags each post with the outbox key as message metadata and reads the DM's
// recent history); the SMTP sender cannot, so such an email is sent again
// with the same Message-ID, which lets mail clients and casebot's own
// intake recognise the copy as the same message.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/internal/backoff"
)

// Store is what the worker needs of the persistent outbox.
type Store interface {
	// OutboxDue returns, for each recipient, its oldest pending message if
	// that message is due at now and of one of kinds (any kind when none is
	// given); at most limit messages.
	OutboxDue(ctx context.Context, now time.Time, limit int, kinds ...string) ([]casebot.OutMessage, error)
	// OutboxDone removes a delivered message.
	OutboxDone(ctx context.Context, id uint64) error
	// OutboxRetry records a failed attempt and when to try again.
	OutboxRetry(ctx context.Context, id uint64, next time.Time, lastErr string) error
	// OutboxNext returns the earliest NextTry of pending messages of kinds
	// (any kind when none is given).
	OutboxNext(ctx context.Context, kinds ...string) (time.Time, bool, error)
}

// DeadLetterer is implemented by stores that can set a message aside that
// will never be delivered, so it stops blocking its recipient's queue while
// staying on record. Without it the worker drops such a message (logging
// its ID and key).
type DeadLetterer interface {
	OutboxDead(ctx context.Context, id uint64, reason string) error
}

// NoticeFeeder is implemented by stores that keep notices to be queued
// lazily, at the pace their recipients' queues drain (the mediators'
// notices of ingested email). FeedNotices queues, for each recipient, what
// it has until perRecipient messages are pending to them, and returns how
// many it queued.
type NoticeFeeder interface {
	FeedNotices(ctx context.Context, perRecipient int) (int, error)
}

// NoticeLookahead is how many messages may wait in a recipient's Slack
// queue before a NoticeFeeder queues more behind them: Slack takes about
// one message a second per conversation, so this is seconds of work.
const NoticeLookahead = 16

// Beginner is implemented by stores that record a delivery attempt before
// it starts. OutboxBegin reports whether an earlier attempt began whose
// outcome was never recorded as done or dead (a crash mid-send, or a failed
// attempt that may still have arrived).
type Beginner interface {
	OutboxBegin(ctx context.Context, id uint64) (resumed bool, err error)
}

// Confirmer is implemented by senders that can tell whether a message was
// already delivered. Delivered returns an error when it cannot tell; one
// for which IsPermanent holds (say, a missing Slack scope) makes the worker
// send again rather than wait.
type Confirmer interface {
	Delivered(ctx context.Context, m casebot.OutMessage) (bool, error)
}

// Sender delivers one message. It returns nil only when the remote side has
// accepted the message.
type Sender interface {
	Send(ctx context.Context, m casebot.OutMessage) error
}

// RetryAfterError is an error that says when to try again (Slack 429).
type RetryAfterError interface {
	error
	RetryAfter() time.Duration
}

// permanent is implemented by errors that retrying cannot fix
// (user_not_found, invalid_auth, a rejected address).
type permanent interface {
	Permanent() bool
}

// IsPermanent reports whether err, or an error it wraps, says retrying is
// pointless.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p) && p.Permanent()
}

// Permanent wraps err so that the worker does not retry it.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

type permanentError struct{ err error }

func (e permanentError) Error() string   { return e.err.Error() }
func (e permanentError) Unwrap() error   { return e.err }
func (e permanentError) Permanent() bool { return true }

// Worker delivers due outbox messages until its context ends.
// Set the fields before Run; do not change them afterwards.
type Worker struct {
	Store   Store
	Senders map[string]Sender // by OutMessage.Kind
	// Now returns the current time; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
	// Metrics, when set, is told every outcome.
	Metrics Metrics
	// Batch is how many messages one round fetches; 64 when zero.
	Batch int
	// Concurrency is how many messages (to different recipients) are sent
	// at once; 4 when zero.
	Concurrency int
	// MinBackoff and MaxBackoff bound the retry delay; 2 s and 10 min when zero.
	MinBackoff, MaxBackoff time.Duration
	// MaxAttempts is how many failed attempts (rate limits aside) make a
	// message dead; 15 when zero (about a day and a half of retries).
	MaxAttempts int
	// SendTimeout bounds one send; 30 s when zero. Sends run on a context
	// detached from Run's, so shutdown lets them finish and be recorded.
	SendTimeout time.Duration
	// FeedLookahead is how many messages a NoticeFeeder store fills each
	// recipient's queue up to; NoticeLookahead when zero.
	FeedLookahead int
	// Deadline, when set, returns the time after which no send may start
	// or go on (ok false: none), asked again when it passes: the leader's
	// lease, so that a leader paused past it (its sends already begun in
	// the store) sends nothing when it resumes while another instance
	// leads, which would deliver the same messages.
	Deadline func() (t time.Time, ok bool)

	once sync.Once
	kick chan struct{}
}

func (w *Worker) init() {
	w.once.Do(func() {
		w.kick = make(chan struct{}, 1)
	})
}

// Kick wakes the worker to look for due messages now (call it after a
// command that enqueued something). It never blocks.
func (w *Worker) Kick() {
	w.init()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Worker) logger() *slog.Logger {
	if w.Logger != nil {
		return w.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Run delivers messages until ctx is cancelled, then waits for sends in
// flight to be recorded and returns nil. It returns an error only when the
// store fails in a way it cannot wait out.
func (w *Worker) Run(ctx context.Context) error {
	w.init()
	log := w.logger()
	minWait := orDefault(w.MinBackoff, 2*time.Second)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-w.kick:
		}
		n, err := w.RunOnce(ctx)
		if err != nil {
			log.Error("outbox: round failed", slog.Any("error", err))
		}
		if ctx.Err() != nil {
			return nil
		}
		var wait time.Duration
		switch {
		case err != nil:
			wait = minWait
		case n > 0:
			wait = 0 // the next message of each recipient may be due now
		default:
			next, ok, err := w.Store.OutboxNext(ctx, w.kinds()...)
			switch {
			case err != nil:
				log.Error("outbox: next", slog.Any("error", err))
				wait = minWait
			case !ok:
				wait = time.Hour // nothing queued; Kick wakes us
			default:
				wait = next.Sub(w.now())
				// Nothing was due although something claims to be: a
				// message waiting behind its recipient's retrying head.
				// Do not spin; look again shortly.
				if wait <= 0 {
					wait = minWait
				}
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
	}
}

// kinds are the message kinds this worker has senders for. Messages of
// other kinds (a part that is switched off) stay queued, untouched, for a
// daemon that can deliver them.
func (w *Worker) kinds() []string {
	ks := make([]string, 0, len(w.Senders))
	for k := range w.Senders {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// RunOnce sends every message due now (at most Batch), different
// recipients concurrently, and records each outcome. It returns how many
// messages it attempted.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	// A store that derives notices from stored state queues them at the
	// start of every round, when this worker delivers Slack messages, so
	// that they are built at the pace their recipients' queues drain. An
	// error is logged and the round goes on with what is queued.
	if f, ok := w.Store.(NoticeFeeder); ok && w.Senders[casebot.OutSlack] != nil {
		if _, err := f.FeedNotices(ctx, orDefault(w.FeedLookahead, NoticeLookahead)); err != nil {
			w.logger().Error("outbox: feed notices", slog.Any("error", err))
		}
	}
	msgs, err := w.Store.OutboxDue(ctx, w.now(), orDefault(w.Batch, 64), w.kinds()...)
	if err != nil {
		return 0, fmt.Errorf("outbox: due: %w", err)
	}
	if len(msgs) == 0 {
		return 0, nil
	}
	sem := make(chan struct{}, orDefault(w.Concurrency, 4))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for _, m := range msgs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := w.deliver(ctx, m); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return len(msgs), firstErr
}

// deliver sends one message and records the outcome; it returns only store
// errors.
func (w *Worker) deliver(ctx context.Context, m casebot.OutMessage) error {
	log := w.logger().With(slog.Uint64("outbox_id", m.ID), slog.String("kind", m.Kind), slog.String("key", m.Key))
	// Detached so that shutdown does not cut a send in half: the outcome
	// is always recorded, which is what keeps a clean restart exact.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), orDefault(w.SendTimeout, 30*time.Second))
	defer cancel()

	s, ok := w.Senders[m.Kind]
	var err error
	if !ok {
		err = Permanent(fmt.Errorf("no sender for kind %q", m.Kind))
	} else {
		var arrived bool
		arrived, err = w.begin(sctx, s, m, log)
		if err != nil && !errors.Is(err, errConfirm) {
			return err // the store failed: try again next round
		}
		if arrived {
			w.Metrics.sent(m.Kind)
			if err := w.Store.OutboxDone(sctx, m.ID); err != nil {
				return fmt.Errorf("outbox: done %d: %w", m.ID, err)
			}
			log.Info("outbox: message had arrived before a crash; not sent again", slog.Int("attempts", m.Attempts))
			return nil
		}
		if err == nil {
			err = w.send(sctx, s, m)
		}
	}
	if err == nil {
		w.Metrics.sent(m.Kind)
		if err := w.Store.OutboxDone(sctx, m.ID); err != nil {
			return fmt.Errorf("outbox: done %d: %w", m.ID, err)
		}
		log.Debug("outbox: delivered", slog.Int("attempts", m.Attempts+1))
		return nil
	}
	w.Metrics.failed(m.Kind)

	var ra RetryAfterError
	rateLimited := errors.As(err, &ra)
	attempts := m.Attempts + 1
	if IsPermanent(err) || (!rateLimited && attempts >= orDefault(w.MaxAttempts, 15)) {
		w.Metrics.dead(m.Kind)
		log.Error("outbox: giving up on message", slog.Int("attempts", attempts), slog.Any("error", err))
		if dl, ok := w.Store.(DeadLetterer); ok {
			if err := dl.OutboxDead(sctx, m.ID, err.Error()); err != nil {
				return fmt.Errorf("outbox: dead %d: %w", m.ID, err)
			}
			return nil
		}
		if err := w.Store.OutboxDone(sctx, m.ID); err != nil {
			return fmt.Errorf("outbox: drop %d: %w", m.ID, err)
		}
		return nil
	}
	var delay time.Duration
	if rateLimited {
		delay = ra.RetryAfter()
	} else {
		delay = w.Backoff(attempts)
	}
	log.Warn("outbox: send failed, will retry", slog.Int("attempts", attempts), slog.Duration("retry_in", delay), slog.Any("error", err))
	if err := w.Store.OutboxRetry(sctx, m.ID, w.now().Add(delay), err.Error()); err != nil {
		return fmt.Errorf("outbox: retry %d: %w", m.ID, err)
	}
	return nil
}

// errConfirm marks a failure to find out whether a message had arrived;
// it counts as a failed attempt.
var errConfirm = errors.New("outbox: confirm delivery")

// begin marks m in flight when the store can, and when an earlier attempt
// had begun without an outcome asks the sender, if it can tell, whether m
// arrived. It returns a store error as is, and a failure to tell wrapped in
// errConfirm.
func (w *Worker) begin(ctx context.Context, s Sender, m casebot.OutMessage, log *slog.Logger) (arrived bool, err error) {
	b, ok := w.Store.(Beginner)
	if !ok {
		return false, nil
	}
	resumed, err := b.OutboxBegin(ctx, m.ID)
	if err != nil {
		return false, fmt.Errorf("outbox: begin %d: %w", m.ID, err)
	}
	c, ok := s.(Confirmer)
	if !resumed || !ok {
		return false, nil
	}
	arrived, err = c.Delivered(ctx, m)
	switch {
	case err == nil:
		return arrived, nil
	case IsPermanent(err):
		log.Warn("outbox: cannot tell whether an interrupted send arrived; sending again", slog.Any("error", err))
		return false, nil
	}
	return false, fmt.Errorf("%w: %w", errConfirm, err)
}

// errLeaseOut is why a send is not made, or is cut short: the leader's
// lease (Worker.Deadline) ran out before it was renewed.
var errLeaseOut = errors.New("outbox: the leader's lease ran out (was this process paused?)")

// send hands m to s under the worker's Deadline, if any: a send that would
// start after it is not made, and one under way is cancelled when the
// deadline passes without having moved on (a lease renewed in the
// meantime lets a long send, an email with large attachments, finish).
// The watch is a goroutine of the send's own, which ends with it.
func (w *Worker) send(ctx context.Context, s Sender, m casebot.OutMessage) error {
	if w.Deadline == nil {
		return s.Send(ctx, m)
	}
	d, ok := w.Deadline()
	if !ok {
		return s.Send(ctx, m)
	}
	if !time.Now().Before(d) {
		return errLeaseOut
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	done := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		t := time.NewTimer(time.Until(d))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if d, ok := w.Deadline(); ok && time.Now().Before(d) {
					t.Reset(time.Until(d))
					continue
				}
				cancel(errLeaseOut)
				return
			}
		}
	}()
	err := s.Send(ctx, m)
	close(done)
	<-watched
	if err != nil && context.Cause(ctx) == errLeaseOut {
		return fmt.Errorf("%w: %w", errLeaseOut, err)
	}
	return err
}

// Backoff returns the delay before the next try after attempts failures:
// exponential from MinBackoff, capped at MaxBackoff, with the jitter of
// internal/backoff so that many messages failing together do not retry
// together.
func (w *Worker) Backoff(attempts int) time.Duration {
	return backoff.Policy{
		Min: orDefault(w.MinBackoff, 2*time.Second),
		Max: orDefault(w.MaxBackoff, 10*time.Minute),
	}.Delay(attempts)
}
