package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot/internal/testserver"
)

// pressButton posts a correctly signed block_actions payload for user
// pressing actionID with value, answering at responseURL; it returns the
// HTTP status.
func pressButton(t *testing.T, base, secret, user, actionID, value, responseURL string) int {
	t.Helper()
	payload, err := json.Marshal(map[string]any{
		"type": "block_actions", "user": map[string]string{"id": user}, "team": map[string]string{"id": testserver.Team},
		"response_url": responseURL, "trigger_id": fmt.Sprintf("%d.1.x", time.Now().UnixNano()),
		"actions": []map[string]string{{"action_id": actionID, "block_id": "b1", "value": value, "type": "button"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	body := url.Values{"payload": {string(payload)}}.Encode()
	req, err := http.NewRequest(http.MethodPost, base+"/slack/interactions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = testserver.SignSlack(secret, time.Now(), body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// The quarantine's Accept and Reject buttons, pressed in Slack: a stranger's
// press is refused and changes nothing; the admin's files the mail as a
// note of the case it named; a second mail is rejected by the mediator.
func TestQuarantineButtonsOverSlack(t *testing.T) {
	rd, slackAPI, imapSrv, id := startSlackMailDaemon(t, `admins = ["UADMIN"]`)
	ctx := context.Background()
	for i, from := range []string{"eve@example.com", "mallory@example.com"} {
		raw := fmt.Sprintf("From: %s\r\nTo: cases@practice.example\r\nSubject: [%s] hello\r\nMessage-ID: <q%d@example.com>\r\n\r\nLet me in.\r\n", from, id, i)
		if err := imapSrv.Append(raw); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "two mails in quarantine", func() bool { q, _ := rd.d.DB.Quarantine(ctx, false); return len(q) == 2 })

	// The quarantine list offers the buttons.
	rep := rd.d.Command(ctx, "UADMIN", "quarantine")
	var actions []string
	for _, b := range rep.Buttons {
		actions = append(actions, b.ActionID+"="+b.Value)
	}
	if got := strings.Join(actions, " "); !strings.Contains(got, "mail_accept=1/"+id) || !strings.Contains(got, "mail_reject=2") {
		t.Fatalf("quarantine buttons %q", got)
	}

	notes := func() int { ns, _ := rd.d.DB.Notes(ctx, id); return len(ns) }
	state := func(n uint64) string {
		q, err := rd.d.DB.QuarantineItem(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		return q.State
	}
	before := state(1)

	respURL, got, done := slackAPI.Expect("stranger")
	if code := pressButton(t, rd.base, "s3cret", "U9", "mail_accept", "1/"+id, respURL); code != http.StatusOK {
		t.Fatalf("stranger's press: status %d", code)
	}
	select {
	case b := <-got:
		if !strings.Contains(string(b), "You have no case") {
			t.Fatalf("stranger's press answered %s", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no answer to the stranger's press")
	}
	done()
	if n := notes(); n != 0 || state(1) != before {
		t.Fatalf("a stranger's press changed things: %d notes, state %q", n, state(1))
	}

	respURL, got, done = slackAPI.Expect("admin")
	if code := pressButton(t, rd.base, "s3cret", "UADMIN", "mail_accept", "1/"+id, respURL); code != http.StatusOK {
		t.Fatalf("admin's press: status %d", code)
	}
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("no answer to the admin's press")
	}
	done()
	if n := notes(); n != 1 {
		t.Fatalf("%d notes after the admin accepted, want 1", n)
	}

	respURL, got, done = slackAPI.Expect("mediator")
	if code := pressButton(t, rd.base, "s3cret", "U1", "mail_reject", "2", respURL); code != http.StatusOK {
		t.Fatalf("mediator's press: status %d", code)
	}
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("no answer to the mediator's press")
	}
	done()
	if s := state(2); s == before {
		t.Fatalf("mail #2 still %q after the mediator rejected it", s)
	}
	if n := notes(); n != 1 {
		t.Fatalf("%d notes after a reject, want still 1", n)
	}
}
