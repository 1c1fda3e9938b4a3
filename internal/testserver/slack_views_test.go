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
	if v.UserID != "U1" || v.JSON != home || v.View["type"] != "home" || len(v.Blocks()) != 1 ||
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
	if vs := fake.Views(); len(vs) != 1 || vs[0].JSON != home || vs[0].View["type"] != "home" || len(vs[0].Blocks()) != 1 {
		t.Errorf("views accepted: %+v, want the one", vs)
	}
	if r := fake.Refused(); len(r) != 11 {
		t.Errorf("%d refusals recorded: %q", len(r), fmt.Sprint(r))
	}
}
