package main

import (
	"context"
	"log/slog"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/mail"
	"github.com/casebot/casebot/outbox"
)

// setupMail wires email (SPEC §6): with imap.addr, the intake worker; with
// smtp.addr, the SMTP sender of the outbox worker. The email, quarantine,
// accept and reject commands get their services in openCore (d.mailComposer,
// d.quarantine).
func (d *Daemon) setupMail(ctx context.Context) error {
	cfg := d.Config
	if cfg.SMTPEnabled() {
		snd, err := d.mailSender() // refuses a bad smtp.from, which the composer uses too
		if err != nil {
			return err
		}
		d.AddSender(casebot.OutEmail, snd)
	}
	if !cfg.IMAPEnabled() {
		return nil
	}
	a, err := mail.NewAddressing(cfg.SMTP.From)
	if err != nil {
		return err
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
				d.KickOutbox() // the admins' Home refresh
			}
		},
	})
	if err != nil {
		return err
	}
	d.GoLeader("imap intake", in.Run)
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
		Addressing: a, Cases: db, Documents: db, Now: d.Now, Logger: log,
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

// quarantine returns the quarantine service for the quarantine, accept and
// reject commands, or nil while mail intake (imap.addr) is off.
func (d *Daemon) quarantine() casebot.QuarantineService {
	if !d.Config.IMAPEnabled() {
		return nil
	}
	return d.DB
}
