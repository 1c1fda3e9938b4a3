package slackbot_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

// FuzzSlackPayload sends correctly signed but arbitrary bodies to both Slack
// endpoints: whatever arrives, the answer is a 2xx or a 4xx, never a 5xx or
// a panic, and a stranger's button press never changes a case.
func FuzzSlackPayload(f *testing.F) {
	for _, s := range []string{
		`{"type":"block_actions","user":{"id":"U1"},"team":{"id":"` + slTeam + `"},"response_url":"http://127.0.0.1:1/r","trigger_id":"1.2.3","actions":[{"action_id":"deadline_done","value":"MED-2026-0001/1"}]}`,
		`{"type":"block_actions","user":{"id":"U2"},"actions":[{"action_id":"show_case","value":"MED-2026-0001"}]}`,
		`{"type":"block_actions","actions":[{"action_id":"mail_accept","value":"17/MED-2026-0001"}]}`,
		`{"type":"view_submission"}`, `{}`, `null`, `[`, `{"actions":[{"action_id":"x"}]}`,
	} {
		f.Add(true, s)
	}
	f.Add(false, "text=list&user_id=U1&team_id="+slTeam+"&command=%2Fcase")
	f.Add(false, "text=%3C%21channel%3E&user_id=&team_id=")
	f.Add(false, "%zz=1&&=")
	e := newEnv(f, nil)
	f.Fuzz(func(t *testing.T, interaction bool, payload string) {
		path, body := "/slack/commands", payload
		if interaction {
			path, body = "/slack/interactions", url.Values{"payload": {payload}}.Encode()
		}
		before := e.caseCount(t)
		code, resp := e.post(t, path, slSign(slSecret, time.Now(), body), body)
		if code >= 500 || code < 200 {
			t.Fatalf("%s %q: status %d: %s", path, payload, code, resp)
		}
		if interaction && code == http.StatusOK && e.caseCount(t) != before {
			t.Fatalf("a button press created a case")
		}
	})
}
