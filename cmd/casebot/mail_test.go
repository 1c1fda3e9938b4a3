package main

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	gomail "github.com/emersion/go-message/mail"

	"github.com/casebot/casebot/internal/testserver"
	"github.com/casebot/casebot/outbox"
)

// The daemon with IMAP and SMTP on in-process servers: the email command
// mails a party, the party's reply becomes a note, a stranger's mail goes to
// quarantine, and accept and reject work with their access rules.
func TestDaemonEmailRoundTrip(t *testing.T) {
	imapSrv := testserver.NewIMAP(t, "cases", "pw")
	sink := testserver.NewSMTP(t, testserver.SMTPOptions{})

	cfgPath, _ := testConfig(t, fmt.Sprintf(`[slack]
admins = ["UADMIN"]
[imap]
addr = %q
tls = "none"
username = "cases"
password = "pw"
poll_interval = "1h"
[smtp]
addr = %q
tls = "none"
from = "Mediation Office <cases@practice.example>"
`, imapSrv.Addr(), sink.Addr()))
	rd := startDaemon(t, cfgPath)
	ctx := context.Background()
	run := func(user, text string) string {
		t.Helper()
		rep := rd.d.Command(ctx, user, text)
		if rep.Err != nil {
			t.Fatalf("%s: %q refused: %s", user, text, rep.Text)
		}
		return rep.Text
	}
	id := regexp.MustCompile(`MED-\d{4}-\d{4}`).FindString(run("U1", "new Lease dispute"))
	run("U1", "party add "+id+" claimant \"Ann Lee\" ann@example.com")
	if got := run("U1", "email "+id+" Please send the lease."); !strings.Contains(got, "Queued to 1 party") {
		t.Fatalf("email replied %q", got)
	}
	if rep := rd.d.Command(ctx, "U9", "email "+id+" hi"); rep.Err == nil {
		t.Fatalf("a stranger could email the parties: %q", rep.Text)
	}
	waitFor(t, "the email to arrive", func() bool { return len(sink.Messages()) == 1 })
	r, err := gomail.CreateReader(bytes.NewReader(sink.Messages()[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	replyTo, _ := r.Header.AddressList("Reply-To")
	msgID, _ := r.Header.MessageID()
	subject, _ := r.Header.Subject()
	if len(replyTo) != 1 || !strings.HasPrefix(replyTo[0].Address, "cases+"+strings.ToLower(id)+".") || subject != "["+id+"] Lease dispute" {
		t.Fatalf("Reply-To %v, subject %q", replyTo, subject)
	}
	appendMail := func(raw string) {
		t.Helper()
		if err := imapSrv.Append(raw); err != nil {
			t.Fatal(err)
		}
	}
	appendMail("From: Ann Lee <ann@example.com>\r\nTo: " + replyTo[0].Address + "\r\nSubject: Re: " + subject +
		"\r\nMessage-ID: <r1@example.com>\r\nIn-Reply-To: <" + msgID + ">\r\n\r\nAttached is the lease.\r\n")
	waitFor(t, "the reply to become a note", func() bool {
		ns, _ := rd.d.DB.Notes(ctx, id)
		return len(ns) == 1 && ns[0].Body == "Attached is the lease." && ns[0].Author == "ann@example.com"
	})
	appendMail("From: eve@example.com\r\nTo: cases@practice.example\r\nSubject: [" + id + "] hello\r\nMessage-ID: <e1@example.com>\r\n\r\nLet me in.\r\n")
	waitFor(t, "the stranger's mail in quarantine", func() bool {
		q, _ := rd.d.DB.Quarantine(ctx, false)
		return len(q) == 1
	})
	if got := run("U9", "quarantine"); !strings.Contains(got, "No email") {
		t.Fatalf("a stranger sees the quarantine: %q", got)
	}
	if got := run("U1", "quarantine"); !strings.Contains(got, "#1") || !strings.Contains(got, "eve@example.com") {
		t.Fatalf("the case's mediator does not see the item: %q", got)
	}
	if rep := rd.d.Command(ctx, "U9", "reject 1"); rep.Err == nil {
		t.Fatalf("a stranger rejected mail: %q", rep.Text)
	}
	if got := run("UADMIN", "accept 1 "+id); !strings.Contains(got, "note #2") {
		t.Fatalf("accept replied %q", got)
	}
	if rep := rd.d.Command(ctx, "UADMIN", "reject 1"); rep.Err == nil || !strings.Contains(rep.Text, "already accepted") {
		t.Fatalf("reject after accept: %q", rep.Text)
	}
}

// Each email a party sends is a note and one Slack DM to the case's
// mediator (SPEC §6), also when a burst outruns the mediator's queue: the
// notices wait in the notice feed and go out in order, each once.
func TestDaemonTellsMediatorOfEachPartyEmail(t *testing.T) {
	ctx := context.Background()
	rd, slackAPI, imapSrv, id := startSlackMailDaemon(t, "")
	const total = 2*outbox.NoticeLookahead + 3
	for i := range total {
		raw := fmt.Sprintf("From: Ann Lee <ann@example.com>\r\nTo: cases@practice.example\r\nSubject: [%s] answer %d\r\nMessage-ID: <a%d@example.com>\r\n\r\nMy answer number %d.\r\n", id, i, i, i)
		if err := imapSrv.Append(raw); err != nil {
			t.Fatal(err)
		}
	}
	notices := func() []testserver.Post {
		var ps []testserver.Post
		for _, p := range slackAPI.Posts() {
			if strings.HasPrefix(p.Key, "email-note/") {
				ps = append(ps, p)
			}
		}
		return ps
	}
	waitFor(t, "a DM for every email", func() bool { return len(notices()) >= total })
	ps := notices()
	if len(ps) != total {
		t.Fatalf("%d notices for %d emails", len(ps), total)
	}
	for i, p := range ps {
		if want := fmt.Sprintf("email-note/%s/%d", id, i+1); p.Key != want || p.Channel != "D-U1" {
			t.Fatalf("notice %d is %s to %s, want %s to D-U1", i, p.Key, p.Channel, want)
		}
		if !strings.Contains(p.Text, "Ann Lee &lt;ann@example.com&gt;") || !strings.Contains(p.Text, "note #"+fmt.Sprint(i+1)) {
			t.Fatalf("notice %d says %q", i, p.Text)
		}
	}
	if n, err := rd.d.DB.NoticesPending(ctx); err != nil || n != 0 {
		t.Fatalf("%d notes still wait for a notice (%v)", n, err)
	}
}

// startSlackMailDaemon starts the daemon with Slack (signing secret
// "s3cret") and IMAP intake on in-process servers, plus extra [slack]
// settings, and creates a case of U1's with Ann Lee (ann@example.com) as
// claimant; it returns the case's ID.
func startSlackMailDaemon(t *testing.T, slackExtra string) (*runningDaemon, *testserver.Slack, *testserver.IMAP, string) {
	t.Helper()
	slackAPI := testserver.NewSlack(t, "xoxb-test")
	imapSrv := testserver.NewIMAP(t, "cases", "pw")
	cfgPath, _ := testConfig(t, fmt.Sprintf(`[slack]
signing_secret = "s3cret"
bot_token = "xoxb-test"
api_url = %q
%s
[imap]
addr = %q
tls = "none"
username = "cases"
password = "pw"
poll_interval = "1h"
`, slackAPI.URL(), slackExtra, imapSrv.Addr()))
	rd := startDaemon(t, cfgPath)
	ctx := context.Background()
	rep := rd.d.Command(ctx, "U1", "new Lease dispute")
	id := regexp.MustCompile(`MED-\d{4}-\d{4}`).FindString(rep.Text)
	if rep = rd.d.Command(ctx, "U1", "party add "+id+" claimant \"Ann Lee\" ann@example.com"); rep.Err != nil {
		t.Fatal(rep.Text)
	}
	return rd, slackAPI, imapSrv, id
}
