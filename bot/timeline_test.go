package bot

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot"
)

// Every action the code records names what it was about on the timeline,
// in the reader's zone: each step runs a command (or the mail intake the
// store is told of) and the newest line of the timeline must read as want.
func TestTimelineTellsTheStory(t *testing.T) {
	e := newEnvWith(t, func(c *Config) { c.Mail = fakeComposer{} })
	c := e.bot.cfg
	c.Quarantine = e.db
	e.bot = New(c)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no zoneinfo:", err)
	}
	e.loc[uAdmin], e.loc[uMed] = berlin, berlin
	ctx := context.Background()
	id := e.newCase(uMed, "Lease dispute")
	ingest := func(items ...casebot.MailItem) func() {
		return func() {
			t.Helper()
			if _, err := e.db.Ingest(ctx, casebot.IngestBatch{Mailbox: "INBOX", UIDValidity: 1, LastUID: items[len(items)-1].UID, Items: items}); err != nil {
				t.Fatal(err)
			}
		}
	}
	run := func(user, text string) func() { return func() { t.Helper(); e.must(user, text) } }
	long := "Position " + strings.Repeat("statement ", 12)
	steps := []struct {
		name string
		do   func()
		want string
	}{
		{"case.create", func() {}, "UMED1  opened the case: Lease dispute (priority normal, mediator UMED1)"},
		{"party.add", run(uMed, `party add `+id+` claimant "Ann Lee" ann@x.example`), "UMED1  added claimant Ann Lee <ann@x.example>"},
		{"party.add respondent", run(uMed, `party add `+id+` respondent Bob bob@x.example`), "added respondent Bob <bob@x.example>"},
		{"deadline.add", run(uMed, `deadline `+id+` "2026-03-09 17:00" Position statements`),
			"2026-03-02 11:00 CET  UMED1  added deadline #1 due Mon 9 Mar 17:00: Position statements"},
		{"deadline.done", run(uMed, "done "+id+" 1"), "met deadline #1 (due Mon 9 Mar 17:00): Position statements"},
		{"session.add", run(uMed, `session `+id+` "2026-03-10 14:00" 1h30m Opening session --where "Room 4"`),
			"scheduled session #1 for Tue 10 Mar 14:00, 1h30m: Opening session"},
		{"session.move", run(uMed, `reschedule `+id+` 1 "2026-03-11 09:30" 2h`), "moved session #1 to Wed 11 Mar 09:30, 2h: Opening session"},
		{"session.cancel", run(uMed, "cancel "+id+" 1"), "cancelled session #1 of Wed 11 Mar 09:30: Opening session"},
		{"note.add", run(uMed, "note "+id+" "+long+"\nsecond line stays out"), "added note #1: " + casebot.Headline(long)},
		{"note.add private", run(uMed, "note "+id+" --private Caucus: Ann would take 5k\nmore"), "added note #2 [private]: Caucus: Ann would take 5k"},
		{"email.send", run(uMed, "email "+id+" Please send the lease.\nThanks"), "emailed ann@x.example, bob@x.example (2 parties): Lease dispute"},
		{"email.send to a role", run(uMed, "email "+id+" --to claimant Hello"), "emailed ann@x.example (1 party, claimant only): Lease dispute"},
		{"email.note", ingest(casebot.MailItem{UID: 1, DedupeKey: "m1", Note: &casebot.Note{CaseID: id, Author: "ann@x.example", Source: casebot.SourceEmail,
			Body: "Attached is our statement.", Email: &casebot.EmailMeta{From: "ann@x.example", FromName: "Ann Lee", Subject: "Re: [" + id + "] Written statement"}}}),
			"ann@x.example  email from Ann Lee <ann@x.example> became note 3: Re: [" + id + "] Written statement"},
		{"mail.accept", func() {
			ingest(casebot.MailItem{UID: 2, DedupeKey: "q1", Quarantine: &casebot.Quarantined{Reason: "stranger", From: "eve@x.example", FromName: "Eve",
				CaseID: id, Subject: "My side of it", Body: "body"}},
				casebot.MailItem{UID: 3, DedupeKey: "q2", Quarantine: &casebot.Quarantined{Reason: "stranger", From: "spam@x.example",
					CaseID: id, Subject: "Cheap pills", Body: "body"}})()
			e.must(uMed, "accept 1 "+id)
		}, "UMED1  filed quarantined mail #1 from Eve <eve@x.example> as note #4: My side of it"},
		{"mail.reject", run(uMed, "reject 2"), "UMED1  rejected quarantined mail #2 from spam@x.example: Cheap pills"},
		{"party.bounce", func() {
			if _, err := e.db.FlagBouncing(ctx, "bob@x.example", id, "delivery failure report"); err != nil {
				t.Fatal(err)
			}
		}, "casebot  flagged mail to Bob <bob@x.example> as bouncing: delivery failure report"},
		{"party.clear", run(uMed, "party clear "+id+" bob@x.example"), "cleared the bounce flag: mail goes to Bob <bob@x.example> again"},
		{"party.remove", run(uMed, "party remove "+id+" bob@x.example"), "removed respondent Bob <bob@x.example>"},
		{"case.status", run(uMed, "status "+id+" active"), "changed the status to active (was intake)"},
		{"case.close", run(uMed, "close "+id+" settled Agreement signed"), "closed the case: settled — Agreement signed"},
		{"case.reopen", run(uMed, "status "+id+" active"), "reopened the case as active (was settled)"},
		{"view show", run(uMed, "show "+id), "UMED1  viewed the case"},
		{"view search", run(uMed, "search statement"), `UMED1  viewed notes matching "statement"`},
		{"view conflicts", run(uMed, "conflicts Ann Lee"), `UMED1  viewed parties in a conflict check for "Ann Lee"`},
		{"view timeline", func() {}, "UADM1  viewed the timeline"},
		{"case.assign", run(uAdmin, "assign "+id+" "+uOther), "UADM1  assigned the case to UMED2 (by hand, was UMED1)"},
	}
	for _, st := range steps {
		st.do()
		tl := e.must(uAdmin, "timeline "+id).Text
		lines := strings.Split(tl, "\n")
		if got := lines[len(lines)-1]; !strings.HasSuffix(got, st.want) {
			t.Errorf("%s: timeline ends with\n %q\nwant it to end with\n %q", st.name, got, st.want)
		}
		if strings.Contains(tl, "second line") || strings.Contains(tl, "Thanks") || strings.Contains(tl, "Attached") {
			t.Errorf("%s: the timeline holds more than a first line or subject:\n%s", st.name, tl)
		}
	}
	t.Logf("timeline:\n%s", e.must(uAdmin, "timeline "+id).Text)
	// Every event is one line: the heading, then the events up to this
	// timeline's own view.
	if tl, n := e.must(uAdmin, "timeline "+id).Text, len(e.audit(id)); strings.Count(tl, "\n") != n-1 {
		t.Errorf("timeline of %d events has %d lines:\n%s", n-1, strings.Count(tl, "\n"), tl)
	}
}

// Events recorded before they named what they were about (a zero About)
// keep what they recorded: their action and detail, as the timeline
// showed them; an action the table does not know shows its facts plainly.
func TestTimelineOldEventsReadAsBefore(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 14, 0, 0, time.UTC)
	for _, tt := range []struct {
		name string
		ev   casebot.AuditEvent
		want string
	}{
		{"old deadline.add", casebot.AuditEvent{At: at, Actor: "U01", Action: "deadline.add", Detail: "#1 due 2026-03-09T16:00:00Z"},
			"2026-03-02 09:14 UTC  U01  deadline.add  #1 due 2026-03-09T16:00:00Z"},
		{"old view", casebot.AuditEvent{At: at, Actor: "U01", Action: "view", Detail: "show"}, "2026-03-02 09:14 UTC  U01  view  show"},
		{"old note.add without detail", casebot.AuditEvent{At: at, Actor: "U01", Action: "note.add"}, "2026-03-02 09:14 UTC  U01  note.add"},
		{"old email.note", casebot.AuditEvent{At: at, Actor: "a@x", Action: "email.note", Detail: "note 3 from a@x"},
			"2026-03-02 09:14 UTC  a@x  email.note  note 3 from a@x"},
		{"unknown action", casebot.AuditEvent{At: at, Actor: "U01", Action: "doc.frob", Detail: "doc 2", About: casebot.About{Text: "Stellungnahme.pdf"}},
			"2026-03-02 09:14 UTC  U01  doc.frob  doc 2: Stellungnahme.pdf"},
		{"document filed", casebot.AuditEvent{At: at, Actor: "ann@x.example", Action: "doc.add", Detail: "with note 3",
			About: casebot.About{N: 2, Who: "ann@x.example", Text: "Stellungnahme_Müller.pdf"}},
			"2026-03-02 09:14 UTC  ann@x.example  filed document #2 from ann@x.example: Stellungnahme_Müller.pdf (with note 3)"},
		{"document viewed", casebot.AuditEvent{At: at, Actor: "U01", Action: "doc.view", About: casebot.About{N: 2}},
			"2026-03-02 09:14 UTC  U01  viewed document #2"},
		{"a time in another year", casebot.AuditEvent{At: at, Actor: "U01", Action: "deadline.add", About: casebot.About{N: 2, When: at.AddDate(1, 0, 0), Text: "Replies"}},
			"2026-03-02 09:14 UTC  U01  added deadline #2 due Tue 2 Mar 2027 09:14: Replies"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := timelineLine(tt.ev, time.UTC); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}
