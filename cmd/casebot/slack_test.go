package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot/internal/testserver"
)

// signedCommand posts a slash command from workspace T1 as Slack would.
func signedCommand(t *testing.T, base, secret, user, text string) (int, string) {
	t.Helper()
	return signedForm(t, base, secret, testserver.SlashForm(user, text, strconv.FormatInt(time.Now().UnixNano(), 10), "http://127.0.0.1:1/unused"))
}

// signedForm posts a correctly signed slash command form.
func signedForm(t *testing.T, base, secret string, form url.Values) (int, string) {
	t.Helper()
	body := form.Encode()
	req, err := http.NewRequest(http.MethodPost, base+"/slack/commands", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = testserver.SignSlack(secret, time.Now(), body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The whole daemon with Slack on: a signed command runs, an unsigned one is
// refused, and the notice the command queues reaches the mediator as a DM.
func TestServeWithSlack(t *testing.T) {
	slackAPI := testserver.NewSlack(t, "xoxb-test", testserver.UserTZ("Europe/London"))
	cfgPath, _ := testConfig(t, fmt.Sprintf("[slack]\nsigning_secret = \"s3cret\"\nbot_token = \"xoxb-test\"\napi_url = %q\nadmins = [\"UADMIN\"]\n", slackAPI.URL()))
	rd := startDaemon(t, cfgPath)

	code, body := signedCommand(t, rd.base, "s3cret", "UADMIN", "new Boundary wall")
	if code != http.StatusOK || !strings.Contains(body, "MED-") {
		t.Fatalf("signed new = %d %s", code, body)
	}
	var msg struct {
		ResponseType string `json:"response_type"`
		Text         string `json:"text"`
	}
	if err := json.Unmarshal([]byte(body), &msg); err != nil || msg.ResponseType != "ephemeral" {
		t.Fatalf("reply %s: %v, want ephemeral JSON", body, err)
	}
	id := caseIDRe.FindString(body)

	if code, _ := signedCommand(t, rd.base, "wrong", "UADMIN", "new Forged"); code != http.StatusUnauthorized {
		t.Fatalf("wrongly signed command = %d, want 401", code)
	}
	// The workspace comes from auth.test; another one, or another slash
	// command, is refused.
	if code, _ := signedForm(t, rd.base, "s3cret", url.Values{"command": {"/case"}, "text": {"list"}, "user_id": {"UADMIN"}, "team_id": {"T2"}}); code != http.StatusForbidden {
		t.Fatalf("command from another workspace = %d, want 403", code)
	}
	if code, _ := signedForm(t, rd.base, "s3cret", url.Values{"command": {"/other"}, "text": {"list"}, "user_id": {"UADMIN"}, "team_id": {"T1"}}); code != http.StatusBadRequest {
		t.Fatalf("another slash command = %d, want 400", code)
	}

	if code, body := signedCommand(t, rd.base, "s3cret", "UADMIN", "assign "+id+" <@UMED|mediator>"); code != http.StatusOK {
		t.Fatalf("assign = %d %s", code, body)
	}
	select {
	case post := <-slackAPI.Posted():
		if post.Channel != "D-UMED" || !strings.Contains(post.Text+post.Blocks, id) {
			t.Fatalf("notice = %v, want a DM to UMED naming %s", post.Form, id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no DM reached Slack after assign")
	}
	waitFor(t, "outbox empty", func() bool {
		n, err := rd.d.DB.OutboxDepth(t.Context())
		return err == nil && n == 0
	})

	// Slack runs commands through d.Command, so they are counted like any
	// other; the refused requests above never ran.
	_, metrics := get(rd.base + "/metrics")
	for _, want := range []string{
		`casebot_commands_total{command="new",outcome="ok"} 1`,
		`casebot_commands_total{command="assign",outcome="ok"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if regexp.MustCompile(`casebot_commands_total\{command="list",outcome="[a-z]+"\} [1-9]`).MatchString(metrics) {
		t.Error("/metrics counts a refused request's list command")
	}
}
