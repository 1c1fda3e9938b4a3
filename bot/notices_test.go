package bot_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/bot"
)

// Every notice reads as the mediator has always received it, in the zone
// it was built for, with its buttons.
func TestRenderNotice(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tz database:", err)
	}
	c := &casebot.Case{ID: "MED-2026-0007", Title: "Lease dispute", Mediator: "U1"}
	due := time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC)
	dl := casebot.DeadlineRef{CaseID: c.ID, Mediator: "U1", Title: c.Title, Deadline: casebot.Deadline{N: 2, Due: due, Text: "File the brief"}}
	ss := casebot.SessionRef{CaseID: c.ID, Mediator: "U1", Title: c.Title,
		Session: casebot.Session{N: 1, Title: "Opening", Start: due.Add(30 * time.Hour), Duration: 90 * time.Minute, Where: "Room 4"}}
	showCase := casebot.Button{ActionID: casebot.ActionShowCase, Label: "Show case", Value: c.ID}
	markMet := casebot.Button{ActionID: casebot.ActionDeadlineDone, Label: "Mark met", Value: c.ID + "/2"}
	tests := []struct {
		name    string
		msg     casebot.OutMessage
		text    string
		buttons []casebot.Button
	}{
		{"email note", casebot.EmailNoteNotice(c, &casebot.Note{CaseID: c.ID, N: 3, Author: "ann@example.com",
			Body: "Reply number 3.\n\nSecond line.\nThird line.\nFourth line.", Email: &casebot.EmailMeta{FromName: "Ann Lee", Subject: "Re: [MED-2026-0007] dates"}}),
			"New email from Ann Lee <ann@example.com> on MED-2026-0007 (Lease dispute), note #3\nSubject: Re: [MED-2026-0007] dates\n" +
				"> Reply number 3.\n> Second line.\n> Third line.\n> …",
			[]casebot.Button{showCase}},
		{"email note without subject or text", casebot.EmailNoteNotice(c, &casebot.Note{CaseID: c.ID, N: 4, Author: "ann@example.com"}),
			"New email from ann@example.com on MED-2026-0007 (Lease dispute), note #4", []casebot.Button{showCase}},
		{"bounce", casebot.BounceNotice(c, casebot.Party{Email: "bob@example.com", Role: casebot.RoleRespondent}, "550 no such user", due),
			"Mail to bob@example.com (respondent, MED-2026-0007) bounces: 550 no such user. No more mail goes to this address until it is corrected.",
			[]casebot.Button{showCase}},
		{"deadline reminder", casebot.DeadlineReminderNotice(dl, 7*24*time.Hour, "k", berlin),
			"Deadline reminder\nReminder: deadline #2 of MED-2026-0007 (Lease dispute) is due in 7 days, Mon 9 Mar 2026 10:00 CET:\nFile the brief",
			[]casebot.Button{markMet, showCase}},
		{"overdue today", casebot.OverdueNotice(dl, 0, "k", time.UTC),
			"Overdue deadline\nDeadline #2 of MED-2026-0007 (Lease dispute) is due now, Mon 9 Mar 2026 09:00 UTC, and is not marked met:\nFile the brief",
			[]casebot.Button{markMet, showCase}},
		{"overdue", casebot.OverdueNotice(dl, 3, "k", berlin),
			"Overdue deadline\nDeadline #2 of MED-2026-0007 (Lease dispute) is overdue: it was due 3 days ago, Mon 9 Mar 2026 10:00 CET, and is not marked met:\nFile the brief",
			[]casebot.Button{markMet, showCase}},
		{"session reminder", casebot.SessionReminderNotice(ss, 90*time.Minute, "k", berlin),
			"Session reminder\nReminder: session #1 of MED-2026-0007 (Lease dispute) starts in 1 hour 30 minutes:\nOpening, Tue 10 Mar 2026 16:00 CET, 1h30m, Room 4",
			[]casebot.Button{showCase}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, buttons := bot.RenderNotice(tt.msg.Notice)
			if text != tt.text {
				t.Errorf("text:\n got %q\nwant %q", text, tt.text)
			}
			if !reflect.DeepEqual(buttons, tt.buttons) {
				t.Errorf("buttons %+v, want %+v", buttons, tt.buttons)
			}
		})
	}
}

// The daily digest message is the digest command's text under a heading.
func TestRenderDigestNotice(t *testing.T) {
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	d := &casebot.Digest{User: "U1", At: at, Zone: "Europe/London", Since: at.Add(-24 * time.Hour), OpenCases: 1,
		Deadlines: []casebot.DigestItem{{CaseID: "MED-2026-0007", Title: "Lease dispute", Priority: casebot.PriorityHigh, N: 2,
			When: at.Add(48 * time.Hour), Text: "File the brief"}},
		Sessions: []casebot.DigestItem{{CaseID: "MED-2026-0007", Title: "Lease dispute", N: 1, When: at.Add(2 * time.Hour),
			Session: &casebot.Session{N: 1, Title: "Opening", Start: at.Add(2 * time.Hour), Duration: 2 * time.Hour}}}}
	want := "Digest for Mon 2 Mar 2026 (Europe/London): 1 case open.\n\n" +
		"Sessions today (1):\n  MED-2026-0007 Lease dispute — session #1: Opening, Mon 2 Mar 2026 10:00 GMT, 2h\n\n" +
		"Deadlines in the next 7 days (1):\n  [high] MED-2026-0007 Lease dispute — #2 due Wed 4 Mar 2026 08:00 GMT: File the brief\n"
	if got := bot.RenderDigest(d); got != want {
		t.Errorf("digest:\n got %q\nwant %q", got, want)
	}
	m := casebot.DigestNotice(d, "digest/U1/2026-03-02T08:00")
	if text, buttons := bot.RenderNotice(m.Notice); text != "Daily digest\n"+want || buttons != nil || m.To != "U1" {
		t.Errorf("digest notice to %s: %q, %+v", m.To, text, buttons)
	}
	if got := bot.RenderDigest(&casebot.Digest{User: "U3", At: at}); !strings.Contains(got, "(UTC): 0 cases open.\nNothing to report") {
		t.Errorf("empty digest: %q", got)
	}
}
