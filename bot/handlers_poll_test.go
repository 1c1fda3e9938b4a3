package bot

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot"
)

// ingestReply files a party's reply to case id as intake would.
func (e *env) ingestReply(id, from, body string, uid uint32) {
	e.t.Helper()
	if _, err := e.db.Ingest(context.Background(), casebot.IngestBatch{Mailbox: "INBOX", UIDValidity: 1, LastUID: uid, NoticeFeed: true,
		Items: []casebot.MailItem{{UID: uid, Note: &casebot.Note{CaseID: id, Author: from, Source: casebot.SourceEmail, Body: body,
			Email: &casebot.EmailMeta{From: from, Subject: "Re: poll"}}}}}); err != nil {
		e.t.Fatal(err)
	}
}

// pollNotices returns the rendered Slack notices queued to user and marks
// every queued message delivered.
func (e *env) pollNotices(user string) []string {
	e.t.Helper()
	return e.allNotices()[user]
}

// allNotices returns the rendered Slack notices queued, by recipient, and
// marks every queued message delivered.
func (e *env) allNotices() map[string][]string {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.db.FeedNotices(ctx, 16); err != nil {
		e.t.Fatal(err)
	}
	out := map[string][]string{}
	for {
		msgs, err := e.db.OutboxDue(ctx, e.now.Add(365*24*time.Hour), 0)
		if err != nil {
			e.t.Fatal(err)
		}
		if len(msgs) == 0 {
			return out
		}
		for _, m := range msgs {
			if m.Notice != nil {
				text, _ := RenderNotice(m.Notice)
				out[m.To] = append(out[m.To], text)
			}
			if err := e.db.OutboxDone(ctx, m.ID); err != nil {
				e.t.Fatal(err)
			}
		}
	}
}

func TestPoll(t *testing.T) {
	e := newEnvWith(t, func(c *Config) { c.Mail = realComposer(t) })
	id := e.newCase(uAdmin, "Lease --mediator "+uMed)
	e.must(uMed, "party add "+id+" claimant Ann ann@x.example")
	e.must(uMed, "party add "+id+" respondent Bob bob@x.example")
	e.must(uAdmin, "assign "+id+" +"+uCo)
	e.drain()

	// Bad input: one time, the past, eleven, a bad duration, booking with
	// no poll; nothing changes.
	before := e.snap(id)
	for _, tt := range []struct{ text, says string }{
		{"poll " + id + " +3d", "at least 2 times"},
		{"poll " + id + " +3d 2020-01-01", "in the past"},
		{"poll " + id + " +1d +2d +3d +4d +5d +6d +7d +8d +9d +10d +11d", "at most 10"},
		{"poll " + id + " +3d +3d", "the same"},
		{"poll " + id + " +3d +4d --duration soon", "duration"},
		{"session " + id + " poll 1 Opening", "no open poll"},
	} {
		r := e.refused(uMed, tt.text, casebot.EINVALID)
		if !strings.Contains(r.Text, tt.says) {
			t.Errorf("%q: %q lacks %q", tt.text, r.Text, tt.says)
		}
	}
	if after := e.snap(id); !reflect.DeepEqual(before, after) {
		t.Errorf("a refused poll changed something")
	}

	r := e.must(uMed, "poll "+id+" +3d +4d +5d --duration 90m")
	if !strings.Contains(r.Text, "sent to 2 parties") {
		t.Errorf("poll reply %q", r.Text)
	}
	mails := e.outboxFor(id)
	if len(mails) != 2 || !strings.Contains(mails[0].Text, "  3. ") || !strings.Contains(mails[0].Text, "1 hour 30 minutes") {
		t.Fatalf("poll mails %+v", mails)
	}
	e.drain()

	// Ann answers: the mediator and the co-mediator get the tally, not
	// the plain email notice.
	e.ingestReply(id, "ann@x.example", "1 and 3\n", 1)
	byUser := e.allNotices()
	for _, u := range []string{uMed, uCo} {
		ns := byUser[u]
		if len(ns) != 1 || !strings.Contains(ns[0], "Ann answered the poll of "+id) || !strings.Contains(ns[0], "Not answered yet: Bob.") {
			t.Errorf("notices to %s: %q", u, ns)
		}
	}
	// Bob names slot 7 of 3: not read, the mediator is told.
	e.ingestReply(id, "bob@x.example", "7", 2)
	ns := e.pollNotices(uMed)
	if len(ns) != 1 || !strings.Contains(ns[0], "names 7, which the poll has no time for") {
		t.Errorf("out of range notice: %q", ns)
	}
	// Bob's prose needs a look; then he answers in Spanish.
	e.ingestReply(id, "bob@x.example", "I will ask my lawyer.", 3)
	ns = e.pollNotices(uMed)
	if len(ns) != 1 || !strings.Contains(ns[0], "could not be read as an answer; it needs a look") {
		t.Errorf("unreadable notice: %q", ns)
	}
	e.ingestReply(id, "bob@x.example", "todos excepto 1", 4)
	ns = e.pollNotices(uMed)
	if len(ns) != 1 || !strings.Contains(ns[0], "Every party has answered; suiting everyone: 3.") {
		t.Errorf("complete notice: %q", ns)
	}
	if n := e.notes(id); len(n) != 4 {
		t.Errorf("%d notes, want every reply kept", len(n))
	}
	show := e.must(uCo, "poll "+id)
	if !strings.Contains(show.Text, ": can come: Ann; cannot: Bob") || !strings.Contains(show.Text, ": can come: Ann, Bob") {
		t.Errorf("poll show:\n%s", show.Text)
	}
	e.refused(uMed, "session "+id+" poll 4 Opening", casebot.EINVALID)
	booked := e.must(uMed, "session "+id+" poll 2 Opening").Text
	if !strings.Contains(booked, "Cannot come at this time: Ann.") || !strings.Contains(booked, "Invitations are on their way") {
		t.Errorf("booking: %q", booked)
	}
	c := e.getCase(id)
	if c.Poll != nil || len(c.Sessions) != 1 || c.Sessions[0].Duration != 90*time.Minute {
		t.Errorf("after booking: %+v", c)
	}
	if err := e.db.Check(context.Background()); err != nil {
		t.Error(err)
	}
}
