package main

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/bot"
	"github.com/casebot/casebot/mail"
	"github.com/casebot/casebot/outbox"
	"github.com/casebot/casebot/store"
)

// setupMail wires email (SPEC §6): with imap.addr, the intake worker and the
// quarantine, accept and reject commands; with smtp.addr, the email command.
// and the SMTP sender of the outbox worker.
func (d *Daemon) setupMail(ctx context.Context) error {
	cfg := d.Config
	if cfg.SMTPEnabled() {
		k, err := d.composer()
		if err != nil {
			return err
		}
		snd, err := d.mailSender()
		if err != nil {
			return err
		}
		d.AddSender(casebot.OutEmail, snd)
		if err := d.Bot.Register(bot.Command{Usage: "email <ID> [--to ROLE] <text>", Summary: "email the parties (or one role)", Slow: true,
			Help: "Parties get the text by email with the case ID in the subject; their replies come back as notes. " +
				"--to narrows it to one role (claimant, respondent, counsel, interpreter, observer, other).",
			Handle: func(ctx context.Context, r *bot.Request) bot.Reply { return handleEmail(ctx, r, k) }}); err != nil {
			return err
		}
	}
	if !cfg.IMAPEnabled() {
		return nil
	}
	a, err := mail.NewAddressing(cfg.SMTP.From)
	if err != nil {
		return err
	}
	for _, c := range []bot.Command{
		{Usage: "quarantine", Summary: "emails that matched no case or came from a stranger",
			Help:   "Admins see every quarantined email; a mediator sees those that named one of their cases.",
			Handle: func(ctx context.Context, r *bot.Request) bot.Reply { return handleQuarantine(ctx, r, d.DB) }},
		{Usage: "accept <mail#> <ID>", Summary: "file a quarantined email under a case as a note",
			Handle: func(ctx context.Context, r *bot.Request) bot.Reply { return handleAccept(ctx, r, d.DB) }},
		{Usage: "reject <mail#>", Summary: "discard a quarantined email",
			Handle: func(ctx context.Context, r *bot.Request) bot.Reply { return handleReject(ctx, r, d.DB) }},
	} {
		if err := d.Bot.Register(c); err != nil {
			return err
		}
	}
	in, err := mail.NewIntake(mail.IntakeConfig{
		Addr: cfg.IMAP.Addr, TLS: cfg.IMAP.TLS, Username: cfg.IMAP.Username, Password: cfg.IMAP.Password,
		Mailbox: cfg.IMAP.Mailbox, ProcessedMailbox: cfg.IMAP.ProcessedMailbox, Poll: cfg.IMAP.Poll,
		Limits:     mail.Limits{MaxMessageBytes: cfg.MailLimits.MaxMessageBytes, MaxAttachmentBytes: cfg.MailLimits.MaxAttachmentBytes},
		Addressing: a, Store: d.DB, Logger: d.Logger.With("component", "imap"),
		OnResult: func(r casebot.ItemResult) {
			switch r.Outcome {
			case casebot.OutcomeNote:
				d.Metrics.EmailsIngested.Inc()
				d.KickOutbox() // the mediator's notice
			case casebot.OutcomeQuarantine:
				d.Metrics.EmailsQuarantined.Inc()
			}
		},
	})
	if err != nil {
		return err
	}
	d.Go("imap intake", in.Run)
	return nil
}

// composer returns the mail composer for smtp.from, in the schedule's zone.
func (d *Daemon) composer() (*mail.Composer, error) {
	a, err := mail.NewAddressing(d.Config.SMTP.From)
	if err != nil {
		return nil, err
	}
	return &mail.Composer{Addr: a, Loc: d.Config.Schedule.Location, Now: d.Now}, nil
}

// mailComposer returns the composer of case mail for the scheduler (party
// session reminders), or nil while outbound mail is off.
func (d *Daemon) mailComposer() casebot.Composer {
	if !d.Config.SMTPEnabled() {
		return nil
	}
	k, err := d.composer()
	if err != nil {
		return nil
	}
	return k
}

// mailSender returns the outbox sender for casebot.OutEmail messages, or
// nil when smtp.addr is empty. A recipient the server refuses permanently is
// flagged as bouncing and the case's mediator told.
func (d *Daemon) mailSender() (outbox.Sender, error) {
	if !d.Config.SMTPEnabled() {
		return nil, nil
	}
	a, err := mail.NewAddressing(d.Config.SMTP.From)
	if err != nil {
		return nil, err
	}
	log := d.Logger.With("component", "smtp")
	db := d.DB
	s, err := mail.NewSMTPSender(mail.SMTPConfig{
		Addr: d.Config.SMTP.Addr, TLS: d.Config.SMTP.TLS, Username: d.Config.SMTP.Username, Password: d.Config.SMTP.Password,
		Addressing: a, Cases: db, Now: d.Now, Logger: log,
		OnReject: func(ctx context.Context, m casebot.OutMessage, reason string) {
			if _, err := db.FlagBouncing(ctx, m.To, m.CaseID, reason); err != nil {
				log.Error("smtp: flag bouncing address", slog.String("case", m.CaseID), slog.Any("error", err))
			}
		},
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

func handleEmail(ctx context.Context, r *bot.Request, k casebot.Composer) bot.Reply {
	if err := casebot.ValidateText("email", r.Args.Text); err != nil {
		return r.Usage(err)
	}
	var roles []casebot.Role
	if r.Args.To != "" {
		roles = []casebot.Role{r.Args.To}
	}
	var n int
	var skipped int
	key := fmt.Sprintf("email/%s/%s/%d", r.Args.ID, r.Actor.ID, r.Now.UnixNano())
	c, err := r.UpdateCase(ctx, r.Args.ID, func(c *casebot.Case) (casebot.Change, error) {
		msgs, err := k.CaseMail(c, roles, c.Title, r.Args.Text, false, key)
		if err != nil {
			return casebot.Change{}, err
		}
		for _, p := range c.Parties {
			if p.Bouncing && (len(roles) == 0 || p.Role == roles[0]) {
				skipped++
			}
		}
		if len(msgs) == 0 {
			who := "parties"
			if len(roles) > 0 {
				who = string(roles[0]) + " parties"
			}
			return casebot.Change{}, casebot.Errorf(casebot.EINVALID, "%s has no %s to email (add one with party add, or check for bouncing addresses).", c.ID, who)
		}
		n = len(msgs)
		return casebot.Change{Action: "email.send", Detail: fmt.Sprintf("to %d %s", n, plural(n, "party", "parties")), Outbox: msgs}, nil
	})
	if err != nil {
		return r.Fail(err)
	}
	text := fmt.Sprintf("Queued to %d %s of %s.", n, plural(n, "party", "parties"), c.ID)
	if skipped > 0 {
		text += fmt.Sprintf(" %d bouncing %s skipped.", skipped, plural(skipped, "address", "addresses"))
	}
	return bot.Reply{Text: text}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// mayHandle reports whether the actor may see and decide quarantined item
// q: admins every item, a mediator those that named one of their cases.
func mayHandle(ctx context.Context, r *bot.Request, q *casebot.Quarantined, cases casebot.CaseStore) bool {
	if r.Actor.Admin {
		return true
	}
	if q.CaseID == "" {
		return false
	}
	c, err := cases.Case(ctx, q.CaseID)
	return err == nil && r.Actor.CanSee(c)
}

func handleQuarantine(ctx context.Context, r *bot.Request, db *store.DB) bot.Reply {
	items, err := db.Quarantine(ctx, false)
	if err != nil {
		return r.Fail(err)
	}
	loc := r.Actor.Location()
	var b strings.Builder
	var buttons []casebot.Button
	shown := 0
	for i := range items {
		q := &items[i]
		if !mayHandle(ctx, r, q, db) {
			continue
		}
		shown++
		when := q.Received.In(loc).Format("2006-01-02 15:04 MST")
		fmt.Fprintf(&b, "#%d %s from %s: %q — %s", q.N, when, q.From, q.Subject, q.Reason)
		if q.CaseID != "" {
			fmt.Fprintf(&b, " (named %s)", q.CaseID)
			buttons = append(buttons, casebot.Button{ActionID: bot.ActionMailAccept, Label: fmt.Sprintf("Accept #%d into %s", q.N, q.CaseID),
				Value: fmt.Sprintf("%d/%s", q.N, q.CaseID)})
		}
		buttons = append(buttons, casebot.Button{ActionID: bot.ActionMailReject, Label: fmt.Sprintf("Reject #%d", q.N), Value: strconv.FormatUint(q.N, 10)})
		b.WriteString("\n")
	}
	if shown == 0 {
		return bot.Reply{Text: "No email is waiting in quarantine."}
	}
	head := fmt.Sprintf("%d %s in quarantine (accept <mail#> <ID> files one as a note, reject <mail#> discards it):\n", shown, plural(shown, "email", "emails"))
	return bot.Reply{Text: head + b.String(), Buttons: buttons}
}

func handleAccept(ctx context.Context, r *bot.Request, db *store.DB) bot.Reply {
	id := r.Args.ID
	target, err := r.Case(ctx, id)
	if err != nil {
		return r.Fail(err)
	}
	n := uint64(r.Args.N)
	q, err := db.QuarantineItem(ctx, n)
	if err != nil || !mayHandle(ctx, r, q, db) {
		return r.Fail(noMail(n))
	}
	notify := target.Mediator != r.Actor.ID // the mediator filed it: no need to tell them
	note, err := db.AcceptMail(ctx, n, id, r.Actor.ID, func(_ *casebot.Quarantined, c *casebot.Case) error {
		if !r.Actor.CanSee(c) {
			return casebot.ErrHidden(id)
		}
		return nil
	}, notify)
	if err != nil {
		return r.Fail(err)
	}
	return bot.Reply{Text: fmt.Sprintf("Email #%d from %s is note #%d of %s.", n, note.Author, note.N, id)}
}

func noMail(n uint64) error {
	return casebot.Errorf(casebot.ENOTFOUND, "There is no quarantined email #%d.", n)
}

func handleReject(ctx context.Context, r *bot.Request, db *store.DB) bot.Reply {
	n := uint64(r.Args.N)
	q, err := db.QuarantineItem(ctx, n)
	if err != nil || !mayHandle(ctx, r, q, db) {
		return r.Fail(noMail(n))
	}
	if err := db.RejectMail(ctx, n, r.Actor.ID, nil); err != nil {
		return r.Fail(err)
	}
	return bot.Reply{Text: fmt.Sprintf("Email #%d rejected; its content is deleted.", n)}
}
