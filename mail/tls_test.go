package mail_test

import (
	"context"
	"crypto/tls"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/internal/testserver"
	"github.com/casebot/casebot/mail"
)

// Intake over implicit TLS and over STARTTLS reads mail into notes, and
// refuses a server whose certificate it does not trust.
func TestIntakeOverTLS(t *testing.T) {
	serverTLS, roots := testserver.SelfSigned(t)
	for _, mode := range []string{mail.TLSImplicit, mail.TLSStartTLS} {
		t.Run(mode, func(t *testing.T) {
			s := startIMAPServer(t, imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}}, serverTLS, mode == mail.TLSImplicit)
			db := openStore(t, nil)
			c := newCase(t, db, ann)
			s.append(t, "INBOX", rawMail(ann.Email, testAddressing(t).ReplyTo(c), "over "+mode, "tls-"+mode+"@x", "sent over "+mode))
			in := newIntake(t, s, db, func(cfg *mail.IntakeConfig) {
				cfg.TLS = mode
				cfg.TLSConfig = &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}
			})
			if err := in.RunOnce(context.Background()); err != nil {
				t.Fatalf("RunOnce over %s: %v", mode, err)
			}
			if n := noteCount(t, db, c.ID); n != 1 {
				t.Fatalf("%d notes over %s, want 1", n, mode)
			}
			untrusting := newIntake(t, s, db, func(cfg *mail.IntakeConfig) {
				cfg.TLS = mode
				cfg.TLSConfig = &tls.Config{ServerName: "127.0.0.1"} // system roots only
			})
			if err := untrusting.RunOnce(context.Background()); err == nil {
				t.Fatalf("intake over %s trusted a self-signed certificate", mode)
			}
		})
	}
}

// The SMTP sender delivers over implicit TLS and over STARTTLS.
func TestSMTPOverTLS(t *testing.T) {
	serverTLS, roots := testserver.SelfSigned(t)
	for _, mode := range []string{mail.TLSImplicit, mail.TLSStartTLS} {
		t.Run(mode, func(t *testing.T) {
			srv := testserver.NewSMTP(t, testserver.SMTPOptions{TLS: serverTLS, ImplicitTLS: mode == mail.TLSImplicit})
			db := openStore(t, nil)
			c := newCase(t, db, ann)
			snd, err := mail.NewSMTPSender(mail.SMTPConfig{Addr: srv.Addr(), TLS: mode, Addressing: testAddressing(t), Cases: db,
				TLSConfig: &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}})
			if err != nil {
				t.Fatal(err)
			}
			m := casebot.OutMessage{ID: 1, Key: "k", Kind: casebot.OutEmail, To: ann.Email, ToName: ann.Name, CaseID: c.ID,
				Subject: "[" + c.ID + "] over " + mode, Text: "hello", MessageID: "tls-" + mode + "@practice.example"}
			if err := snd.Send(context.Background(), m); err != nil {
				t.Fatalf("Send over %s: %v", mode, err)
			}
			if got := srv.Messages(); len(got) != 1 || len(got[0].Rcpt) != 1 || got[0].Rcpt[0] != ann.Email {
				t.Fatalf("delivered over %s: %+v", mode, got)
			}
			// A sender that does not trust the certificate delivers nothing:
			// the connection really is encrypted and checked.
			untrusting, err := mail.NewSMTPSender(mail.SMTPConfig{Addr: srv.Addr(), TLS: mode, Addressing: testAddressing(t), Cases: db,
				TLSConfig: &tls.Config{ServerName: "127.0.0.1"}})
			if err != nil {
				t.Fatal(err)
			}
			m.ID, m.Key, m.MessageID = 2, "k2", "tls2-"+mode+"@practice.example"
			if err := untrusting.Send(context.Background(), m); err == nil {
				t.Fatalf("a sender over %s trusted a self-signed certificate", mode)
			}
			if n := len(srv.Messages()); n != 1 {
				t.Fatalf("%d messages after the untrusted send, want still 1", n)
			}
		})
	}
}
