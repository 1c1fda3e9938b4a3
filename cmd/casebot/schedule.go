package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/casebot/casebot/bot"
	"github.com/casebot/casebot/scheduler"
	"github.com/casebot/casebot/store"
)

var _ scheduler.Store = (*store.DB)(nil)

// quarantineCounter is implemented by a store that keeps quarantined mail.
type quarantineCounter interface {
	QuarantineCount(ctx context.Context) (int, error)
}

// daemonClock is the scheduler's clock: the daemon's Now (so tests that
// inject d.Now move the scheduler too) and real timers.
type daemonClock struct{ now func() time.Time }

func (c daemonClock) Now() time.Time                         { return c.now() }
func (c daemonClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// reschedules are the commands whose success can change what falls due
// when: they wake the scheduler. Others (show, list, search, …) do not, so
// a busy caseload does not rescan the time indexes after every read.
var reschedules = map[string]bool{
	"new": true, "assign": true, "party add": true, "party remove": true, "party clear": true,
	"deadline": true, "done": true, "session": true, "reschedule": true, "cancel": true,
	"status": true, "close": true,
}

// setupScheduler adds the scheduler worker (reminders, overdue notices,
// digests), registers the digest command, and makes every command that can
// change what falls due (reschedules) wake the scheduler when it succeeds,
// so a new deadline or session is seen at once. It runs last among the
// extensions so that it wraps every such command.
func (d *Daemon) setupScheduler(ctx context.Context) error {
	cfg := d.Config.Schedule
	digest, err := scheduler.ParseDaily(cfg.Digest)
	if err != nil {
		return fmt.Errorf("daemon: schedule.digest: %w", err)
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
		return fmt.Errorf("daemon: scheduler: %w", err)
	}
	if err := d.Bot.Register(bot.Command{Usage: "digest", Summary: "your daily digest now", Slow: true,
		Help: "The same summary the daily digest sends: today's sessions, deadlines in the next 7 days, overdue items, " +
			"party emails since your last digest, cases without activity for 14 days; for admins also the quarantine and caseload balance.",
		Handle: func(ctx context.Context, r *bot.Request) bot.Reply {
			dg, err := sched.DigestNow(ctx, r.Actor.ID, r.Now)
			if err != nil {
				return r.Fail(fmt.Errorf("digest: %w", err))
			}
			return bot.Reply{Text: bot.RenderDigest(&dg)}
		}}); err != nil {
		return fmt.Errorf("daemon: register digest: %w", err)
	}
	for _, c := range d.Bot.Commands() {
		if c.Handle == nil || !reschedules[c.Name()] {
			continue
		}
		h := c.Handle
		c.Handle = func(ctx context.Context, r *bot.Request) bot.Reply {
			rep := h(ctx, r)
			if rep.Err == nil {
				sched.Kick()
			}
			return rep
		}
		if err := d.Bot.Register(c); err != nil {
			return fmt.Errorf("daemon: wrap %s: %w", c.Name(), err)
		}
	}
	d.sched = sched
	d.Go("scheduler", sched.Run)
	d.Logger.Info("scheduler on", slog.String("digest", cfg.Digest), slog.Any("reminders", cfg.Reminders),
		slog.Bool("party_reminders", sc.Composer != nil))
	return nil
}

// KickScheduler makes the scheduler look at the time indexes now instead of
// at its next due time (tests that move an injected clock use it). It never
// blocks and does nothing when the scheduler is off.
func (d *Daemon) KickScheduler() {
	if d.sched != nil {
		d.sched.Kick()
	}
}
