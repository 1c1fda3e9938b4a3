package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot/internal/testserver"
)

// fileInput is a file_input's state with the uploaded files' IDs.
func fileInput(ids ...string) map[string]any {
	var files []any
	for _, id := range ids {
		files = append(files, map[string]any{"id": id, "name": "x"})
	}
	return map[string]any{"type": "file_input", "files": files}
}

// waitResponse waits for the first body posted to response_url key.
func waitResponse(t *testing.T, got <-chan []byte, what string) string {
	t.Helper()
	select {
	case b := <-got:
		return string(b)
	case <-time.After(10 * time.Second):
		t.Fatalf("no response_url post: %s", what)
		return ""
	}
}

// The Note form's files become documents of the case with the right bytes
// (a file over the limit is refused at the file input, nothing stored);
// the Session form's agenda lines become its agenda.
func TestNoteFormFilesAndSessionAgenda(t *testing.T) {
	rd, slackAPI := slackDaemon(t, "[mail_limits]\nmax_attachment_bytes = 100000\n")
	ctx := context.Background()
	id := homeCaseRe.FindString(mustRun(t, rd, "U1", "new Lease dispute"))
	drain(t, slackAPI)

	big := slackAPI.AddFile(testserver.SharedFile{Name: "huge.bin", Mimetype: "application/octet-stream", Content: make([]byte, 100001)})
	before := auditLen(t, rd, id)
	code, body := submit(t, rd, "U1", "note", `{"case":"`+id+`"}`, map[string]map[string]any{"text": text("See the file"), "file": fileInput(big)})
	wantErrors(t, "a file over the limit", code, body, "file")
	if !strings.Contains(body, "huge.bin is 97.7 KB") {
		t.Errorf("refusal %s does not say why", body)
	}
	if n := auditLen(t, rd, id); n != before {
		t.Errorf("a refused note form changed the trail (%d -> %d)", before, n)
	}

	content := make([]byte, 50000)
	_, _ = rand.Read(content)
	sum := sha256.Sum256(content)
	fid := slackAPI.AddFile(testserver.SharedFile{Name: "Lease.pdf", Mimetype: "application/pdf", Content: content})
	url, got, done := slackAPI.Expect("note-form")
	defer done()
	meta, _ := json.Marshal(map[string]string{"case": id, "reply": url})
	code, body = submit(t, rd, "U1", "note", string(meta), map[string]map[string]any{"text": text("The signed lease"), "file": fileInput(fid)})
	wantClosed(t, "a note with a file", code, body)
	reply := waitResponse(t, got, "the note form's confirmation")
	if !strings.Contains(reply, "as document #1 of "+id) || !strings.Contains(reply, `"response_type":"ephemeral"`) {
		t.Errorf("confirmation %s, want an ephemeral reply naming document #1", reply)
	}
	doc, data, err := rd.d.DB.DocumentFile(ctx, id, 1)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Name != "Lease.pdf" || fmt.Sprintf("%x", sum) != doc.SHA256 || string(data) != string(content) || doc.Last().From != "U1" {
		t.Errorf("document %+v, want the uploaded bytes from U1", doc)
	}
	if notes, _ := rd.d.DB.Notes(ctx, id); len(notes) != 1 || notes[0].Body != "The signed lease" {
		t.Errorf("notes %+v, want the form's one note", notes)
	}

	future := time.Now().AddDate(0, 0, 10).Format("2006-01-02")
	code, body = submit(t, rd, "U1", "session", `{"case":"`+id+`"}`, map[string]map[string]any{"when": date(future), "when.time": clock("10:00"),
		"duration": text("2h"), "title": text("Opening"), "agenda": text("Introductions\n\nEach side's position\nNext steps  ")})
	wantClosed(t, "a session with an agenda", code, body)
	c := caseNow(t, rd, id)
	if len(c.Sessions) != 1 || !slices.Equal(c.Sessions[0].Agenda, []string{"Introductions", "Each side's position", "Next steps"}) {
		t.Errorf("sessions %+v, want the agenda's three items", c.Sessions)
	}
	if refused := slackAPI.Refused(); len(refused) > 0 {
		t.Errorf("Slack refused views: %q", refused)
	}
}

// A form opened by a slash command or a message shortcut confirms there,
// ephemerally, through Slack's response_url; one opened by the global
// shortcut (no channel) confirms by DM. The New case form takes the
// referral source.
func TestFormConfirmationsWhereOpened(t *testing.T) {
	rd, slackAPI := slackDaemon(t, "")
	url, got, done := slackAPI.Expect("slash-new")
	defer done()
	if code, body := signedForm(t, rd.base, "s3cret", testserver.SlashForm("U1", "new", "trig-c1", url)); code != http.StatusOK || body != "" {
		t.Fatalf("/case new = %d %q", code, body)
	}
	v := nextView(t, slackAPI, "the New case form")
	if !strings.Contains(v.JSON, `"block_id":"source"`) {
		t.Errorf("the New case form has no referral source: %s", v.JSON)
	}
	code, body := submit(t, rd, "U1", "new", v.PrivateMetadata, map[string]map[string]any{"title": text("Garden fence"), "source": text("County court")})
	wantClosed(t, "new from the slash command", code, body)
	if reply := waitResponse(t, got, "the slash command's form"); !strings.Contains(reply, "Opened MED-") || !strings.Contains(reply, `"response_type":"ephemeral"`) {
		t.Errorf("confirmation %s, want the ephemeral Opened reply", reply)
	}
	id := homeCaseRe.FindString(mustRun(t, rd, "U1", "list"))
	if src := caseNow(t, rd, id).Source; src != "County court" {
		t.Errorf("referral source from the form = %q", src)
	}

	msgURL, msgGot, msgDone := slackAPI.Expect("msg-shortcut")
	defer msgDone()
	if code, body := interaction(t, rd, map[string]any{"type": "message_action", "callback_id": "add_to_case", "trigger_id": "trig-m",
		"team": map[string]any{"id": testserver.Team}, "user": map[string]any{"id": "U1"}, "channel": map[string]any{"id": "C0PUBLIC"},
		"response_url": msgURL, "message": map[string]any{"type": "message", "text": "Call at 3", "ts": "1700000000.000300"}}); code != http.StatusOK {
		t.Fatalf("message shortcut: %d %s", code, body)
	}
	v = nextView(t, slackAPI, "the Note form from the shortcut")
	code, body = submit(t, rd, "U1", "note", v.PrivateMetadata, map[string]map[string]any{
		"ID": {"type": "external_select", "selected_option": map[string]any{"value": id}}, "text": text("Call at 3")})
	wantClosed(t, "add_to_case", code, body)
	if reply := waitResponse(t, msgGot, "the message shortcut's form"); !strings.Contains(reply, id) {
		t.Errorf("confirmation %s, want the note's reply in the channel", reply)
	}
	for _, p := range slackAPI.Posts() {
		if p.Channel == "D-U1" && p.Key == "" {
			t.Errorf("a form opened in a channel confirmed by DM too: %s", p.Text)
		}
	}

	if code, body := interaction(t, rd, map[string]any{"type": "shortcut", "callback_id": "new_case", "trigger_id": "trig-g",
		"team": map[string]any{"id": testserver.Team}, "user": map[string]any{"id": "U1"}}); code != http.StatusOK {
		t.Fatalf("global shortcut: %d %s", code, body)
	}
	v = nextView(t, slackAPI, "New case from the global shortcut")
	code, body = submit(t, rd, "U1", "new", v.PrivateMetadata, map[string]map[string]any{"title": text("Boundary wall")})
	wantClosed(t, "new from the global shortcut", code, body)
	dmSaying(t, slackAPI, "U1", "Boundary wall")
}
