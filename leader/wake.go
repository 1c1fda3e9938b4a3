package leader

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/casebot/casebot/internal/backoff"
)

// WakeChannel is the channel of wake-ups between instances; the payload
// names the leader's worker to wake.
const WakeChannel = "casebot_wake"

// What a wake-up wakes.
const (
	WakeScheduler = "scheduler"
	WakeOutbox    = "outbox"
)

// Notify sends NOTIFY casebot_wake, what through the elector's pool.
func (e *Elector) Notify(ctx context.Context, what string) error {
	if _, err := e.pool.Exec(ctx, "SELECT pg_notify($1, $2)", WakeChannel, what); err != nil {
		return fmt.Errorf("leader: notify %s: %w", what, err)
	}
	return nil
}

// NotifyOnce connects to the database at url, sends NOTIFY casebot_wake
// for each of whats, and disconnects (`casebot do` after a command).
func NotifyOnce(ctx context.Context, url string, whats ...string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("leader: notify: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, w := range whats {
		if _, err := conn.Exec(ctx, "SELECT pg_notify($1, $2)", WakeChannel, w); err != nil {
			return fmt.Errorf("leader: notify %s: %w", w, err)
		}
	}
	return nil
}

// Listen LISTENs on casebot_wake on a connection of its own and calls
// wake with each payload until ctx ends. A lost connection is made again
// with back-off; once listening again (and when it first listens) it calls
// wake for both workers, since notices sent meanwhile were lost. It
// returns nil when ctx ends.
func Listen(ctx context.Context, url string, log *slog.Logger, wake func(what string)) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	policy := backoff.Policy{Min: 200 * time.Millisecond, Max: 10 * time.Second}
	failures := 0
	for ctx.Err() == nil {
		err := listenOnce(ctx, url, func() {
			failures = 0
			wake(WakeScheduler)
			wake(WakeOutbox)
		}, wake)
		if ctx.Err() != nil {
			return nil
		}
		failures++
		if failures == 1 || failures%10 == 0 {
			log.Warn("leader: wake-up listener lost its connection; reconnecting", slog.Int("failures", failures), slog.Any("error", err))
		}
		if !backoff.Sleep(ctx, policy.Delay(failures)) {
			return nil
		}
	}
	return nil
}

// listenOnce listens on one connection until it fails or ctx ends.
func listenOnce(ctx context.Context, url string, listening func(), wake func(string)) error {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	conn, err := pgx.Connect(cctx, url)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+WakeChannel); err != nil {
		return err
	}
	listening()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if n.Channel == WakeChannel {
			wake(n.Payload)
		}
	}
}
