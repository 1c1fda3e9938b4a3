package bot

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/casebot/casebot"
)

// The Session form's agenda (one item a line) becomes the session's
// agenda; the typed command takes the items separated by semicolons.
func TestSessionFormAgenda(t *testing.T) {
	e := newEnv(t)
	id := e.newCase(uMed, "Lease")
	f, _ := e.bot.Form(uMed, "session")
	if fl, ok := f.Field("agenda"); !ok || fl.Kind != casebot.FieldLongText || !fl.Optional {
		t.Fatalf("session form's agenda field: %+v, %v", fl, ok)
	}
	text, err := e.bot.FormText(uMed, "session", map[string]string{"ID": id, "when": "2030-01-01 09:00", "duration": "2h",
		"title": "Opening", "agenda": "Introductions\n\n  Each side's position \nNext steps"})
	if err != nil {
		t.Fatal(err)
	}
	e.must(uMed, text)
	e.must(uMed, "session "+id+` "2030-01-02 09:00" 1h Second --agenda "Exhibits; ;Offers"`)
	c := e.getCase(id)
	if got, want := c.Sessions[0].Agenda, []string{"Introductions", "Each side's position", "Next steps"}; !slices.Equal(got, want) {
		t.Errorf("agenda from the form = %q, want %q", got, want)
	}
	if got, want := c.Sessions[1].Agenda, []string{"Exhibits", "Offers"}; !slices.Equal(got, want) {
		t.Errorf("agenda typed = %q, want %q", got, want)
	}
	before := e.snap(id)
	r := e.refused(uMed, "session "+id+` "2030-01-03 09:00" 1h Third --agenda "`+strings.Repeat("x;", casebot.MaxAgendaItems+1)+`"`, casebot.EINVALID)
	var fe *casebot.FieldError
	if !errors.As(r.Err, &fe) || fe.Field != "agenda" {
		t.Errorf("too many items: %v, want a refusal of the agenda field", r.Err)
	}
	if after := e.snap(id); after.audit != before.audit || len(after.c.Sessions) != 2 || after.outbox != before.outbox {
		t.Error("a refused session changed the case")
	}
}

// The Deadline form with "document expected from" runs request (a
// deadline met by the role's next document, and their email); without it,
// deadline. The role must be one of the roles.
func TestDeadlineFormRequest(t *testing.T) {
	e := newEnvWith(t, func(c *Config) { c.Mail = fakeComposer{} })
	ctx := context.Background()
	id := e.newCase(uMed, "Lease")
	e.must(uMed, "party add "+id+" respondent Bob bob@example.com")
	f, _ := e.bot.Form(uMed, "deadline")
	if fl, ok := f.Field("role"); !ok || fl.Kind != casebot.FieldChoice || !fl.Optional {
		t.Fatalf("deadline form's role field: %+v, %v", fl, ok)
	}
	plain, err := e.bot.FormText(uMed, "deadline", map[string]string{"ID": id, "when": "2030-01-01 09:00", "text": "Position paper"})
	if err != nil || !strings.HasPrefix(plain, "deadline ") {
		t.Fatalf("deadline form without a role = %q, %v", plain, err)
	}
	text, err := e.bot.FormText(uMed, "deadline", map[string]string{"ID": id, "when": "2030-01-01 09:00", "text": "Signed lease", "role": "respondent"})
	if err != nil || !strings.HasPrefix(text, "request ") {
		t.Fatalf("deadline form with a role = %q, %v", text, err)
	}
	if rep := e.bot.Run(ctx, uMed, text); rep.Err != nil {
		t.Fatalf("%q: %s", text, rep.Text)
	}
	c := e.getCase(id)
	if len(c.Deadlines) != 1 || c.Deadlines[0].Text != "Signed lease" || c.Deadlines[0].Role != casebot.RoleRespondent {
		t.Errorf("deadlines after the form: %+v", c.Deadlines)
	}
	_, err = e.bot.FormText(uMed, "deadline", map[string]string{"ID": id, "when": "2030-01-01 09:00", "text": "x", "role": "judge"})
	var fe *casebot.FieldError
	if !errors.As(err, &fe) || fe.Field != "role" {
		t.Errorf("a role outside the options: %v, want a refusal of role", err)
	}
	_, err = e.bot.FormText(uMed, "deadline", map[string]string{"ID": id, "when": "2030-01-01 09:00", "role": "respondent"})
	if !errors.As(err, &fe) || fe.Field != "text" {
		t.Errorf("a request without its text: %v, want a refusal of the form's text field", err)
	}
}

// The Note form has an optional file field, no part of the command's text;
// the New case form's referral source is bounded like the option.
func TestNoteFileAndSourceFields(t *testing.T) {
	e := newEnv(t)
	id := e.newCase(uMed, "Lease")
	f, _ := e.bot.Form(uMed, "note")
	if fl, ok := f.Field("file"); !ok || fl.Kind != casebot.FieldFile || !fl.Optional {
		t.Fatalf("note form's file field: %+v, %v", fl, ok)
	}
	text, err := e.bot.FormText(uMed, "note", map[string]string{"ID": id, "text": "See the lease", "file": "F1,F2"})
	if err != nil || strings.Contains(text, "F1") {
		t.Fatalf("note form with files = %q, %v", text, err)
	}
	nf, _ := e.bot.Form(uMed, "new")
	if fl, ok := nf.Field("source"); !ok || fl.MaxLen != casebot.MaxSourceLen || fl.Label != "Referral source" {
		t.Errorf("new form's source field: %+v, %v", fl, ok)
	}
	text, err = e.bot.FormText(uMed, "new", map[string]string{"title": "Fence", "source": "County court"})
	if err != nil {
		t.Fatal(err)
	}
	nid := e.newCase(uMed, strings.TrimPrefix(text, "new "))
	if got := e.getCase(nid).Source; got != "County court" {
		t.Errorf("source from the form = %q", got)
	}
}
