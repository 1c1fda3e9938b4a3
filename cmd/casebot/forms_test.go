package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/internal/testserver"
)

// submit posts a view_submission of the form of command with values by
// block ID (each the state of the block's "value" action).
func submit(t *testing.T, rd *runningDaemon, user, command, meta string, values map[string]map[string]any) (int, string) {
	t.Helper()
	state := map[string]any{}
	for block, v := range values {
		state[block] = map[string]any{"value": v}
	}
	return interaction(t, rd, map[string]any{
		"type": "view_submission", "team": map[string]any{"id": testserver.Team}, "user": map[string]any{"id": user},
		"view": map[string]any{"id": "V1", "type": "modal", "callback_id": "form:" + command, "private_metadata": meta,
			"state": map[string]any{"values": state}},
	})
}

func text(v string) map[string]any { return map[string]any{"type": "plain_text_input", "value": v} }
func choice(v string) map[string]any {
	return map[string]any{"type": "static_select", "selected_option": map[string]any{"value": v}}
}
func date(v string) map[string]any  { return map[string]any{"type": "datepicker", "selected_date": v} }
func clock(v string) map[string]any { return map[string]any{"type": "timepicker", "selected_time": v} }
func ticked() map[string]any {
	return map[string]any{"type": "checkboxes", "selected_options": []any{map[string]any{"value": "true"}}}
}

// wantErrors checks a submission was refused at field, with nothing else.
func wantErrors(t *testing.T, what string, code int, body, field string) {
	t.Helper()
	var resp struct {
		Action string            `json:"response_action"`
		Errors map[string]string `json:"errors"`
	}
	if code != http.StatusOK || json.Unmarshal([]byte(body), &resp) != nil || resp.Action != "errors" || resp.Errors[field] == "" || len(resp.Errors) != 1 {
		t.Errorf("%s: %d %s, want response_action errors at %q", what, code, body, field)
	}
}

func wantClosed(t *testing.T, what string, code int, body string) {
	t.Helper()
	if code != http.StatusOK || body != "" {
		t.Errorf("%s: %d %q, want an empty 200 (the form closes)", what, code, body)
	}
}

func caseNow(t *testing.T, rd *runningDaemon, id string) *casebot.Case {
	t.Helper()
	c, err := rd.d.DB.Case(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// auditLen is the length of a case's audit trail: nothing stored leaves it.
func auditLen(t *testing.T, rd *runningDaemon, id string) int {
	t.Helper()
	evs, err := rd.d.DB.Audit(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

// Every form opens (from /case new with no words, from show's buttons)
// with Slack-valid blocks, and its submission runs the command: a valid
// one changes the store and closes the form, an invalid one comes back as
// errors at the refused field with nothing stored.
func TestFormsOpenAndSubmit(t *testing.T) {
	sink := testserver.NewSMTP(t, testserver.SMTPOptions{})
	rd, slackAPI := slackDaemon(t, fmt.Sprintf("[smtp]\naddr = %q\ntls = \"none\"\nfrom = \"Mediation Office <cases@practice.example>\"\n", sink.Addr()))
	ctx := context.Background()

	// /case new with no words opens the New case form; no mediator field
	// for a mediator, one for an admin.
	form := testserver.SlashForm("U1", "new", "trig-new-1", "http://127.0.0.1:1/unused")
	if code, body := signedForm(t, rd.base, "s3cret", form); code != http.StatusOK || body != "" {
		t.Fatalf("/case new = %d %q, want an empty 200 while the form opens", code, body)
	}
	v := nextView(t, slackAPI, "the New case form")
	if v.Method != "views.open" || v.TriggerID != "trig-new-1" || v.CallbackID != "form:new" {
		t.Fatalf("views.open %+v", v)
	}
	for _, want := range []string{`"block_id":"title"`, `"block_id":"priority"`, `"value":"urgent"`, `"block_id":"type"`} {
		if !strings.Contains(v.JSON, want) {
			t.Errorf("New case form lacks %s: %s", want, v.JSON)
		}
	}
	if strings.Contains(v.JSON, `"block_id":"mediator"`) {
		t.Errorf("a mediator's New case form asks for a mediator")
	}
	if code, _ := signedForm(t, rd.base, "s3cret", testserver.SlashForm("UADMIN", "new", "trig-new-2", "http://127.0.0.1:1/unused")); code != http.StatusOK {
		t.Fatal(code)
	}
	if v := nextView(t, slackAPI, "the admin's New case form"); !strings.Contains(v.JSON, `"block_id":"mediator"`) || !strings.Contains(v.JSON, "users_select") {
		t.Errorf("admin's New case form has no mediator select: %s", v.JSON)
	}

	// New case: invalid values refused at their field, nothing stored.
	code, body := submit(t, rd, "U1", "new", "", map[string]map[string]any{"title": text("Garden fence"), "priority": choice("bogus")})
	wantErrors(t, "priority outside the options", code, body, "priority")
	code, body = submit(t, rd, "U1", "new", "", map[string]map[string]any{"title": text(strings.Repeat("x", casebot.MaxTitleLen+1))})
	wantErrors(t, "over-long title", code, body, "title")
	if cs, _ := rd.d.DB.Cases(ctx, casebot.CaseFilter{State: "all"}); len(cs) != 0 {
		t.Fatalf("refused forms stored %d cases", len(cs))
	}
	code, body = submit(t, rd, "U1", "new", "", map[string]map[string]any{"title": text("Garden fence"), "priority": choice("high"), "type": text("neighbour")})
	wantClosed(t, "valid New case", code, body)
	cs, _ := rd.d.DB.Cases(ctx, casebot.CaseFilter{State: "all"})
	if len(cs) != 1 || cs[0].Title != "Garden fence" || cs[0].Priority != casebot.PriorityHigh || cs[0].Type != "neighbour" || cs[0].Mediator != "U1" {
		t.Fatalf("cases after New case: %+v", cs)
	}
	id := cs[0].ID
	// The command's confirmation reaches the user's DM.
	waitFor(t, "the confirmation DM", func() bool {
		for _, p := range slackAPI.Posts() {
			if p.Channel == "D-U1" && strings.Contains(p.Text+p.Blocks, id) && p.Key == "" {
				return true
			}
		}
		return false
	})

	// show's buttons open the case's forms, the case in the metadata.
	show := rd.d.Command(ctx, "U1", "show "+id)
	meta := `{"case":"` + id + `"}`
	for _, f := range []string{"party add", "deadline", "session", "note", "email", "close"} {
		found := false
		for _, b := range show.Buttons {
			found = found || (b.ActionID == casebot.ActionOpenForm && b.Value == f+"/"+id)
		}
		if !found {
			t.Errorf("show has no button for the %s form: %+v", f, show.Buttons)
			continue
		}
		code, body := interaction(t, rd, map[string]any{"type": "block_actions", "team": map[string]any{"id": testserver.Team},
			"user": map[string]any{"id": "U1"}, "trigger_id": "trig-" + f, "response_url": "http://127.0.0.1:1/unused",
			"actions": []any{map[string]any{"type": "button", "action_id": casebot.ActionOpenForm, "value": f + "/" + id, "block_id": "b"}}})
		if code != http.StatusOK {
			t.Fatalf("%s button: %d %s", f, code, body)
		}
		v := nextView(t, slackAPI, "the "+f+" form")
		// The confirmation goes back where the button was (its response_url).
		if v.CallbackID != "form:"+f || v.PrivateMetadata != `{"case":"`+id+`","reply":"http://127.0.0.1:1/unused"}` || strings.Contains(v.JSON, `"block_id":"ID"`) {
			t.Errorf("%s form: %s", f, v.JSON)
		}
	}

	type try struct {
		name, command string
		values        map[string]map[string]any
		field         string // "" for a valid submission
	}
	future := time.Now().AddDate(0, 0, 10).Format("2006-01-02")
	long := strings.Repeat("y", casebot.MaxTextLen+1)
	for _, tc := range []try{
		{"party: bad email", "party add", map[string]map[string]any{"role": choice("claimant"), "name": text("Ann Lee"), "email": text("not-an-address")}, "email"},
		{"party: role outside the options", "party add", map[string]map[string]any{"role": choice("judge"), "name": text("Ann Lee"), "email": text("ann@example.com")}, "role"},
		{"party", "party add", map[string]map[string]any{"role": choice("claimant"), "name": text("Ann Lee"), "email": text("ann@example.com")}, ""},
		{"deadline: in the past", "deadline", map[string]map[string]any{"when": date("2020-01-01"), "when.time": clock("09:00"), "text": text("Old")}, "when"},
		{"deadline", "deadline", map[string]map[string]any{"when": date(future), "when.time": clock("17:00"), "text": text("Position papers")}, ""},
		{"session: bad duration", "session", map[string]map[string]any{"when": date(future), "when.time": clock("10:00"), "duration": text("forever"), "title": text("Opening")}, "duration"},
		{"session", "session", map[string]map[string]any{"when": date(future), "when.time": clock("10:00"), "duration": text("2h"), "title": text("Opening session"), "where": text("Room 4")}, ""},
		{"note: over-long", "note", map[string]map[string]any{"text": text(long)}, "text"},
		{"note", "note", map[string]map[string]any{"text": text("Caucus: --private is not an option here"), "private": ticked()}, ""},
		{"email: role outside the options", "email", map[string]map[string]any{"to": choice("judge"), "text": text("Hello")}, "to"},
		{"email", "email", map[string]map[string]any{"to": choice("claimant"), "text": text("Please send your papers.")}, ""},
		{"close: outcome outside the options", "close", map[string]map[string]any{"outcome": choice("active")}, "outcome"},
		{"close", "close", map[string]map[string]any{"outcome": choice("settled"), "text": text("Agreed on the fence")}, ""},
	} {
		before := auditLen(t, rd, id)
		code, body := submit(t, rd, "U1", tc.command, meta, tc.values)
		if tc.field != "" {
			wantErrors(t, tc.name, code, body, tc.field)
			if n := auditLen(t, rd, id); n != before {
				t.Errorf("%s: refused but the audit trail grew from %d to %d", tc.name, before, n)
			}
			continue
		}
		wantClosed(t, tc.name, code, body)
		if n := auditLen(t, rd, id); n <= before {
			t.Errorf("%s: nothing stored", tc.name)
		}
	}
	c := caseNow(t, rd, id)
	if len(c.Parties) != 1 || c.Parties[0].Email != "ann@example.com" || c.Parties[0].Name != "Ann Lee" {
		t.Errorf("parties %+v", c.Parties)
	}
	if len(c.Deadlines) != 1 || c.Deadlines[0].Text != "Position papers" || c.Deadlines[0].Due.Format("15:04") != "17:00" {
		t.Errorf("deadlines %+v", c.Deadlines)
	}
	if len(c.Sessions) != 1 || c.Sessions[0].Title != "Opening session" || c.Sessions[0].Where != "Room 4" || c.Sessions[0].Duration != 2*time.Hour {
		t.Errorf("sessions %+v", c.Sessions)
	}
	if c.Status != casebot.StatusSettled || c.OutcomeText != "Agreed on the fence" {
		t.Errorf("status %s %q, want settled", c.Status, c.OutcomeText)
	}
	notes, _ := rd.d.DB.Notes(ctx, id)
	var private *casebot.Note
	for _, n := range notes {
		if n.Private {
			private = n
		}
	}
	if private == nil || private.Body != "Caucus: --private is not an option here" || private.Author != "U1" {
		t.Errorf("notes %+v, want U1's private note as typed", notes)
	}
	waitFor(t, "the email to the claimant", func() bool {
		for _, m := range sink.Messages() {
			if strings.Contains(string(m.Data), "Please send your papers.") {
				return true
			}
		}
		return false
	})

	// A view casebot did not open, forged metadata, a case the user may
	// not change: refused, nothing stored.
	other := homeCaseRe.FindString(mustRun(t, rd, "U2", "new Other case"))
	if code, _ := interaction(t, rd, map[string]any{"type": "view_submission", "team": map[string]any{"id": testserver.Team}, "user": map[string]any{"id": "U1"},
		"view": map[string]any{"id": "V9", "type": "modal", "callback_id": "somebody_elses_form", "state": map[string]any{"values": map[string]any{}}}}); code != http.StatusBadRequest {
		t.Errorf("unknown callback_id = %d, want 400", code)
	}
	code, body = submit(t, rd, "U1", "note", `{not json`, map[string]map[string]any{"text": text("x")})
	wantErrors(t, "forged metadata", code, body, "ID")
	before := auditLen(t, rd, other)
	code, body = submit(t, rd, "U1", "note", `{"case":"`+other+`"}`, map[string]map[string]any{"text": text("sneaky")})
	wantErrors(t, "another mediator's case", code, body, "text")
	if !strings.Contains(body, casebot.ErrHidden(other).Message) {
		t.Errorf("refusal %s, want the hidden-case denial", body)
	}
	if n := auditLen(t, rd, other); n != before {
		t.Errorf("a refused note changed %s's trail", other)
	}
	if refused := slackAPI.Refused(); len(refused) > 0 {
		t.Errorf("Slack refused views: %q", refused)
	}
}

// The global shortcut opens New case; the message shortcut add_to_case
// opens the Note form with the message's text, its case select suggests
// only the user's open cases as they type, and the submitted note keeps
// the message's permalink, written by the user.
func TestShortcuts(t *testing.T) {
	rd, slackAPI := slackDaemon(t, "")
	ctx := context.Background()
	mine := homeCaseRe.FindString(mustRun(t, rd, "U1", "new Lease dispute"))
	mustRun(t, rd, "U1", "new Fence dispute")
	other := homeCaseRe.FindString(mustRun(t, rd, "U2", "new Lease of another"))
	drain(t, slackAPI)

	base := func(typ, callback, trigger string) map[string]any {
		return map[string]any{"type": typ, "callback_id": callback, "trigger_id": trigger,
			"team": map[string]any{"id": testserver.Team}, "user": map[string]any{"id": "U1"}}
	}
	if code, body := interaction(t, rd, base("shortcut", "new_case", "trig-g")); code != http.StatusOK {
		t.Fatalf("global shortcut: %d %s", code, body)
	}
	if v := nextView(t, slackAPI, "New case from the shortcut"); v.CallbackID != "form:new" || v.TriggerID != "trig-g" {
		t.Errorf("global shortcut opened %v", v.CallbackID)
	}

	msg := base("message_action", "add_to_case", "trig-m")
	msg["channel"] = map[string]any{"id": "C0PUBLIC"}
	msg["message"] = map[string]any{"type": "message", "text": "The landlord agreed &amp; will call", "ts": "1700000000.000200"}
	if code, body := interaction(t, rd, msg); code != http.StatusOK {
		t.Fatalf("message shortcut: %d %s", code, body)
	}
	v := nextView(t, slackAPI, "the Note form from add_to_case")
	var meta struct{ Link string }
	_ = json.Unmarshal([]byte(v.PrivateMetadata), &meta)
	if v.CallbackID != "form:note" || !strings.Contains(v.JSON, `"initial_value":"The landlord agreed \u0026 will call"`) || !strings.Contains(v.JSON, "external_select") ||
		!strings.Contains(meta.Link, "/archives/C0PUBLIC/p1700000000000200") {
		t.Fatalf("add_to_case form: %s", v.JSON)
	}

	sug := base("block_suggestion", "", "")
	sug["block_id"], sug["action_id"], sug["value"] = "ID", "value", "lease"
	sug["view"] = map[string]any{"id": "V1", "callback_id": "form:note"}
	code, body := interaction(t, rd, sug)
	if code != http.StatusOK || !strings.Contains(body, mine) || strings.Contains(body, other) || strings.Contains(body, "Fence") {
		t.Fatalf("suggestions for %q: %d %s, want %s only", "lease", code, body, mine)
	}

	code, body = submit(t, rd, "U1", "note", v.PrivateMetadata, map[string]map[string]any{
		"ID":   {"type": "external_select", "selected_option": map[string]any{"value": mine}},
		"text": text("The landlord agreed & will call"),
	})
	wantClosed(t, "add_to_case", code, body)
	notes, _ := rd.d.DB.Notes(ctx, mine)
	if len(notes) != 1 || notes[0].Author != "U1" || !strings.HasPrefix(notes[0].Body, "The landlord agreed & will call") || !strings.Contains(notes[0].Body, meta.Link) {
		t.Fatalf("notes %+v, want U1's note with the message and its link", notes)
	}
	// Picking a case that is not the user's: refused at the case select.
	code, body = submit(t, rd, "U1", "note", "", map[string]map[string]any{
		"ID": {"type": "external_select", "selected_option": map[string]any{"value": other}}, "text": text("x")})
	wantErrors(t, "another's case", code, body, "ID")
	if ns, _ := rd.d.DB.Notes(ctx, other); len(ns) != 0 {
		t.Errorf("a refused note reached %s", other)
	}
}
