package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/casebot/casebot/internal/backoff"
	"github.com/casebot/casebot/store"
	"github.com/casebot/casebot/store/kv"
)

// openRetry is the back-off of serve's attempts to reach a PostgreSQL
// database at start-up; openLogEvery rate-limits the log of failures.
var (
	openRetry    = backoff.Policy{Min: 500 * time.Millisecond, Max: 15 * time.Second}
	openLogEvery = 30 * time.Second
)

// openDB opens the configured store. serve, on PostgreSQL, waits for a
// database that cannot be reached: it retries with back-off until it can
// (or ctx ends), logging why (the host, never the password; at most every
// openLogEvery) while /healthz answers 503 with the reason. Any other
// failure (a wrong key, a newer schema) fails at once, as do failures of
// `casebot do` and the other one-shot commands.
func (d *Daemon) openDB(ctx context.Context, opts store.Options) (*store.DB, error) {
	where := d.Config.Store.Display()
	var lastLog time.Time
	for failures := 1; ; failures++ {
		db, err := store.Open(ctx, d.Config.Store.Location(), opts)
		if err == nil {
			if failures > 1 {
				d.Logger.Info("store reachable; starting", slog.String("store", where), slog.Int("attempts", failures))
			}
			d.startErr.Store(nil)
			return db, nil
		}
		if !d.retryOpen || !unreachable(err) || ctx.Err() != nil {
			return nil, err
		}
		reason := "store unavailable: " + err.Error()
		d.startErr.Store(&reason)
		wait := openRetry.Delay(failures)
		if time.Since(lastLog) >= openLogEvery {
			d.Logger.Warn("store unavailable; retrying", slog.String("store", where), slog.Int("attempts", failures),
				slog.Duration("next_try_in", wait), slog.Any("error", err))
			lastLog = time.Now()
		}
		if !backoff.Sleep(ctx, wait) {
			return nil, err
		}
	}
}

// unreachable reports whether an open failed for want of the database
// (worth waiting for) rather than for what it found there.
func unreachable(err error) bool {
	var ce *pgconn.ConnectError
	return errors.Is(err, kv.ErrUnavailable) || errors.As(err, &ce)
}

// serveHTTP starts serving the listener; Run collects the result.
func (d *Daemon) serveHTTP() {
	d.httpErr = make(chan error, 1)
	go func() { d.httpErr <- d.server.Serve(d.ln) }()
}

// gate routes requests to the daemon's mux once it is set up; before, it
// answers 503 with why (the store not reachable yet).
func (d *Daemon) gate(w http.ResponseWriter, r *http.Request) {
	if d.ready.Load() {
		d.mux.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	reason := "starting"
	if p := d.startErr.Load(); p != nil {
		reason = "starting: " + *p
	}
	http.Error(w, reason, http.StatusServiceUnavailable)
}

// registerLeaderGauge adds casebot_leader: 1 while this instance runs the
// leader's work (always on bbolt), 0 otherwise.
func (d *Daemon) registerLeaderGauge() {
	d.Metrics.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "casebot_leader",
		Help: "1 on the instance that runs mail intake, the scheduler and the outbox (the leader), 0 on the others.",
	}, func() float64 {
		if d.roles.elector == nil || d.roles.leading.Load() {
			return 1
		}
		return 0
	}))
}

// closeRoles ends the election's pool and sends wake-ups a one-shot
// command left pending. Close calls it before closing the store.
func (d *Daemon) closeRoles() {
	if w := d.roles.wake; w != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		w.flush(ctx)
		cancel()
	}
	if d.roles.elector != nil {
		d.roles.elector.Close()
	}
}
