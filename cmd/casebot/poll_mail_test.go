package main

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/emersion/go-ical"
	gomail "github.com/emersion/go-message/mail"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/internal/testserver"
)

// Polls end to end over the in-process IMAP and SMTP servers: the poll goes
// out to each party with the numbered times, replies (one in German, one
// that changes its answer) are read as answers, a stranger's answer lands
// in quarantine and not in the poll, the tally shows who can come, and
// booking a time sends its invitation and closes the poll. Offers logged
// on the way are in no message the SMTP server received.
func TestDaemonPollRoundTrip(t *testing.T) {
	imapSrv := testserver.NewIMAP(t, "cases", "pw")
	sink := testserver.NewSMTP(t, testserver.SMTPOptions{})
	cfgPath, _ := testConfig(t, fmt.Sprintf(`[imap]
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
	run := func(text string) string { t.Helper(); return rd.must(t, "U1", text) }
	id := regexp.MustCompile(`MED-\d{4}-\d{4}`).FindString(run("new Lease dispute"))
	run("party add " + id + " claimant \"Ann Lee\" ann@example.com")
	run("party add " + id + " respondent \"Jürgen Weiß\" juergen@example.com")
	run("offer " + id + " respondent SECRETOFFER 9000 in instalments")

	// Bad polls are refused and send nothing.
	for _, bad := range []string{"poll " + id + " \"2030-03-01 10:00\"", "poll " + id + " 2020-01-01 \"2030-03-01 10:00\"",
		"poll " + id + " +1d +2d +3d +4d +5d +6d +7d +8d +9d +10d +11d", "session " + id + " poll 1 Opening"} {
		if rep := rd.d.Command(ctx, "U1", bad); rep.Err == nil {
			t.Errorf("%q was not refused: %s", bad, rep.Text)
		}
	}
	got := run("poll " + id + " \"2030-03-01 10:00\" \"2030-03-02 14:00\" \"2030-03-04 09:30\" --duration 3h")
	if !strings.Contains(got, "Poll of "+id+" sent to 2 parties") {
		t.Fatalf("poll replied %q", got)
	}
	waitFor(t, "the poll to both parties", func() bool { return len(sink.Messages()) == 2 })
	var toAnn []byte
	for _, m := range sink.Messages() {
		if bytes.Contains(m.Data, []byte("ann@example.com")) {
			toAnn = m.Data
		}
	}
	r, err := gomail.CreateReader(bytes.NewReader(toAnn))
	if err != nil {
		t.Fatal(err)
	}
	replyTo, _ := r.Header.AddressList("Reply-To")
	msgID, _ := r.Header.MessageID()
	subject, _ := r.Header.Subject()
	body := partText(t, toAnn)
	for _, want := range []string{"1. Friday 1 March 2030, 10:00–13:00 UTC (UTC+00:00)", "2. Saturday 2 March 2030, 14:00–17:00 UTC",
		"3. Monday 4 March 2030, 09:30–12:30 UTC", "all but 2"} {
		if !strings.Contains(body, want) {
			t.Errorf("poll email lacks %q:\n%s", want, body)
		}
	}
	reply := func(from, text string, n int) {
		t.Helper()
		raw := "From: " + from + "\r\nTo: " + replyTo[0].Address + "\r\nSubject: Re: " + subject +
			fmt.Sprintf("\r\nMessage-ID: <poll-%d@example.com>\r\nIn-Reply-To: <", n) + msgID + ">\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text
		if err := imapSrv.Append(raw); err != nil {
			t.Fatal(err)
		}
	}
	answers := func(email string) ([]int, bool) {
		c, err := rd.d.DB.Case(ctx, id)
		if err != nil || c.Poll == nil {
			return nil, false
		}
		a, ok := c.Poll.Answers[email]
		return a, ok
	}
	reply("Ann Lee <ann@example.com>", "1 and 3\r\n\r\nOn Mon, the office wrote:\r\n> Please reply with 2\r\n", 1)
	waitFor(t, "Ann's answer", func() bool { a, ok := answers("ann@example.com"); return ok && fmt.Sprint(a) == "[1 3]" })
	reply("Jürgen Weiß <juergen@example.com>", "Alle außer 3\r\n\r\nMit freundlichen Grüßen\r\n", 2)
	waitFor(t, "Jürgen's German answer", func() bool { a, ok := answers("juergen@example.com"); return ok && fmt.Sprint(a) == "[1 2]" })
	reply("Ann Lee <ann@example.com>", "Sorry, only 3 works after all.\r\n", 3)
	waitFor(t, "Ann's changed answer", func() bool { a, _ := answers("ann@example.com"); return fmt.Sprint(a) == "[3]" })
	reply("Eve <eve@example.com>", "all", 4)
	waitFor(t, "the stranger's answer in quarantine", func() bool {
		q, _ := rd.d.DB.Quarantine(ctx, false)
		return len(q) == 1 && q[0].From == "eve@example.com"
	})
	if _, ok := answers("eve@example.com"); ok {
		t.Error("a stranger's reply was read as an answer")
	}
	if ns, _ := rd.d.DB.Notes(ctx, id); len(ns) != 3 {
		t.Errorf("%d notes, want the 3 replies kept as notes", len(ns))
	}

	tally := run("poll " + id)
	for _, want := range []string{"1. 2030-03-01 10:00 UTC: can come: Jürgen Weiß; cannot: Ann Lee",
		"3. 2030-03-04 09:30 UTC: can come: Ann Lee; cannot: Jürgen Weiß", "Every party has answered; no time suits everyone."} {
		if !strings.Contains(tally, want) {
			t.Errorf("tally lacks %q:\n%s", want, tally)
		}
	}
	booked := run("session " + id + " poll 1 Opening --where \"Room 4\"")
	if !strings.Contains(booked, "The poll is closed.") || !strings.Contains(booked, "Cannot come at this time: Ann Lee.") {
		t.Errorf("booking replied %q", booked)
	}
	waitFor(t, "two invitations", func() bool { return len(sink.Messages()) == 4 })
	method, ev := calendarOf(t, sink.Messages()[3].Data)
	start, _ := ev.DateTimeStart(nil)
	end, _ := ev.DateTimeEnd(nil)
	if where, _ := ev.Props.Text(ical.PropLocation); method != "REQUEST" || start.UTC().Format("2006-01-02 15:04") != "2030-03-01 10:00" ||
		end.Sub(start).Hours() != 3 || where != "Room 4" {
		t.Errorf("invitation: %s %v-%v %q", method, start, end, where)
	}
	if c, _ := rd.d.DB.Case(ctx, id); c.Poll != nil || len(c.Sessions) != 1 {
		t.Errorf("after booking: poll %+v, sessions %d", c.Poll, len(c.Sessions))
	}
	if rep := rd.d.Command(ctx, "U1", "session "+id+" poll 1 Again"); rep.Err == nil || casebot.ErrorCode(rep.Err) != casebot.EINVALID {
		t.Errorf("booking a closed poll: %q", rep.Text)
	}
	for _, m := range sink.Messages() {
		if bytes.Contains(m.Data, []byte("SECRETOFFER")) || bytes.Contains(m.Data, []byte("9000")) {
			t.Errorf("an email carries the offer:\n%s", m.Data)
		}
	}
}

// partText returns the text/plain body of a received message.
func partText(t *testing.T, raw []byte) string {
	t.Helper()
	r, err := gomail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	for {
		p, err := r.NextPart()
		if err != nil {
			t.Fatalf("no text part: %v", err)
		}
		if ct := p.Header.Get("Content-Type"); ct == "" || strings.HasPrefix(ct, "text/plain") {
			var b bytes.Buffer
			if _, err := b.ReadFrom(p.Body); err != nil {
				t.Fatal(err)
			}
			return b.String()
		}
	}
}
