package bot

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot"
)

// request mails the role's parties and adds a deadline tied to the role;
// show and timeline name the role; a document from a party of that role
// meets it by itself, and the notice of that email says so.
func TestRequest(t *testing.T) {
	e := newEnvWith(t, func(c *Config) { c.Mail = fakeComposer{} })
	ctx := context.Background()
	id := e.newCase(uMed, "Lease dispute")
	e.must(uMed, "party add "+id+" claimant Ann ann@x.example")
	e.must(uMed, "party add "+id+" respondent Bob bob@x.example")
	before := e.snap(id)
	got := e.must(uMed, "request "+id+" respondent +10d Signed lease").Text
	if !strings.HasPrefix(got, "Deadline #1 of "+id+": ") || !strings.Contains(got, "Signed lease (a document from respondent)") || !strings.Contains(got, "on its way to 1 party") {
		t.Errorf("request = %q", got)
	}
	after := e.snap(id)
	if after.outbox != before.outbox+1 {
		t.Errorf("outbox %d after request, want %d", after.outbox, before.outbox+1)
	}
	due, _ := e.db.OutboxDue(ctx, e.now.Add(time.Second), 0)
	if len(due) != 1 || due[0].To != "bob@x.example" || !strings.HasPrefix(due[0].Text, "Signed lease by ") {
		t.Errorf("queued %+v, want the request to bob", due)
	}
	d := after.c.Deadlines[0]
	if d.Role != casebot.RoleRespondent || d.Text != "Signed lease" || !d.Created.Equal(e.now) || !d.Due.Equal(e.now.Add(240*time.Hour)) || d.Met {
		t.Errorf("deadline %+v", d)
	}
	if show := e.must(uMed, "show "+id).Text; !strings.Contains(show, "Signed lease (a document from respondent)") {
		t.Errorf("show lacks the request's role:\n%s", show)
	}

	// The claimant's document does not meet it; the respondent's does.
	e.now = e.now.Add(time.Hour)
	e.mailDocs(id, "ann@x.example", casebot.Attachment{Name: "claim.pdf", Type: "application/pdf", Content: []byte("%PDF claim")})
	if e.getCase(id).Deadlines[0].Met {
		t.Fatal("met by the claimant's document")
	}
	e.now = e.now.Add(time.Hour)
	e.mailDocs(id, "bob@x.example", casebot.Attachment{Name: "lease.pdf", Type: "application/pdf", Content: []byte("%PDF lease")})
	c := e.getCase(id)
	if d := c.Deadlines[0]; !d.Met || d.MetBy != "bob@x.example" || d.MetDoc != 2 {
		t.Fatalf("deadline after the respondent's document: %+v", d)
	}
	if show := e.must(uMed, "show "+id).Text; !strings.Contains(show, "by bob@x.example, document #2]") {
		t.Errorf("show lacks how the request was met:\n%s", show)
	}
	tl := e.must(uMed, "timeline "+id).Text
	for _, want := range []string{", a document from respondent (requested by email from 1 party): Signed lease",
		"bob@x.example  met deadline #1 (due ", "): Signed lease (met by document #2 lease.pdf)"} {
		if !strings.Contains(tl, want) {
			t.Errorf("timeline lacks %q:\n%s", want, tl)
		}
	}
	note := e.notes(id)[1]
	text, _ := RenderNotice(casebot.EmailNoteNotice(c, note).Notice)
	if !strings.HasSuffix(text, "\nIt meets deadline #1: Signed lease.") {
		t.Errorf("notice of the respondent's email:\n%s", text)
	}
	first, _ := RenderNotice(casebot.EmailNoteNotice(c, e.notes(id)[0]).Notice)
	if strings.Contains(first, "meets deadline") {
		t.Errorf("notice of the claimant's email claims a deadline:\n%s", first)
	}
}

// Bad requests are refused with what was wrong, and nothing is stored.
func TestRequestRefusals(t *testing.T) {
	e := newEnvWith(t, func(c *Config) { c.Mail = fakeComposer{} })
	id := e.newCase(uMed, "Lease dispute")
	e.must(uMed, "party add "+id+" claimant Ann ann@x.example")
	before := e.snap(id)
	for _, tt := range []struct{ text, code, want string }{
		{"request " + id + " respondent +10d Lease", casebot.EINVALID, id + " has no respondent to ask"},
		{"request " + id + " judge +10d Lease", casebot.EINVALID, `"judge" is not a role`},
		{"request " + id + " claimant someday Lease", casebot.EINVALID, "someday"},
		{"request " + id + " claimant 2020-01-01 Lease", casebot.EINVALID, "is in the past"},
		{"request " + id + " claimant +10d", casebot.EINVALID, "Missing <what>"},
		{"request " + id + " claimant +10d Lease", casebot.EFORBIDDEN, casebot.ErrHidden(id).Message},
	} {
		user := uMed
		if tt.code == casebot.EFORBIDDEN {
			user = uOther
		}
		if r := e.refused(user, tt.text, tt.code); !strings.Contains(r.Text, tt.want) {
			t.Errorf("%q = %q, want it to say %q", tt.text, r.Text, tt.want)
		}
	}
	if after := e.snap(id); !reflect.DeepEqual(after, before) {
		t.Errorf("refused requests changed the case: %+v, was %+v", after, before)
	}
	off := newEnv(t)
	oid := off.newCase(uMed, "Other")
	if r := off.refused(uMed, "request "+oid+" claimant +10d Lease", casebot.EUNAVAIL); r.Text != emailOff {
		t.Errorf("request with mail off = %q", r.Text)
	}
}

// email --attach queues the doc#s with each party's message (the sender
// reads the bytes when it sends); a missing document, one not kept, a bad
// list or a case the actor may not see is refused and nothing is queued.
func TestEmailAttach(t *testing.T) {
	e := newEnvWith(t, func(c *Config) { c.Mail = fakeComposer{} })
	ctx := context.Background()
	id := e.newCase(uMed, "Lease dispute")
	e.must(uMed, "party add "+id+" claimant Ann ann@x.example")
	e.must(uMed, "party add "+id+" respondent Bob bob@x.example")
	e.mailDocs(id, "ann@x.example", casebot.Attachment{Name: "a.pdf", Type: "application/pdf", Content: []byte("%PDF a")},
		casebot.Attachment{Name: "big.zip", Type: "application/zip", Size: 1 << 30, Truncated: true, Content: []byte("PK")},
		casebot.Attachment{Name: "c.txt", Type: "text/plain", Content: []byte("c")})
	before := e.snap(id)
	for _, tt := range []struct{ user, text, code, want string }{
		{uMed, "email " + id + " --attach 9 hello", casebot.ENOTFOUND, id + " has no document #9"},
		{uMed, "email " + id + " --attach 1,2 hello", casebot.EINVALID, "Document #2 of " + id + " (big.zip) was over the size limit and not kept"},
		{uMed, "email " + id + " --attach 1,x hello", casebot.EINVALID, `"x" is not a document number`},
		{uMed, "email " + id + " --attach 1, 3 hello", casebot.EINVALID, "like 2,5"},
		{uOther, "email " + id + " --attach 1 hello", casebot.EFORBIDDEN, casebot.ErrHidden(id).Message},
	} {
		if r := e.refused(tt.user, tt.text, tt.code); !strings.Contains(r.Text, tt.want) {
			t.Errorf("%q = %q, want it to say %q", tt.text, r.Text, tt.want)
		}
	}
	if after := e.snap(id); !reflect.DeepEqual(after, before) {
		t.Errorf("refused emails changed something: %+v, was %+v", after, before)
	}
	if got, want := e.must(uMed, "email "+id+" --attach 3,#1,3 Papers attached.").Text, "Queued to 2 parties of "+id+", with documents #3 and #1 attached."; got != want {
		t.Errorf("email --attach = %q, want %q", got, want)
	}
	due, _ := e.db.OutboxDue(ctx, e.now.Add(time.Second), 0)
	if len(due) != 2 {
		t.Fatalf("queued %d messages, want 2", len(due))
	}
	for _, m := range due {
		if !slices.Equal(m.Attach, []int{3, 1}) || m.Text != "Papers attached." {
			t.Errorf("queued %s: attach %v, text %q", m.To, m.Attach, m.Text)
		}
	}
	if help := e.must(uMed, "help email").Text; !strings.Contains(help, "email <ID> [--to ROLE] [--attach DOC#[,DOC#…]] <text>") {
		t.Errorf("help email:\n%s", help)
	}
}
