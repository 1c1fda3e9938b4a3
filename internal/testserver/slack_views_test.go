package testserver_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/casebot/casebot/internal/testserver"
)

// The fake Slack reads a view call's body as Slack would: one JSON object
// with string IDs and a view object, checked for Slack's limits; it keeps
// the view's JSON exactly as sent.
func TestSlackViewCalls(t *testing.T) {
	fake := testserver.NewSlack(t, "xoxb-t")
	call := func(method, body string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, fake.URL()+method, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer xoxb-t")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	section := `{"type":"section","text":{"type":"mrkdwn","text":"hi \u0026 bye"},"accessory":{"type":"button","text":{"type":"plain_text","text":"Show"},"action_id":"a","value":"v"}}`
	home := `{ "type" : "home", "blocks": [` + section + `] }`
	if got := call("views.publish", `{"user_id":"U1","ignored":[1,{"x":2}],"view":`+home+`}`); !strings.Contains(got, `"ok":true`) {
		t.Fatalf("a valid home refused: %s", got)
	}
	v := <-fake.Viewed()
	if v.UserID != "U1" || v.JSON != home || v.Type != "home" || v.Map()["type"] != "home" || len(v.Blocks()) != 1 ||
		!strings.Contains(v.Text(), "hi & bye\n") || !strings.Contains(v.Text(), "Show\n") {
		t.Errorf("accepted %+v (JSON %q, text %q)", v, v.JSON, v.Text())
	}
	many := strings.TrimSuffix(strings.Repeat(section+",", 101), ",")
	for _, tt := range []struct{ method, body, why string }{
		{"views.publish", `{"user_id":"U1","view":` + home, "not JSON with a view"},
		{"views.publish", `{"user_id":"U1","view":` + home + `} {}`, "not JSON with a view"},
		{"views.publish", `{"user_id":"U1"}`, "not JSON with a view"},
		{"views.publish", `[{"user_id":"U1","view":` + home + `}]`, "not JSON with a view"},
		{"views.publish", `{"user_id":7,"view":` + home + `}`, "not JSON with a view"},
		{"views.publish", `{"user_id":"U1","view":[` + home + `]}`, "view: not an object"},
		{"views.publish", `{"view":` + home + `}`, "needs user_id and a home view"},
		{"views.publish", `{"user_id":"U1","view":{"type":"home","blocks":[` + many + `]}}`, "101 blocks"},
		{"views.publish", `{"user_id":"U1","view":{"type":"home","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"` + strings.Repeat("x", 3001) + `"}}]}}`, "text of 3001 characters"},
		{"views.publish", `{"user_id":"U1","view":{"type":"home","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"x"},"accessory":{"type":"bogus"}}]}}`, `not allowed here`},
		{"views.open", `{"trigger_id":"T1","view_id":"V1","view":{"type":"modal","title":{"type":"plain_text","text":"T"},"blocks":[` + section + `]}}`, "exactly one of"},
	} {
		if got := call(tt.method, tt.body); !strings.Contains(got, `"ok":false`) || !strings.Contains(got, tt.why) {
			t.Errorf("%s %.60s…: %s, want a refusal saying %q", tt.method, tt.body, got, tt.why)
		}
	}
	if vs := fake.Views(); len(vs) != 1 || vs[0].JSON != home || vs[0].Type != "home" || len(vs[0].Blocks()) != 1 {
		t.Errorf("views accepted: %+v, want the one", vs)
	}
	if r := fake.Refused(); len(r) != 11 {
		t.Errorf("%d refusals recorded: %q", len(r), fmt.Sprint(r))
	}
}

// Every check the fake makes of a view refuses a view breaking it, and
// accepts the same view without the fault: the typed decoding reads each
// field the checks need.
func TestSlackViewChecks(t *testing.T) {
	fake := testserver.NewSlack(t, "xoxb-t")
	call := func(method, body string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, fake.URL()+method, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer xoxb-t")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	txt := func(typ, s string) string { return `{"type":"` + typ + `","text":"` + s + `"}` }
	btn := func(id, label string) string {
		return `{"type":"button","action_id":"` + id + `","text":` + txt("plain_text", label) + `}`
	}
	sec := `{"type":"section","text":` + txt("mrkdwn", "hi") + `}`
	input := func(el string) string {
		return `{"type":"input","label":` + txt("plain_text", "L") + `,"element":` + el + `}`
	}
	opts := func(n int, typ, value string) string {
		var o []string
		for i := range n {
			o = append(o, `{"text":`+txt(typ, fmt.Sprint("o", i))+`,"value":"`+value+fmt.Sprint(i)+`"}`)
		}
		return `[` + strings.Join(o, ",") + `]`
	}
	modal := func(head, blocks string) string {
		return `{"trigger_id":"T1","view":{"type":"modal",` + head + `"blocks":[` + blocks + `]}}`
	}
	title := `"title":` + txt("plain_text", "Title") + `,`
	long := strings.Repeat("x", 256)
	for _, tt := range []struct {
		name, good, bad, why string
	}{
		{"a block's type", sec, `{"type":"bogus"}`, "unknown type"},
		{"a repeated block_id", `{"type":"divider","block_id":"a"},{"type":"divider","block_id":"b"}`,
			`{"type":"divider","block_id":"a"},{"type":"divider","block_id":"a"}`, "repeated or too long"},
		{"a long block_id", `{"type":"divider","block_id":"a"}`, `{"type":"divider","block_id":"` + long + `"}`, "repeated or too long"},
		{"a section's text", sec, `{"type":"section"}`, "section without text"},
		{"a section's text type", sec, `{"type":"section","text":` + txt("markdown", "hi") + `}`, "markdown"},
		{"an empty text", sec, `{"type":"section","text":` + txt("mrkdwn", "") + `}`, "text of 0 characters"},
		{"a header's plain text", `{"type":"header","text":` + txt("plain_text", "H") + `}`, `{"type":"header","text":` + txt("mrkdwn", "H") + `}`, "header: text type"},
		{"a header's length", `{"type":"header","text":` + txt("plain_text", strings.Repeat("h", 150)) + `}`,
			`{"type":"header","text":` + txt("plain_text", strings.Repeat("h", 151)) + `}`, "text of 151 characters"},
		{"an accessory's type", `{"type":"section","text":` + txt("mrkdwn", "x") + `,"accessory":` + btn("a", "Go") + `}`,
			`{"type":"section","text":` + txt("mrkdwn", "x") + `,"accessory":{"type":"bogus"}}`, "not allowed here"},
		{"a button's text", `{"type":"actions","elements":[` + btn("a", "Go") + `]}`,
			`{"type":"actions","elements":[{"type":"button","action_id":"a"}]}`, "button: no text object"},
		{"a button's length", `{"type":"actions","elements":[` + btn("a", strings.Repeat("b", 150)) + `]}`,
			`{"type":"actions","elements":[` + btn("a", strings.Repeat("b", 151)) + `]}`, "button: text of 151"},
		{"a long action_id", `{"type":"actions","elements":[` + btn("a", "Go") + `]}`,
			`{"type":"actions","elements":[` + btn(long, "Go") + `]}`, "action_id too long"},
		{"a repeated action_id", `{"type":"actions","elements":[` + btn("a", "Go") + `,` + btn("b", "Go") + `]}`,
			`{"type":"actions","elements":[` + btn("a", "Go") + `,` + btn("a", "Go") + `]}`, "repeated"},
		{"no actions", `{"type":"actions","elements":[` + btn("a", "Go") + `]}`, `{"type":"actions","elements":[]}`, "0 elements"},
		{"26 actions", `{"type":"actions","elements":[` + btn("a", "Go") + `]}`,
			`{"type":"actions","elements":[` + strings.TrimSuffix(strings.Repeat(`{"type":"image"},`, 26), ",") + `]}`, "26 elements"},
		{"11 context elements", `{"type":"context","elements":[` + txt("mrkdwn", "c") + `]}`,
			`{"type":"context","elements":[` + strings.TrimSuffix(strings.Repeat(txt("mrkdwn", "c")+",", 11), ",") + `]}`, "11 context elements"},
		{"an input's element", input(`{"type":"plain_text_input","action_id":"a"}`), `{"type":"input","label":` + txt("plain_text", "L") + `}`, "input without an element"},
		{"an input's label", input(`{"type":"plain_text_input","action_id":"a"}`),
			`{"type":"input","label":` + txt("mrkdwn", "L") + `,"element":{"type":"plain_text_input"}}`, "label: text type"},
		{"a button as input", input(`{"type":"datepicker","action_id":"a"}`), input(btn("a", "Go")), "not allowed here"},
		{"max_length", input(`{"type":"plain_text_input","max_length":3000}`), input(`{"type":"plain_text_input","max_length":3001}`), "max_length 3001"},
		{"no options", input(`{"type":"static_select","options":` + opts(1, "plain_text", "v") + `}`), input(`{"type":"static_select","options":[]}`), "static_select with 0 options"},
		{"101 options", input(`{"type":"static_select","options":` + opts(100, "plain_text", "v") + `}`),
			input(`{"type":"static_select","options":` + opts(101, "plain_text", "v") + `}`), "static_select with 101 options"},
		{"a select option's plain text", input(`{"type":"checkboxes","options":` + opts(1, "mrkdwn", "v") + `}`),
			input(`{"type":"static_select","options":` + opts(1, "mrkdwn", "v") + `}`), "option: text type"},
		{"an option's value", input(`{"type":"radio_buttons","options":` + opts(1, "plain_text", "v") + `}`),
			input(`{"type":"radio_buttons","options":[{"text":` + txt("plain_text", "o") + `}]}`), "option value"},
		{"a long option value", input(`{"type":"radio_buttons","options":` + opts(1, "plain_text", "v") + `}`),
			input(`{"type":"radio_buttons","options":` + opts(1, "plain_text", strings.Repeat("v", 150)) + `}`), "option value"},
	} {
		for _, method := range []string{"views.publish", "views.open"} {
			body := func(blocks string) string {
				if method == "views.open" {
					return modal(title, blocks)
				}
				return `{"user_id":"U1","view":{"type":"home","blocks":[` + blocks + `]}}`
			}
			if got := call(method, body(tt.good)); !strings.Contains(got, `"ok":true`) {
				t.Errorf("%s, %s: a good view refused: %s", tt.name, method, got)
			}
			if got := call(method, body(tt.bad)); !strings.Contains(got, `"ok":false`) || !strings.Contains(got, tt.why) {
				t.Errorf("%s, %s: %s, want a refusal saying %q", tt.name, method, got, tt.why)
			}
		}
	}
	// A modal's title, submit and close, private_metadata and callback_id.
	for _, tt := range []struct{ name, good, bad, why string }{
		{"a title", title, "", "modal without a title"},
		{"a title's length", `"title":` + txt("plain_text", strings.Repeat("t", 24)) + `,`, `"title":` + txt("plain_text", strings.Repeat("t", 25)) + `,`, "title: text of 25"},
		{"a submit's type", title + `"submit":` + txt("plain_text", "Save") + `,`, title + `"submit":` + txt("mrkdwn", "Save") + `,`, "submit: text type"},
		{"a close's length", title + `"close":` + txt("plain_text", "Cancel") + `,`, title + `"close":` + txt("plain_text", strings.Repeat("c", 25)) + `,`, "close: text of 25"},
		{"private_metadata", title + `"private_metadata":"` + strings.Repeat("p", 3000) + `",`, title + `"private_metadata":"` + strings.Repeat("p", 3001) + `",`, "private_metadata of 3001"},
		{"callback_id", title + `"callback_id":"` + strings.Repeat("c", 255) + `",`, title + `"callback_id":"` + long + `",`, "callback_id of 256"},
	} {
		if got := call("views.open", modal(tt.good, sec)); !strings.Contains(got, `"ok":true`) {
			t.Errorf("%s: a good modal refused: %s", tt.name, got)
		}
		if got := call("views.open", modal(tt.bad, sec)); !strings.Contains(got, `"ok":false`) || !strings.Contains(got, tt.why) {
			t.Errorf("%s: %s, want a refusal saying %q", tt.name, got, tt.why)
		}
	}
	for _, tt := range []struct{ method, body, why string }{
		{"views.open", `{"trigger_id":"T1","view":{"type":"home","blocks":[` + sec + `]}}`, "needs a modal"},
		{"views.publish", `{"user_id":"U1","view":{"type":"modal","blocks":[` + sec + `]}}`, "a home view"},
		{"views.publish", `{"user_id":"U1","view":{"type":"home","blocks":[]}}`, "0 blocks"},
		{"views.publish", `{"user_id":"U1","view":null}`, "view: not an object"},
		{"views.open", `{"view":{"type":"modal",` + title + `"blocks":[` + sec + `]}}`, "exactly one of"},
	} {
		if got := call(tt.method, tt.body); !strings.Contains(got, `"ok":false`) || !strings.Contains(got, tt.why) {
			t.Errorf("%s %.60s…: %s, want a refusal saying %q", tt.method, tt.body, got, tt.why)
		}
	}
	// The view accepted last says its type, callback_id and metadata.
	if got := call("views.open", modal(title+`"callback_id":"form:x","private_metadata":"{\"case\":1}",`, sec)); !strings.Contains(got, `"ok":true`) {
		t.Fatal(got)
	}
	vs := fake.Views()
	if v := vs[len(vs)-1]; v.Type != "modal" || v.CallbackID != "form:x" || v.PrivateMetadata != `{"case":1}` || v.TriggerID != "T1" {
		t.Errorf("last view %+v", v)
	}
}
