package mail_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/internal/testserver"
	"github.com/casebot/casebot/mail"
)

// A document request goes to the parties of its role only, tagged with
// the case, with the due time in the practice's zone and what is asked
// for; it arrives with the case's reply address, like every case mail.
func TestDocumentRequestMail(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, nil)
	c := newCase(t, db, ann, bob)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip(err)
	}
	k := &mail.Composer{Addr: testAddressing(t), Loc: berlin}
	due := time.Date(2026, 12, 1, 16, 0, 0, 0, time.UTC)
	msgs, err := k.DocumentRequest(c, casebot.RoleRespondent, due, "Signed lease\nand payment records", "request/1")
	if err != nil || len(msgs) != 1 {
		t.Fatalf("DocumentRequest = %+v, %v; want one message", msgs, err)
	}
	m := msgs[0]
	if m.To != bob.Email || m.Key != "request/1/"+bob.Email || m.Auto || m.MessageID == "" {
		t.Errorf("message %+v", m)
	}
	if want := "[" + c.ID + "] Document requested by 1 Dec 2026: Signed lease"; m.Subject != want {
		t.Errorf("subject %q, want %q", m.Subject, want)
	}
	for _, s := range []string{"Tuesday 1 December 2026, 17:00 CET", "    Signed lease\n    and payment records", "reply to this email with the document attached"} {
		if !strings.Contains(m.Text, s) {
			t.Errorf("text lacks %q:\n%s", s, m.Text)
		}
	}
	if none, err := k.DocumentRequest(c, casebot.RoleCounsel, due, "x", "request/2"); err != nil || len(none) != 0 {
		t.Errorf("request to a role without parties = %+v, %v; want none", none, err)
	}
	srv := testserver.NewSMTP(t, testserver.SMTPOptions{})
	if err := newSender(t, srv.Addr(), db, nil).Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	_, h := readMail(t, srv.Messages()[0].Data)
	rt, err := h.AddressList("Reply-To")
	if want := testAddressing(t).ReplyTo(c); err != nil || len(rt) != 1 || rt[0].Address != want {
		t.Errorf("Reply-To %v, %v; want %s", rt, err, want)
	}
}

// End to end through the IMAP intake: the claimant's reply with a document
// meets the request to the claimant, and the mediator's notice says so.
func TestRequestMetThroughIntake(t *testing.T) {
	ctx := context.Background()
	s := startIMAP(t)
	db := openStore(t, nil)
	c := newCase(t, db, ann, bob)
	if _, err := db.UpdateCase(ctx, c.ID, func(c *casebot.Case) (casebot.Change, error) {
		c.Deadlines = append(c.Deadlines, casebot.Deadline{N: 1, Due: time.Now().Add(72 * time.Hour), Text: "Written statement",
			Role: casebot.RoleClaimant, Created: time.Now().Add(-time.Minute)})
		return casebot.Change{Actor: "U1", Action: "deadline.add"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	s.append(t, "INBOX", mimeMail(c.ID, "r1@example.com", "Attached is our written statement.",
		part{"Content-Type: application/pdf\r\nContent-Disposition: attachment; filename*=UTF-8''Stellungnahme_M%C3%BCller.pdf\r\n", []byte("%PDF-1.4 statement")}))
	if err := newIntake(t, s, db, nil).RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := db.Case(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := got.Deadlines[0]; !d.Met || d.MetBy != ann.Email || d.MetDoc != 1 || d.MetNote != 1 {
		t.Fatalf("deadline after the claimant's reply: %+v", d)
	}
	if _, err := db.FeedNotices(ctx, 16); err != nil {
		t.Fatal(err)
	}
	due, err := db.OutboxDue(ctx, time.Now().Add(time.Minute), 0, casebot.OutSlack)
	if err != nil || len(due) != 1 || due[0].Notice == nil || len(due[0].Notice.Met) != 1 || due[0].Notice.Met[0].N != 1 {
		t.Fatalf("queued notices %+v, %v; want the note's notice naming deadline 1", due, err)
	}
}
