package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/casebot/casebot/leader"
	"github.com/casebot/casebot/store/kv"
)

// Roles (SPEC §11). Every instance serves HTTP, Slack and `do`; the
// leader alone runs the work that writes on its own: mail intake, the
// scheduler (reminders, digests, purge sweeps) and the outbox (which also
// feeds the mediators' notices of ingested mail and delivers Home
// refreshes). On bbolt the one instance is always the leader. On
// PostgreSQL a leader.Elector decides; the leader's workers run for one
// term with a context carrying the term's fence (kv.WithFence), so a
// deposed leader's writes are refused, and are cancelled and waited for
// when the term ends. Another term may follow later. A worker that fails
// ends the term (leader.Elector.Resign) instead of the daemon: another
// instance takes the work over, and this one serves on.

// roleState is the daemon's side of the election.
type roleState struct {
	elector *leader.Elector // nil on bbolt
	wake    *wakeSender     // nil on bbolt
	leading atomic.Bool

	mu     sync.Mutex
	runCtx context.Context // Run's context, set before the elector runs
	term   *term           // the running term's workers; nil when none
}

// term is one run of the leader's workers.
type term struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// GoLeader registers a worker that runs only while this instance is the
// leader (always on bbolt): mail intake, the scheduler, the outbox. Its
// context carries the leader's fence on PostgreSQL and ends when the
// instance stops leading; fn may be started again for a later term, and
// must keep no state between runs that another instance's term could
// invalidate. Call it during set-up.
func (d *Daemon) GoLeader(name string, fn func(ctx context.Context) error) {
	d.leaderWorkers = append(d.leaderWorkers, worker{name: name, run: fn})
}

// Leading reports whether this instance runs the leader's work now.
func (d *Daemon) Leading() bool { return d.roles.leading.Load() }

// newElector makes the elector for a PostgreSQL store (serve only) and the
// wake-up sender that reaches the leader from the other instances.
func (d *Daemon) newElector() error {
	st := d.Config.Store
	e, err := leader.New(leader.Config{
		URL:      st.Location(),
		Lease:    st.LeaseDuration,
		Logger:   d.Logger.With("component", "leader"),
		OnChange: d.switchRole,
	})
	if err != nil {
		return fmt.Errorf("daemon: leader election: %w", err)
	}
	d.roles.elector = e
	d.roles.wake = newWakeSender(e.Notify, d.Logger.With("component", "wake"))
	return nil
}

// startRoles starts the leader's workers on bbolt, or the election and the
// wake-up sender on PostgreSQL; start runs a goroutine Run waits for.
func (d *Daemon) startRoles(runCtx context.Context, start func(name string, fn func() error)) {
	r := &d.roles
	r.mu.Lock()
	r.runCtx = runCtx
	r.mu.Unlock()
	if r.elector == nil {
		r.leading.Store(true)
		for _, w := range d.leaderWorkers {
			start(w.name, func() error { return w.run(runCtx) })
		}
		return
	}
	start("leader election", func() error { return r.elector.Run(runCtx) })
	start("wake-ups", func() error { return r.wake.run(runCtx) })
}

// switchRole starts the leader's workers for a new term, or stops them
// (and waits for them) when the term ends. The elector calls it.
func (d *Daemon) switchRole(role leader.Role) {
	r := &d.roles
	r.mu.Lock()
	defer r.mu.Unlock()
	if t := r.term; t != nil {
		r.leading.Store(false)
		t.cancel()
		t.wg.Wait()
		r.term = nil
	}
	if !role.Leader {
		d.Logger.Info("role changed: follower; the leader's workers stopped")
		return
	}
	ctx, cancel := context.WithCancel(kv.WithFence(r.runCtx, kv.Fence{Name: leader.Name, Token: role.Token}))
	t := &term{cancel: cancel}
	run := func(name string, fn func(ctx context.Context) error) {
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				// The instance keeps serving: it gives the term up, so that
				// another instance runs the leader's work, and campaigns
				// again a lease later.
				d.Logger.Error("leader's worker failed; giving up the leader term",
					slog.String("worker", name), slog.Any("error", err), slog.Int64("token", role.Token))
				r.elector.Resign(role.Token, name+" failed")
			}
		}()
	}
	for _, w := range d.leaderWorkers {
		run(w.name, w.run)
	}
	run("wake-up listener", func(ctx context.Context) error {
		return leader.Listen(ctx, d.Config.Store.Location(), d.Logger.With("component", "wake"), d.wakeLocal)
	})
	r.term = t
	r.leading.Store(true)
	d.Logger.Info("role changed: leader; mail intake, scheduler and outbox started",
		slog.Int64("token", role.Token), slog.Int("workers", len(d.leaderWorkers)))
}

// wakeLocal wakes this instance's scheduler or outbox (a NOTIFY heard).
func (d *Daemon) wakeLocal(what string) {
	switch what {
	case leader.WakeScheduler:
		if d.sched != nil {
			d.sched.Kick()
		}
	case leader.WakeOutbox:
		if d.outbox != nil {
			d.outbox.Kick()
		}
	}
}

// wake wakes the leader's scheduler or outbox: here when this instance
// leads (or on bbolt), else through the database (NOTIFY).
func (d *Daemon) wake(what string) {
	if d.roles.wake == nil || d.roles.leading.Load() {
		d.wakeLocal(what)
		return
	}
	d.roles.wake.send(what)
}

// roleName names the role for the log.
func (d *Daemon) roleName() string {
	switch {
	case d.roles.elector == nil:
		return "leader (single instance on bbolt)"
	case d.roles.leading.Load():
		return "leader"
	default:
		return "follower (campaigning for the leader lease)"
	}
}

// wakeSender sends wake-ups to the leader without blocking its callers:
// requests are coalesced per worker and sent by run (or by flush, for a
// `casebot do` that exits right after its command).
type wakeSender struct {
	notify  func(ctx context.Context, what string) error
	log     *slog.Logger
	pending [2]atomic.Bool // scheduler, outbox
	signal  chan struct{}
	lastErr atomic.Int64 // unix nanoseconds of the last logged failure
}

var wakeWhats = [2]string{leader.WakeScheduler, leader.WakeOutbox}

func newWakeSender(notify func(ctx context.Context, what string) error, log *slog.Logger) *wakeSender {
	return &wakeSender{notify: notify, log: log, signal: make(chan struct{}, 1)}
}

// send asks for a wake-up of what; it never blocks.
func (w *wakeSender) send(what string) {
	for i, s := range wakeWhats {
		if s == what {
			w.pending[i].Store(true)
		}
	}
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

// run sends pending wake-ups until ctx ends.
func (w *wakeSender) run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			w.flush(context.WithoutCancel(ctx))
			return nil
		case <-w.signal:
			w.flush(ctx)
		}
	}
}

// flush sends the pending wake-ups now. A failure is logged (at most every
// 30 s); the leader's next tick then does the work.
func (w *wakeSender) flush(ctx context.Context) {
	for i, what := range wakeWhats {
		if !w.pending[i].Swap(false) {
			continue
		}
		nctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := w.notify(nctx, what)
		cancel()
		if err != nil {
			now := time.Now().UnixNano()
			if last := w.lastErr.Load(); now-last > int64(30*time.Second) && w.lastErr.CompareAndSwap(last, now) {
				w.log.Warn("cannot wake the leader; it does the work at its next tick", slog.String("what", what), slog.Any("error", err))
			}
		}
	}
}

// offlineWake gives a one-shot command on PostgreSQL (`casebot do`) a way
// to wake the leader's scheduler and outbox: the wake-ups it asks for are
// sent by Close, each on a connection of its own.
func (d *Daemon) offlineWake() {
	if !d.Config.Store.Postgres() {
		return
	}
	url := d.Config.Store.Location()
	d.roles.wake = newWakeSender(func(ctx context.Context, what string) error {
		return leader.NotifyOnce(ctx, url, what)
	}, d.Logger.With("component", "wake"))
}
