package main

import (
	"context"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/mail"
	"github.com/casebot/casebot/outbox"
)

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

// KickOutbox wakes the outbox worker to deliver what was just queued. It
// never blocks and does nothing when no worker runs.
func (d *Daemon) KickOutbox() {
	if d.outbox != nil {
		d.outbox.Kick()
	}
}

// noticeLookahead is how many messages may wait in a mediator's Slack
// queue before more email notices are queued behind them: Slack takes
// about one message a second per conversation, so this is seconds of work.
const noticeLookahead = 16

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
	if _, ok := d.senders[casebot.OutSlack]; ok {
		// The mediators' notices of ingested email wait in the store's
		// notice feed until their Slack queue has room.
		d.outbox.Feed = func(ctx context.Context) error {
			_, err := d.DB.FeedNotices(ctx, noticeLookahead, mail.NoteNotice)
			return err
		}
	}
	d.Go("outbox", d.outbox.Run)
	return nil
}
