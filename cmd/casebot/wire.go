package main

import "context"

// extensions returns the set-up steps of casebot's optional parts. Open runs
// them in order after the store, bot, metrics and the core HTTP routes exist
// and before anything is served. A step may:
//   - mount HTTP handlers: d.Handle("POST /slack/commands", h)
//   - add workers that Run starts and stops on every instance:
//     d.Go("slack socket mode", fn); or only on the leader, for work that
//     writes on its own (roles.go): d.GoLeader("imap intake", fn)
//   - read d.Config, d.DB, d.Bot, d.Metrics, d.Logger, d.Now, and set
//     d.UserLocation
//   - run commands through d.Command (it records metrics; a transport takes
//     it as its runner, e.g. slackbot.Config.Run), hand
//     d.Metrics.OutboxResult to outbox.Metrics; count intake and reminders
//     with d.Metrics.EmailsIngested.Inc, EmailsQuarantined.Inc, RemindersSent.Inc
//
// A step for a part that is switched off in the config returns nil at once.
// An error stops start-up; Open then closes everything.
//
// EXTENSION POINT: add one line per part (Slack, IMAP intake, outbox
// delivery, scheduler), each defined in its own file in this package.
func (d *Daemon) extensions() []func(ctx context.Context) error {
	return []func(ctx context.Context) error{
		d.setupSlack,     // POST /slack/commands, /slack/interactions, /slack/events, Socket Mode, DM and Home senders
		d.setupMail,      // IMAP intake worker, SMTP sender (mail.go)
		d.setupScheduler, // reminders, overdue notices, digests: starts the scheduler openCore built
	}
}
