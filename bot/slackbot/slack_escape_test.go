package slackbot_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/bot/slackbot"
)

// Slack sends what the user typed with &, < and > escaped; the case must hold
// the text as typed, and the echo must be escaped exactly once.
func TestSlackTextIsStoredAsTyped(t *testing.T) {
	e := newEnv(t, nil)
	m := e.command(t, "U1", "new Smith &amp; Jones &lt;b&gt; &amp;lt;")
	if got := msgText(m); !strings.Contains(got, "Smith &amp; Jones &lt;b&gt; &amp;lt;") {
		t.Errorf("reply = %q, want the title escaped once", got)
	}
	cs, err := e.db.Cases(context.Background(), casebot.CaseFilter{State: "all"})
	if err != nil || len(cs) != 1 {
		t.Fatalf("cases = %v, %v", cs, err)
	}
	if want := "Smith & Jones <b> &lt;"; cs[0].Title != want {
		t.Errorf("stored title = %q, want %q", cs[0].Title, want)
	}
}

// Only the configured slash command is served.
func TestSlackOtherCommandRefused(t *testing.T) {
	e := newEnv(t, func(c *slackbot.Config) { c.Command = "/case" })
	body := strings.Replace(e.form("U1", "new Other app"), "command=%2Fcase", "command=%2Fother", 1)
	if code, resp := e.post(t, "/slack/commands", slSign(slSecret, time.Now(), body), body); code != http.StatusBadRequest {
		t.Fatalf("/other: status %d %s, want 400", code, resp)
	}
	if n := e.caseCount(t); n != 0 {
		t.Fatalf("%d cases after a refused command", n)
	}
	e.command(t, "U1", "new Right app")
	if n := e.caseCount(t); n != 1 {
		t.Fatalf("%d cases after /case new, want 1", n)
	}
}
