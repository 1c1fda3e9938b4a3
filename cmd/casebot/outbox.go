package main

import (
	"context"
	"time"

	"github.com/casebot/casebot/leader"
	"github.com/casebot/casebot/outbox"
	"github.com/casebot/casebot/store"
)

// The store queues the mediators' notices of ingested email from its
// notice feed when the outbox worker asks at the start of each round.
var _ outbox.NoticeFeeder = (*store.DB)(nil)

// AddSender registers the outbox sender for one message kind (casebot.OutSlack,
// casebot.OutEmail). Parts call it during set-up; the outbox worker starts
// after set-up when at least one sender exists. Messages of a kind with no
// sender wait in the outbox until that part is configured.
func (d *Daemon) AddSender(kind string, s outbox.Sender) {
	if d.senders == nil {
		d.senders = map[string]outbox.Sender{}
	}
	d.senders[kind] = s
}

// KickOutbox wakes the outbox worker to deliver what was just queued: this
// instance's when it leads, else the leader's (roles.go). It never blocks
// and does nothing when there is no outbox worker.
func (d *Daemon) KickOutbox() {
	if d.outbox != nil {
		d.wake(leader.WakeOutbox)
	}
}

// leaseDeadline is the outbox's Deadline: on PostgreSQL, the end of the
// lease this instance holds (now when it holds none: nothing is sent); no
// limit on bbolt, where the one instance always leads.
func (d *Daemon) leaseDeadline() (time.Time, bool) {
	e := d.roles.elector
	if e == nil {
		return time.Time{}, false
	}
	if t, ok := e.LeaseValidUntil(); ok {
		return t, true
	}
	return time.Now(), true
}

// setupOutbox starts the delivery worker for the senders the parts added.
func (d *Daemon) setupOutbox(ctx context.Context) error {
	if len(d.senders) == 0 {
		return nil
	}
	d.outbox = &outbox.Worker{
		Store:   d.DB,
		Senders: d.senders,
		Now:     d.Now,
		Logger:  d.Logger.With("component", "outbox"),
		Metrics: d.Metrics.OutboxResult,
	}
	// A leader paused past its lease must not send what it began: the
	// instance leading by then sends it, once.
	d.outbox.Deadline = d.leaseDeadline
	d.GoLeader("outbox", d.outbox.Run)
	return nil
}
