package mail_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	gomail "github.com/emersion/go-message/mail"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/internal/testserver"
	"github.com/casebot/casebot/mail"
	"github.com/casebot/casebot/outbox"
)

// received is one attachment of a delivered message.
type received struct {
	name, typ, sum string
}

// attachmentsOf parses a delivered message with go-message and returns
// its text and attachments.
func attachmentsOf(tb testing.TB, raw []byte) (string, []received) {
	tb.Helper()
	r, _ := readMail(tb, raw)
	var text string
	var out []received
	for {
		p, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			tb.Fatalf("part: %v", err)
		}
		body, err := io.ReadAll(p.Body)
		if err != nil {
			tb.Fatal(err)
		}
		switch h := p.Header.(type) {
		case *gomail.InlineHeader:
			text = string(body)
		case *gomail.AttachmentHeader:
			name, err := h.Filename()
			if err != nil {
				tb.Fatal(err)
			}
			typ, _, _ := h.ContentType()
			out = append(out, received{name, typ, hexSum(body)})
		}
	}
	return text, out
}

// email --attach: the outbox message carries doc#s; with the server down
// nothing is lost, and once it is up each party gets the message once,
// with the documents' exact bytes under their (UTF-8, RFC 2231) names.
func TestEmailAttachmentsThroughOutbox(t *testing.T) {
	ctx := context.Background()
	s := startIMAP(t)
	db := openStore(t, bytes.Repeat([]byte{9}, 32))
	c := newCase(t, db, ann, bob)
	pdf := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("Stellungnahme \x00\xff"), 4000)...)
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01")
	s.append(t, "INBOX", mimeMail(c.ID, "a1@example.com", "Our papers.",
		part{"Content-Type: application/pdf\r\nContent-Disposition: attachment; filename*=UTF-8''Stellungnahme_M%C3%BCller.pdf\r\n", pdf},
		part{"Content-Type: image/png\r\nContent-Disposition: attachment; filename=\"photo.png\"\r\n", png}))
	if err := newIntake(t, s, db, nil).RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	k := &mail.Composer{Addr: testAddressing(t)}
	msgs, err := k.CaseMail(c, nil, "", "Please find the papers attached.", false, "email/1")
	if err != nil || len(msgs) != 2 {
		t.Fatalf("CaseMail = %d messages, %v", len(msgs), err)
	}
	for i := range msgs {
		msgs[i].Attach = []int{2, 1}
	}
	if _, err := db.UpdateCase(ctx, c.ID, func(*casebot.Case) (casebot.Change, error) {
		return casebot.Change{Actor: "U1", Action: "email.send", Outbox: msgs}, nil
	}); err != nil {
		t.Fatal(err)
	}

	srv := testserver.NewSMTP(t, testserver.SMTPOptions{})
	sender := func(addr string) *mail.SMTPSender {
		snd, err := mail.NewSMTPSender(mail.SMTPConfig{Addr: addr, TLS: mail.TLSNone, Addressing: testAddressing(t), Cases: db, Documents: db})
		if err != nil {
			t.Fatal(err)
		}
		return snd
	}
	now := time.Now()
	w := &outbox.Worker{Store: db, Senders: map[string]outbox.Sender{casebot.OutEmail: sender("127.0.0.1:1")}, Now: func() time.Time { return now }}
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.OutboxDepth(ctx); n != 2 {
		t.Fatalf("outbox depth %d with the server down, want both messages waiting", n)
	}
	w.Senders[casebot.OutEmail] = sender(srv.Addr())
	for range 3 {
		now = now.Add(time.Hour)
		if _, err := w.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got := srv.Messages()
	if len(got) != 2 {
		t.Fatalf("server got %d messages, want one per party", len(got))
	}
	want := []received{{"photo.png", "image/png", hexSum(png)}, {"Stellungnahme_Müller.pdf", "application/pdf", hexSum(pdf)}}
	to := map[string]int{}
	for i, g := range got {
		to[g.Rcpt[0]]++
		if !bytes.Contains(g.Data, []byte("filename*=utf-8''Stellungnahme_M%C3%BCller.pdf")) {
			t.Errorf("message %d: no RFC 2231 file name:\n%.2000s", i, g.Data)
		}
		text, atts := attachmentsOf(t, g.Data)
		if !strings.Contains(text, "Please find the papers attached.") {
			t.Errorf("message %d text %q", i, text)
		}
		if len(atts) != len(want) || atts[0] != want[0] || atts[1] != want[1] {
			t.Errorf("message %d attachments %+v, want %+v", i, atts, want)
		}
	}
	if to[ann.Email] != 1 || to[bob.Email] != 1 {
		t.Errorf("recipients %v, want ann and bob once each", to)
	}
	if n, _ := db.OutboxDepth(ctx); n != 0 {
		t.Errorf("outbox depth %d after delivery", n)
	}
}

// A message whose document is gone (or was never kept) fails for good
// without reaching the server: no party gets a mail without the
// attachments it claims.
func TestEmailAttachmentGoneIsDead(t *testing.T) {
	ctx := context.Background()
	s := startIMAP(t)
	db := openStore(t, nil)
	c := newCase(t, db, ann)
	s.append(t, "INBOX", mimeMail(c.ID, "big@example.com", "A big file.",
		part{"Content-Type: application/zip\r\nContent-Disposition: attachment; filename=\"evidence.zip\"\r\n", bytes.Repeat([]byte("z"), 5000)}))
	if err := newIntake(t, s, db, func(cfg *mail.IntakeConfig) { cfg.Limits.MaxAttachmentBytes = 1000 }).RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	srv := testserver.NewSMTP(t, testserver.SMTPOptions{})
	snd, err := mail.NewSMTPSender(mail.SMTPConfig{Addr: srv.Addr(), TLS: mail.TLSNone, Addressing: testAddressing(t), Cases: db, Documents: db})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		attach []int
		want   string
	}{
		{"purged", []int{7}, "document #7 of " + c.ID + " to attach is gone"},
		{"not kept", []int{1}, "document #1 of " + c.ID + " to attach was not kept"},
	} {
		m := casebot.OutMessage{Kind: casebot.OutEmail, To: ann.Email, CaseID: c.ID, Subject: "[" + c.ID + "] x", Text: "see attached", Attach: tt.attach}
		err := snd.Send(ctx, m)
		if !outbox.IsPermanent(err) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Send = %v, want a permanent error saying %q", tt.name, err, tt.want)
		}
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("server got %d messages, want none", n)
	}
}
