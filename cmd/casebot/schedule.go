package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/casebot/casebot/leader"
	"github.com/casebot/casebot/scheduler"
	"github.com/casebot/casebot/store"
)

var _ scheduler.Store = (*store.DB)(nil)

// The store counts the quarantine for admins' Homes and digests.
var _ quarantineCounter = (*store.DB)(nil)

// quarantineCounter is implemented by a store that keeps quarantined mail.
type quarantineCounter interface {
	QuarantineCount(ctx context.Context) (int, error)
}

// daemonClock is the scheduler's clock: the daemon's Now (so tests that
// inject d.Now move the scheduler too) and real timers.
type daemonClock struct{ now func() time.Time }

func (c daemonClock) Now() time.Time                         { return c.now() }
func (c daemonClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// newScheduler builds the scheduler (reminders, overdue notices, digests)
// before the bot, which serves the digest command through it and wakes it
// after commands that can change what falls due. setupScheduler starts it.
func (d *Daemon) newScheduler() (*scheduler.Scheduler, error) {
	cfg := d.Config.Schedule
	digest, err := scheduler.ParseDaily(cfg.Digest)
	if err != nil {
		return nil, fmt.Errorf("daemon: schedule.digest: %w", err)
	}
	sc := scheduler.Config{
		Store:     d.DB,
		Composer:  d.mailComposer(),
		Digest:    digest,
		Reminders: cfg.ReminderOffsets,
		Catchup:   cfg.CatchupAge,
		Location:  cfg.Location,
		Admins:    d.Config.Slack.Admins,
		NoSlack:   !d.Config.SlackEnabled(),
		Clock:     daemonClock{now: d.Now},
		// The retention purge (records.retain_days; 0: off).
		Purger:           d.DB,
		RetainDays:       d.Config.Records.RetainDays,
		PurgeWarningDays: d.Config.Records.PurgeWarningDays,
		OnQueued: func(n int) {
			d.Metrics.RemindersSent.Add(float64(n))
			d.KickOutbox()
		},
		Logger: d.Logger.With("component", "scheduler"),
	}
	if q, ok := any(d.DB).(quarantineCounter); ok {
		sc.Quarantined = q.QuarantineCount
	}
	sched, err := scheduler.New(sc)
	if err != nil {
		return nil, fmt.Errorf("daemon: scheduler: %w", err)
	}
	return sched, nil
}

// setupScheduler starts the scheduler worker built by newScheduler.
func (d *Daemon) setupScheduler(ctx context.Context) error {
	cfg := d.Config.Schedule
	d.GoLeader("scheduler", d.sched.Run)
	d.Logger.Info("scheduler on", slog.String("digest", cfg.Digest), slog.Any("reminders", cfg.Reminders),
		slog.Bool("party_reminders", d.mailComposer() != nil))
	return nil
}

// KickScheduler makes the scheduler look at the time indexes now instead of
// at its next due time (tests that move an injected clock use it, and
// commands that change what falls due): this instance's when it leads,
// else the leader's (roles.go). It never blocks and does nothing when the
// scheduler is off.
func (d *Daemon) KickScheduler() {
	if d.sched != nil {
		d.wake(leader.WakeScheduler)
	}
}
