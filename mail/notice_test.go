package mail_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/mail"
)

func TestNotesNotice(t *testing.T) {
	c := &casebot.Case{ID: "MED-2026-0007", Title: "Lease dispute", Mediator: "U1"}
	note := func(n int) *casebot.Note {
		return &casebot.Note{CaseID: c.ID, N: n, Author: "ann@example.com", Body: fmt.Sprintf("Reply number %d.\n\nSecond line.\nThird line.", n),
			Email: &casebot.EmailMeta{FromName: "Ann Lee", Subject: "Re: [MED-2026-0007] dates"}}
	}
	// One note: the single-note notice, unchanged.
	one := mail.NotesNotice(c, []*casebot.Note{note(3)})
	if want := mail.NoteNotice(c, note(3)); one.Key != want.Key || one.Text != want.Text || one.Key != "email-note/MED-2026-0007/3" {
		t.Fatalf("one note: %q %q, want %q %q", one.Key, one.Text, want.Key, want.Text)
	}
	// Seven: one message naming the first five with their first lines,
	// counting the rest.
	var notes []*casebot.Note
	for n := 4; n <= 10; n++ {
		notes = append(notes, note(n))
	}
	m := mail.NotesNotice(c, notes)
	if m.Key != "email-note/MED-2026-0007/4-10" || m.To != "U1" || m.Kind != casebot.OutSlack || len(m.Buttons) != 1 || m.Buttons[0].Value != c.ID {
		t.Fatalf("seven notes: %+v", m)
	}
	for _, want := range []string{"7 new emails on MED-2026-0007 (Lease dispute), notes #4 to #10",
		"#4 from Ann Lee <ann@example.com>\nSubject: Re: [MED-2026-0007] dates\n> Reply number 4.\n> Second line.",
		"#8 from Ann Lee", "> Reply number 8.", "…and 2 more; Show case has them all."} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("notice lacks %q:\n%s", want, m.Text)
		}
	}
	for _, not := range []string{"#9 from", "Reply number 9", "Third line"} {
		if strings.Contains(m.Text, not) {
			t.Errorf("notice shows %q:\n%s", not, m.Text)
		}
	}
}
