package store

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot"
)

// request adds a document request to the respondent (deadline 1 when the
// case has none) as the request command does, due in a week.
func request(t *testing.T, db *DB, id string, role casebot.Role, what string) casebot.Deadline {
	t.Helper()
	var d casebot.Deadline
	update(t, db, id, "deadline.add", func(c *casebot.Case) {
		d = casebot.Deadline{N: len(c.Deadlines) + 1, Due: db.now().Add(7 * 24 * time.Hour), Text: what, Role: role, Created: db.now()}
		c.Deadlines = append(c.Deadlines, d)
	})
	return d
}

func deadline(t *testing.T, db *DB, id string, n int) casebot.Deadline {
	t.Helper()
	c, err := db.Case(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range c.Deadlines {
		if d.N == n {
			return d
		}
	}
	t.Fatalf("%s has no deadline %d", id, n)
	return casebot.Deadline{}
}

func eventsOf(t *testing.T, db *DB, id, action string) []casebot.AuditEvent {
	t.Helper()
	evs, err := db.Audit(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []casebot.AuditEvent
	for _, e := range evs {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

// A request to the respondent is not met by the claimant's document nor
// by the respondent's email without one; the respondent's first document
// meets it by itself, in the intake's commit: the deadline records the
// sender, note and document, the audit trail names the document, the
// deadline leaves the due index, and the mediator's notice of that email
// names the deadline. A later document meets nothing more.
func TestRequestMetByDocumentArrival(t *testing.T) {
	db, clk := openTest(t)
	ctx := context.Background()
	c := newCase(t, db, "Lease", "U1", ann, bob)
	d := request(t, db, c.ID, casebot.RoleRespondent, "Signed lease")
	plain := request(t, db, c.ID, "", "Ordinary deadline")
	clk.Advance(time.Hour)

	ingest(t, db, 1, withAttachments(emailNote(c.ID, ann.Email, "Mine.", "m1@x"), att("claim.pdf", "application/pdf", []byte("%PDF claim"))))
	ingest(t, db, 2, emailNote(c.ID, bob.Email, "Will send it soon.", "m2@x"))
	if got := deadline(t, db, c.ID, d.N); got.Met {
		t.Fatalf("met by the claimant's document or an email without one: %+v", got)
	}
	clk.Advance(time.Hour)
	b := casebot.IngestBatch{Mailbox: "INBOX", UIDValidity: 1, LastUID: 3, NoticeFeed: true, Items: []casebot.MailItem{{UID: 3, DedupeKey: "m3@x",
		Note: withAttachments(emailNote(c.ID, bob.Email, "Here it is.", "m3@x"), att("Mietvertrag_Müller.pdf", "application/pdf", []byte("%PDF lease")))}}}
	if _, err := db.Ingest(ctx, b); err != nil {
		t.Fatal(err)
	}
	got := deadline(t, db, c.ID, d.N)
	if !got.Met || !got.MetAt.Equal(clk.Now()) || got.MetBy != bob.Email || got.MetNote != 3 || got.MetDoc != 2 {
		t.Fatalf("deadline after the respondent's document: %+v", got)
	}
	if p := deadline(t, db, c.ID, plain.N); p.Met {
		t.Errorf("an ordinary deadline was met by a document: %+v", p)
	}
	evs := eventsOf(t, db, c.ID, "deadline.done")
	want := casebot.AuditEvent{CaseID: c.ID, At: clk.Now(), Actor: bob.Email, Action: "deadline.done", Detail: "met by document #2 Mietvertrag_Müller.pdf",
		About: casebot.About{N: d.N, When: d.Due, Who: bob.Email, Text: "Signed lease"}}
	if len(evs) != 1 || !evs[0].At.Equal(want.At) || !evs[0].About.When.Equal(want.About.When) {
		t.Fatalf("deadline.done events %+v, want %+v", evs, want)
	}
	evs[0].At, evs[0].About.When = want.At, want.About.When
	if !reflect.DeepEqual(evs[0], want) {
		t.Errorf("deadline.done event %+v, want %+v", evs[0], want)
	}
	overdue, err := db.Overdue(ctx, d.Due.Add(time.Hour), "")
	if err != nil || len(overdue) != 1 || overdue[0].Deadline.N != plain.N {
		t.Errorf("overdue after the due time = %+v, %v; want the ordinary deadline only", overdue, err)
	}
	if n, err := db.FeedNotices(ctx, 16); err != nil || n != 1 {
		t.Fatalf("FeedNotices = %d, %v", n, err)
	}
	due, err := db.OutboxDue(ctx, clk.Now().Add(time.Second), 0)
	if err != nil || len(due) != 1 || due[0].Notice == nil {
		t.Fatalf("outbox = %+v, %v; want the note's notice", due, err)
	}
	if m := due[0].Notice.Met; !reflect.DeepEqual(m, []casebot.DeadlineMet{{N: d.N, Text: "Signed lease"}}) {
		t.Errorf("notice.Met = %+v, want deadline %d", m, d.N)
	}
	clk.Advance(time.Hour)
	ingest(t, db, 4, withAttachments(emailNote(c.ID, bob.Email, "And another.", "m4@x"), att("more.pdf", "application/pdf", []byte("%PDF more"))))
	if evs := eventsOf(t, db, c.ID, "deadline.done"); len(evs) != 1 {
		t.Errorf("%d deadline.done events after a second document, want 1", len(evs))
	}
	mustCheck(t, db, "requests")
}

// A document that reached casebot before the request does not meet it:
// neither one filed before (nor the same bytes counted again as if new)
// nor a quarantined email received before the request and accepted
// after it. An oversize document (not kept) does not meet it either. Two
// documents in one email meet two requests, earliest due first.
func TestRequestNotMetByEarlierDocuments(t *testing.T) {
	db, clk := openTest(t)
	ctx := context.Background()
	c := newCase(t, db, "Lease", "U1", ann, bob)
	ingest(t, db, 1, withAttachments(emailNote(c.ID, bob.Email, "Early.", "m1@x"), att("early.pdf", "application/pdf", []byte("%PDF early"))))
	res, err := db.Ingest(ctx, casebot.IngestBatch{Mailbox: "INBOX", UIDValidity: 1, LastUID: 2, Items: []casebot.MailItem{{UID: 2, DedupeKey: "q",
		Quarantine: &casebot.Quarantined{Reason: "no tag", From: bob.Email, Body: "From my other thread.",
			Email: &casebot.EmailMeta{From: bob.Email, Attachments: []casebot.Attachment{att("old.pdf", "application/pdf", []byte("%PDF old"))}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	late := request(t, db, c.ID, casebot.RoleRespondent, "Later")
	d := request(t, db, c.ID, casebot.RoleRespondent, "Statement")
	update(t, db, c.ID, "deadline.move", func(c *casebot.Case) { c.Deadlines[0].Due = c.Deadlines[0].Due.Add(24 * time.Hour) })
	clk.Advance(time.Minute)
	if _, err := db.AcceptMail(ctx, res[0].Mail, c.ID, "U1", nil, true); err != nil {
		t.Fatal(err)
	}
	big := att("huge.pdf", "application/pdf", []byte("%PDF cut"))
	big.Size, big.Truncated = 1<<30, true
	ingest(t, db, 3, withAttachments(emailNote(c.ID, bob.Email, "Too big.", "m3@x"), big))
	for _, n := range []int{late.N, d.N} {
		if got := deadline(t, db, c.ID, n); got.Met {
			t.Fatalf("deadline %d met by a document from before the request or one not kept: %+v", n, got)
		}
	}
	clk.Advance(time.Minute)
	ingest(t, db, 4, withAttachments(emailNote(c.ID, bob.Email, "Both.", "m4@x"),
		att("a.pdf", "application/pdf", []byte("%PDF a")), att("b.pdf", "application/pdf", []byte("%PDF b"))))
	first, second := deadline(t, db, c.ID, d.N), deadline(t, db, c.ID, late.N)
	if !first.Met || first.MetDoc != 4 || !second.Met || second.MetDoc != 5 {
		t.Errorf("after two documents: %+v and %+v; want deadline %d met by doc 4, %d by doc 5", first, second, d.N, late.N)
	}
	for _, e := range eventsOf(t, db, c.ID, "deadline.done") {
		if !strings.HasPrefix(e.Detail, "met by document #") {
			t.Errorf("deadline.done detail %q", e.Detail)
		}
	}
}
