package casebot_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot"
)

// The mediator's notice of a party note carries the sender, case, note
// number, subject and the first three lines, under the key the outbox
// has always used for it.
func TestEmailNoteNotice(t *testing.T) {
	c := &casebot.Case{ID: "MED-2026-0007", Title: "Lease dispute", Mediator: "U1"}
	n := &casebot.Note{CaseID: c.ID, N: 3, Author: "ann@example.com", Body: "Reply number 3.\n\nSecond line.\nThird line.\nFourth line.",
		Email: &casebot.EmailMeta{FromName: "Ann Lee", Subject: "Re: [MED-2026-0007] dates"}}
	m := casebot.EmailNoteNotice(c, n)
	if m.Key != "email-note/MED-2026-0007/3" || m.To != "U1" || m.Kind != casebot.OutSlack || m.CaseID != c.ID || m.Text != "" {
		t.Fatalf("message %+v", m)
	}
	want := casebot.Notice{Kind: casebot.NoticeEmailNote, CaseID: c.ID, CaseTitle: "Lease dispute", N: 3, From: "Ann Lee <ann@example.com>",
		Subject: "Re: [MED-2026-0007] dates", Excerpt: "Reply number 3.\nSecond line.\nThird line.\n…"}
	if m.Notice == nil || !reflect.DeepEqual(*m.Notice, want) {
		t.Fatalf("notice %+v, want %+v", m.Notice, want)
	}
	// The document requests this note met, and only those, are named.
	c.Deadlines = []casebot.Deadline{{N: 1, Text: "Met by hand", Met: true}, {N: 2, Text: "Statement", Role: casebot.RoleClaimant, Met: true, MetNote: 3, MetDoc: 1},
		{N: 3, Text: "Other note", Role: casebot.RoleClaimant, Met: true, MetNote: 2, MetDoc: 2}}
	if got := casebot.EmailNoteNotice(c, n).Notice.Met; !reflect.DeepEqual(got, []casebot.DeadlineMet{{N: 2, Text: "Statement"}}) {
		t.Errorf("Met = %+v, want deadline 2 only", got)
	}
	n.Email = nil
	if got := casebot.EmailNoteNotice(c, n).Notice; got.From != "ann@example.com" || got.Subject != "" {
		t.Errorf("notice of a note without email meta: %+v", got)
	}
}

func TestEmailNoteNoticeExcerpt(t *testing.T) {
	long := strings.Repeat("é", 200) // 400 bytes
	tests := []struct{ name, body, want string }{
		{"empty", "", ""},
		{"blank lines only", "\n  \n\t\n", ""},
		{"short", "  one line  ", "one line"},
		{"exactly three", "a\nb\nc\n", "a\nb\nc"},
		{"three and a blank", "a\nb\n\nc", "a\nb\nc\n…"},
		{"more than three", "a\nb\nc\nd", "a\nb\nc\n…"},
		{"cut at a rune", long, strings.Repeat("é", 150) + "…"},
	}
	c := &casebot.Case{ID: "MED-2026-0001", Mediator: "U1"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := casebot.EmailNoteNotice(c, &casebot.Note{N: 1, Author: "a@x", Body: tt.body}).Notice.Excerpt; got != tt.want {
				t.Errorf("excerpt = %q, want %q", got, tt.want)
			}
		})
	}
}

// Built once for every stored email note: it must stay cheap.
func TestEmailNoteNoticeAllocs(t *testing.T) {
	c := &casebot.Case{ID: "MED-2026-0007", Title: "Lease dispute", Mediator: "U1"}
	n := &casebot.Note{CaseID: c.ID, N: 3, Author: "ann@example.com", Body: strings.Repeat("A line of a reply.\n", 40),
		Email: &casebot.EmailMeta{FromName: "Ann Lee", Subject: "Re: dates"}}
	if a := testing.AllocsPerRun(100, func() { _ = casebot.EmailNoteNotice(c, n) }); a > 4 {
		t.Errorf("EmailNoteNotice allocates %v times, want at most 4", a)
	}
}

func TestBounceNotice(t *testing.T) {
	c := &casebot.Case{ID: "MED-2026-0007", Title: "Lease dispute", Mediator: "U1"}
	at := time.Unix(1700000000, 42)
	m := casebot.BounceNotice(c, casebot.Party{Email: "bob@example.com", Role: casebot.RoleRespondent}, "550 no such user", at)
	if m.Key != "bounce/MED-2026-0007/bob@example.com/1700000000000000042" || m.To != "U1" || m.Kind != casebot.OutSlack || m.CaseID != c.ID {
		t.Fatalf("message %+v", m)
	}
	want := casebot.Notice{Kind: casebot.NoticeBounce, CaseID: c.ID, CaseTitle: c.Title, Party: "bob@example.com", Role: casebot.RoleRespondent, Reason: "550 no such user"}
	if !reflect.DeepEqual(*m.Notice, want) {
		t.Fatalf("notice %+v, want %+v", *m.Notice, want)
	}
}
