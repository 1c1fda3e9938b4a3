package mail_test

import (
	"strings"
	"testing"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/mail"
)

// The mediator's notice of a party note: sender, case, note number,
// subject and the first three lines; the rest behind "Show case".
func TestNoteNotice(t *testing.T) {
	c := &casebot.Case{ID: "MED-2026-0007", Title: "Lease dispute", Mediator: "U1"}
	n := &casebot.Note{CaseID: c.ID, N: 3, Author: "ann@example.com", Body: "Reply number 3.\n\nSecond line.\nThird line.\nFourth line.",
		Email: &casebot.EmailMeta{FromName: "Ann Lee", Subject: "Re: [MED-2026-0007] dates"}}
	m := mail.NoteNotice(c, n)
	if m.Key != "email-note/MED-2026-0007/3" || m.To != "U1" || m.Kind != casebot.OutSlack || m.CaseID != c.ID ||
		len(m.Buttons) != 1 || m.Buttons[0].ActionID != "show_case" || m.Buttons[0].Value != c.ID {
		t.Fatalf("notice %+v", m)
	}
	for _, want := range []string{"New email from Ann Lee <ann@example.com> on MED-2026-0007 (Lease dispute), note #3",
		"Subject: Re: [MED-2026-0007] dates", "> Reply number 3.\n> Second line.\n> Third line.\n> …"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("notice lacks %q:\n%s", want, m.Text)
		}
	}
	if strings.Contains(m.Text, "Fourth line") {
		t.Errorf("notice shows more than the first lines:\n%s", m.Text)
	}
}
