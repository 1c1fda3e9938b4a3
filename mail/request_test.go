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
