package mail_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/internal/testserver"
	"github.com/casebot/casebot/mail"
	"github.com/casebot/casebot/outbox"
)

func newSender(tb testing.TB, addr string, cases mail.Lookup, onReject func(context.Context, casebot.OutMessage, string)) *mail.SMTPSender {
	tb.Helper()
	snd, err := mail.NewSMTPSender(mail.SMTPConfig{Addr: addr, TLS: mail.TLSNone, Addressing: testAddressing(tb), Cases: cases, OnReject: onReject})
	if err != nil {
		tb.Fatal(err)
	}
	return snd
}

func readMail(tb testing.TB, raw []byte) (*gomail.Reader, gomail.Header) {
	tb.Helper()
	r, err := gomail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		tb.Fatalf("received mail does not parse: %v\n%s", err, raw)
	}
	return r, r.Header
}

func TestCaseMailArrivesWithHeaders(t *testing.T) {
	ctx := context.Background()
	srv := testserver.NewSMTP(t, testserver.SMTPOptions{})
	db := openStore(t, nil)
	evil := casebot.Party{Role: casebot.RoleObserver, Name: "Mallory\r\nBcc: victim@example.net", Email: "mal@example.com"}
	gone := casebot.Party{Role: casebot.RoleCounsel, Name: "Gone", Email: "gone@example.com"}
	c := newCase(t, db, ann, bob, evil, gone)
	if _, err := db.FlagBouncing(ctx, gone.Email, c.ID, "test"); err != nil {
		t.Fatal(err)
	}
	c, _ = db.Case(ctx, c.ID)
	k := &mail.Composer{Addr: testAddressing(t)}
	msgs, err := k.CaseMail(c, nil, "Dates\r\nBcc: victim@example.net", "Please confirm the dates.", true, "email/1")
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 3 {
		t.Fatalf("%d messages, want 3 (the bouncing address skipped)", len(msgs))
	}
	only, _ := k.CaseMail(c, []casebot.Role{casebot.RoleRespondent}, "x", "y", false, "email/2")
	if len(only) != 1 || only[0].To != bob.Email {
		t.Fatalf("--to respondent gives %+v", only)
	}
	snd := newSender(t, srv.Addr(), db, nil)
	for _, m := range msgs {
		if err := snd.Send(ctx, m); err != nil {
			t.Fatalf("send to %s: %v", m.To, err)
		}
	}
	got := srv.Messages()
	if len(got) != 3 {
		t.Fatalf("server got %d messages", len(got))
	}
	for i, g := range got {
		if len(g.Rcpt) != 1 || g.Rcpt[0] != msgs[i].To || g.From != "cases@practice.example" {
			t.Errorf("envelope %d: from %s to %v, want to %s", i, g.From, g.Rcpt, msgs[i].To)
		}
		if bytes.Contains(bytes.ToLower(g.Data), []byte("\nbcc:")) {
			t.Errorf("message %d carries an injected Bcc header:\n%s", i, g.Data)
		}
		_, h := readMail(t, g.Data)
		if subj, _ := h.Subject(); subj != "["+c.ID+"] Dates Bcc: victim@example.net" {
			t.Errorf("subject = %q", subj)
		}
		rt, _ := h.AddressList("Reply-To")
		if len(rt) != 1 || rt[0].Address != "cases+"+lower(c.ID)+"."+c.Token+"@practice.example" {
			t.Errorf("Reply-To = %v", rt)
		}
		if id, _ := h.MessageID(); id != msgs[i].MessageID {
			t.Errorf("Message-ID = %q, want %q", id, msgs[i].MessageID)
		}
		if h.Get("Auto-Submitted") != "auto-generated" || h.Get("X-Auto-Response-Suppress") != "All" {
			t.Errorf("automatic mail lacks Auto-Submitted/X-Auto-Response-Suppress: %v", h.Header)
		}
		// The store remembers the Message-ID, so a reply threads.
		if err := db.Enqueue(ctx, msgs[i]); err != nil {
			t.Fatal(err)
		}
		if id, err := db.CaseForMessageID(ctx, msgs[i].MessageID); err != nil || id != c.ID {
			t.Errorf("CaseForMessageID = %q, %v", id, err)
		}
	}
	// An address flagged after queueing is not mailed.
	if _, err := db.FlagBouncing(ctx, bob.Email, c.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if err := snd.Send(ctx, only[0]); !outbox.IsPermanent(err) {
		t.Fatalf("send to a bouncing address: %v, want a permanent refusal", err)
	}
}

func TestInvitationsMeanWhatWasScheduled(t *testing.T) {
	ctx := context.Background()
	srv := testserver.NewSMTP(t, testserver.SMTPOptions{})
	db := openStore(t, nil)
	c := newCase(t, db, ann)
	k := &mail.Composer{Addr: testAddressing(t)}
	snd := newSender(t, srv.Addr(), db, nil)
	start := time.Date(2026, 12, 1, 14, 30, 0, 0, time.UTC)
	s := casebot.Session{N: 2, Start: start, Duration: 90 * time.Minute, Title: "Opening session", Where: "Room 4"}
	moved := s
	moved.Start, moved.Sequence = start.Add(24*time.Hour), 1
	var sent []casebot.OutMessage
	for _, step := range []struct {
		s      casebot.Session
		method string
	}{{s, casebot.MethodRequest}, {moved, casebot.MethodRequest}, {moved, casebot.MethodCancel}} {
		msgs, err := k.Invitation(c, step.s, step.method)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("Invitation = %v, %v", msgs, err)
		}
		if err := snd.Send(ctx, msgs[0]); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, msgs[0])
	}
	if sent[0].Key == sent[1].Key || sent[1].Key == sent[2].Key {
		t.Fatalf("invitation keys repeat: %q %q %q", sent[0].Key, sent[1].Key, sent[2].Key)
	}
	got := srv.Messages()
	want := []struct {
		method string
		seq    int
		start  time.Time
		status ical.EventStatus
	}{
		{"REQUEST", 0, start, ical.EventConfirmed},
		{"REQUEST", 1, start.Add(24 * time.Hour), ical.EventConfirmed},
		{"CANCEL", 1, start.Add(24 * time.Hour), ical.EventCancelled},
	}
	var uid string
	for i, g := range got {
		r, _ := readMail(t, g.Data)
		var ics []byte
		var calType string
		for {
			p, err := r.NextPart()
			if errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			ct := p.Header.Get("Content-Type")
			if strings.HasPrefix(ct, "text/calendar") {
				calType = ct
				ics, _ = io.ReadAll(p.Body)
			}
		}
		if !strings.Contains(calType, "method="+want[i].method) {
			t.Errorf("message %d: calendar part type %q, want method=%s", i, calType, want[i].method)
		}
		cal, err := ical.NewDecoder(bytes.NewReader(ics)).Decode()
		if err != nil {
			t.Fatalf("message %d: .ics does not parse: %v\n%s", i, err, ics)
		}
		if m, _ := cal.Props.Text(ical.PropMethod); m != want[i].method {
			t.Errorf("message %d: METHOD %s, want %s", i, m, want[i].method)
		}
		evs := cal.Events()
		if len(evs) != 1 {
			t.Fatalf("message %d: %d events", i, len(evs))
		}
		ev := evs[0]
		u, _ := ev.Props.Text(ical.PropUID)
		if i == 0 {
			uid = u
		} else if u != uid {
			t.Errorf("message %d: UID %q, want the stable %q", i, u, uid)
		}
		seq, _ := ev.Props.Get(ical.PropSequence).Int()
		st, _ := ev.DateTimeStart(time.UTC)
		en, _ := ev.DateTimeEnd(time.UTC)
		status, _ := ev.Status()
		loc, _ := ev.Props.Text(ical.PropLocation)
		if seq != want[i].seq || !st.Equal(want[i].start) || en.Sub(st) != 90*time.Minute || status != want[i].status || loc != "Room 4" {
			t.Errorf("message %d: seq %d start %v length %v status %v location %q; want %+v", i, seq, st, en.Sub(st), status, loc, want[i])
		}
	}
}

// A refused recipient is permanent and reported; a temporary refusal or a
// server that is down leaves the message in the outbox until it goes out.
func TestSMTPFailuresAndOutbox(t *testing.T) {
	ctx := context.Background()
	srv := testserver.NewSMTP(t, testserver.SMTPOptions{})
	db := openStore(t, nil)
	c := newCase(t, db, ann, bob)
	k := &mail.Composer{Addr: testAddressing(t)}
	var rejected []string
	srv.Refuse(bob.Email, &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"})
	srv.Refuse(ann.Email, &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"})
	onReject := func(ctx context.Context, m casebot.OutMessage, reason string) {
		rejected = append(rejected, m.To)
		if _, err := db.FlagBouncing(ctx, m.To, m.CaseID, reason); err != nil {
			t.Error(err)
		}
	}
	snd := newSender(t, srv.Addr(), db, onReject)
	msgs, _ := k.CaseMail(c, nil, "s", "text", false, "e1")
	if _, err := db.UpdateCase(ctx, c.ID, func(*casebot.Case) (casebot.Change, error) {
		return casebot.Change{Actor: "U1", Action: "email.send", Outbox: msgs}, nil
	}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	w := &outbox.Worker{Store: db, Senders: map[string]outbox.Sender{casebot.OutEmail: snd}, Now: func() time.Time { return now }}
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if len(rejected) != 1 || rejected[0] != bob.Email {
		t.Fatalf("rejected = %v, want bob", rejected)
	}
	got, _ := db.Case(ctx, c.ID)
	if !got.Parties[1].Bouncing || got.Parties[0].Bouncing {
		t.Fatalf("bouncing flags = %+v", got.Parties)
	}
	// Ann's message waits (4xx); then the server is gone altogether.
	srv.Refuse(ann.Email, nil)
	down := newSender(t, "127.0.0.1:1", db, onReject)
	w.Senders[casebot.OutEmail] = down
	now = now.Add(time.Hour)
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("%d messages delivered, want 0", n)
	}
	w.Senders[casebot.OutEmail] = snd
	now = now.Add(time.Hour)
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if m := srv.Messages(); len(m) != 1 || m[0].Rcpt[0] != ann.Email {
		t.Fatalf("delivered %+v, want ann's message once the server is back", m)
	}
}
