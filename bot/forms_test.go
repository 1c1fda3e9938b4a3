package bot

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/casebot/casebot"
)

// Forms derive from the command table: their fields are the usage's
// arguments and options, their options the domain's lists.
func TestFormsDeriveFromTheTable(t *testing.T) {
	e := newEnv(t)
	f, ok := e.bot.Form(uMed, "party add")
	if !ok {
		t.Fatal("no party add form")
	}
	var names []string
	for _, fl := range f.Fields {
		names = append(names, fl.Name)
	}
	if want := []string{"ID", "role", "name", "email"}; !slices.Equal(names, want) {
		t.Errorf("party add fields %q, want %q", names, want)
	}
	role, _ := f.Field("role")
	if role.Kind != casebot.FieldChoice || len(role.Options) != len(casebot.Roles) || role.Options[0] != string(casebot.Roles[0]) {
		t.Errorf("role field %+v, want a choice of casebot.Roles", role)
	}
	closeForm, _ := e.bot.Form(uMed, "close")
	outcome, _ := closeForm.Field("outcome")
	if want := []string{"settled", "partial", "impasse", "withdrawn"}; !slices.Equal(outcome.Options, want) {
		t.Errorf("outcomes %q, want %q", outcome.Options, want)
	}
	nm, _ := e.bot.Form(uMed, "new")
	if _, ok := nm.Field("mediator"); ok {
		t.Error("a mediator's New case form has a mediator field")
	}
	na, _ := e.bot.Form(uAdmin, "new")
	if fl, ok := na.Field("mediator"); !ok || fl.Kind != casebot.FieldUser {
		t.Error("an admin's New case form has no mediator field")
	}
	if _, ok := e.bot.Form(uMed, "list"); ok {
		t.Error("list has a form")
	}
	if c, ok := e.bot.FormCommand(" New "); !ok || c != "new" {
		t.Errorf("FormCommand(new) = %q, %v", c, ok)
	}
	if _, ok := e.bot.FormCommand("new Boundary wall"); ok {
		t.Error("new with a title opens a form")
	}
}

// A submitted form is the command's text: run, it does what the typed
// command does; its refusals name the field.
func TestFormTextRunsAsTheCommand(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	text, err := e.bot.FormText(uMed, "new", map[string]string{"title": "Fence \"north\" -- side", "priority": "urgent", "type": "neighbour dispute"})
	if err != nil {
		t.Fatal(err)
	}
	rep := e.bot.Run(ctx, uMed, text)
	if rep.Err != nil {
		t.Fatalf("%q: %s", text, rep.Text)
	}
	cs, _ := e.db.Cases(ctx, casebot.CaseFilter{State: "all"})
	if len(cs) != 1 || cs[0].Title != "Fence \"north\" -- side" || cs[0].Priority != casebot.PriorityUrgent || cs[0].Type != "neighbour dispute" {
		t.Fatalf("case %+v from %q", cs[0], text)
	}
	id := cs[0].ID
	for _, tc := range []struct {
		name, command string
		values        map[string]string
		field         string
		atRun         bool // refused when run, not when built
	}{
		{"missing title", "new", map[string]string{}, "title", false},
		{"priority outside the options", "new", map[string]string{"title": "x", "priority": "extreme"}, "priority", false},
		{"role outside the options", "party add", map[string]string{"ID": id, "role": "judge", "name": "A", "email": "a@b.example"}, "role", false},
		{"a second word where one is wanted", "party add", map[string]string{"ID": id, "role": "claimant", "name": "A", "email": "a@b.example extra"}, "email", false},
		{"bad email", "party add", map[string]string{"ID": id, "role": "claimant", "name": "Ann", "email": "nope"}, "email", true},
		{"past date", "deadline", map[string]string{"ID": id, "when": "2020-01-01 09:00", "text": "x"}, "when", true},
		{"bad duration", "session", map[string]string{"ID": id, "when": "2030-01-01 09:00", "duration": "ages", "title": "x"}, "duration", true},
		{"over-long note", "note", map[string]string{"ID": id, "text": strings.Repeat("n", casebot.MaxTextLen+1)}, "text", true},
		{"unclosed quote", "note", map[string]string{"ID": id, "text": "\"open"}, "text", false},
		{"over-long place", "session", map[string]string{"ID": id, "when": "2030-01-01 09:00", "duration": "2h", "title": "x", "where": strings.Repeat("w", casebot.MaxWhereLen+1)}, "where", true},
	} {
		text, err := e.bot.FormText(uMed, tc.command, tc.values)
		if err == nil {
			if !tc.atRun {
				t.Errorf("%s: built %q, want a refusal", tc.name, text)
				continue
			}
			err = e.bot.Run(ctx, uMed, text).Err
		} else if tc.atRun {
			t.Errorf("%s: refused when built (%v), want the command's own refusal", tc.name, err)
		}
		var fe *casebot.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || casebot.ErrorCode(err) != casebot.EINVALID {
			t.Errorf("%s: %v, want an EINVALID refusal of field %q", tc.name, err, tc.field)
		}
	}
	if c, _ := e.db.Case(ctx, id); len(c.Parties)+len(c.Deadlines)+len(c.Sessions) != 0 {
		t.Errorf("refused forms stored %+v", c)
	}
}
