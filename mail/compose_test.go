package mail_test

import (
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/mail"
)

// The parties' session reminder: automatic mail to each party not
// bouncing, the session in the practice's zone and its invitation named.
func TestSessionReminderMail(t *testing.T) {
	a, err := mail.NewAddressing("casebot@practice.example")
	if err != nil {
		t.Fatal(err)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no tz database:", err)
	}
	k := &mail.Composer{Addr: a, Loc: ny}
	c := &casebot.Case{ID: "MED-2026-0007", Title: "Lease dispute", Parties: []casebot.Party{
		{Role: casebot.RoleClaimant, Name: "Ann", Email: "ann@example.com"},
		{Role: casebot.RoleRespondent, Name: "Bob", Email: "bob@example.com", Bouncing: true}}}
	s := casebot.Session{N: 1, Sequence: 2, Title: "Opening", Start: time.Date(2026, 3, 20, 14, 30, 0, 0, time.UTC), Duration: 90 * time.Minute, Where: "Room 4"}
	msgs, err := k.SessionReminder(c, s, 26*time.Hour, "rem/x/mail")
	if err != nil || len(msgs) != 1 {
		t.Fatalf("SessionReminder = %+v, %v; want one mail (Bob bounces)", msgs, err)
	}
	m := msgs[0]
	if m.Key != "rem/x/mail/ann@example.com" || m.Kind != casebot.OutEmail || m.To != "ann@example.com" || !m.Auto ||
		m.Subject != "[MED-2026-0007] Reminder: Opening on Fri 20 Mar 2026 10:30 EDT" {
		t.Errorf("mail %+v", m)
	}
	want := "This is a reminder that your mediation session in MED-2026-0007 (Lease dispute) starts in 26 hours.\n\n" +
		"Session:  Opening\nWhen:     Fri 20 Mar 2026 10:30 EDT\nLength:   1h30m\nWhere:    Room 4\n\n" +
		"Calendar invitation: MED-2026-0007 session #1, revision 2. The invitation you received for this revision is current;\n" +
		"if the session changes you will receive an updated invitation.\n\nYou can reply to this email to reach your mediator.\n"
	if m.Text != want {
		t.Errorf("text:\n got %q\nwant %q", m.Text, want)
	}
}
