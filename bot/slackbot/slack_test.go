package slackbot_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot/bot"
	"github.com/casebot/casebot/bot/slackbot"
	"github.com/slack-go/slack"
)

func TestCommandSignature(t *testing.T) {
	e := newEnv(t, nil)
	body := func() string { return e.form("U1", "new Rent dispute") }
	tests := []struct {
		name    string
		headers func(body string) http.Header
		want    int
	}{
		{"signed", func(b string) http.Header { return slSign(slSecret, time.Now(), b) }, http.StatusOK},
		{"unsigned", func(b string) http.Header {
			h := http.Header{}
			h.Set("Content-Type", "application/x-www-form-urlencoded")
			return h
		}, http.StatusUnauthorized},
		{"wrong secret", func(b string) http.Header { return slSign("not-the-secret", time.Now(), b) }, http.StatusUnauthorized},
		{"body changed after signing", func(b string) http.Header { return slSign(slSecret, time.Now(), b+"&x=1") }, http.StatusUnauthorized},
		{"stale", func(b string) http.Header { return slSign(slSecret, time.Now().Add(-6*time.Minute), b) }, http.StatusUnauthorized},
		{"from the future", func(b string) http.Header { return slSign(slSecret, time.Now().Add(6*time.Minute), b) }, http.StatusUnauthorized},
		{"malformed signature", func(b string) http.Header {
			h := slSign(slSecret, time.Now(), b)
			h.Set("X-Slack-Signature", "v0=zz")
			return h
		}, http.StatusUnauthorized},
	}
	wantCases := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := body()
			code, resp := e.post(t, "/slack/commands", tt.headers(b), b)
			if code != tt.want {
				t.Fatalf("status %d, want %d (%s)", code, tt.want, resp)
			}
			if code == http.StatusOK {
				wantCases++
				if !strings.Contains(resp, "MED-") {
					t.Errorf("reply %s does not name the new case", resp)
				}
			}
			if got := e.caseCount(t); got != wantCases {
				t.Errorf("cases = %d, want %d", got, wantCases)
			}
		})
	}
}

func TestCommandRetryAndReplayRunOnce(t *testing.T) {
	e := newEnv(t, nil)
	body := e.form("U1", "new Boundary fence")
	first := e.command(t, "U1", "help") // unrelated command, warms nothing
	_ = first

	code, resp1 := e.post(t, "/slack/commands", slSign(slSecret, time.Now(), body), body)
	if code != http.StatusOK {
		t.Fatalf("first delivery: %d %s", code, resp1)
	}
	// Slack's retry: signed again, same body, X-Slack-Retry-Num.
	h := slSign(slSecret, time.Now(), body)
	h.Set("X-Slack-Retry-Num", "1")
	h.Set("X-Slack-Retry-Reason", "http_timeout")
	code, resp2 := e.post(t, "/slack/commands", h, body)
	if code != http.StatusOK {
		t.Fatalf("retry: %d %s", code, resp2)
	}
	// A replay of the identical signed request (same timestamp too).
	replay := slSign(slSecret, time.Now(), body)
	for range 2 {
		if code, resp := e.post(t, "/slack/commands", replay, body); code != http.StatusOK {
			t.Fatalf("replay: %d %s", code, resp)
		}
	}
	if got := e.caseCount(t); got != 1 {
		t.Fatalf("cases after retry and replays = %d, want 1", got)
	}
	if resp1 != resp2 {
		t.Errorf("retry answered %s, want the first answer %s", resp2, resp1)
	}
	// A new request (new trigger_id) with the same text is a new command.
	e.command(t, "U1", "new Boundary fence")
	if got := e.caseCount(t); got != 2 {
		t.Errorf("cases after a second, distinct request = %d, want 2", got)
	}
	// Each run went through the runner, the retry and replays not at all.
	if got, want := e.runs(), []string{"U1: help", "U1: new Boundary fence", "U1: new Boundary fence"}; !slices.Equal(got, want) {
		t.Errorf("runner ran %q, want %q", got, want)
	}
}

// blockingCommand registers "wait", which signals started and blocks until
// release is closed.
func blockingCommand(t *testing.T, b *bot.Bot, slow bool) (started chan struct{}, release chan struct{}) {
	started, release = make(chan struct{}, 4), make(chan struct{})
	err := b.Register(bot.Command{Usage: "wait", Summary: "test: blocks", Slow: slow,
		Handle: func(ctx context.Context, r *bot.Request) bot.Reply {
			started <- struct{}{}
			select {
			case <-release:
			case <-ctx.Done():
			}
			return bot.Reply{Text: "waited <!channel>"}
		}})
	if err != nil {
		t.Fatal(err)
	}
	return started, release
}

func TestSlowCommandAcksThenAnswersAtResponseURL(t *testing.T) {
	for _, tt := range []struct {
		name string
		slow bool
	}{{"declared slow", true}, {"runs past AckAfter", false}} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(c *slackbot.Config) { c.AckAfter = 50 * time.Millisecond })
			started, release := blockingCommand(t, e.bot, tt.slow)
			began := time.Now()
			ack := e.command(t, "U1", "wait")
			select {
			case <-started: // a declared-slow command may start just after the ack
			case <-time.After(10 * time.Second):
				close(release)
				t.Fatal("command never started")
			}
			if took := time.Since(began); took > 3*time.Second {
				t.Errorf("ack took %v, want < 3s", took)
			}
			if !strings.Contains(ack.Text, "Working") || ack.ResponseType != slack.ResponseTypeEphemeral {
				t.Errorf("ack = %+v, want an ephemeral 'Working on it'", ack)
			}
			select {
			case m := <-e.sink.got:
				t.Fatalf("answer posted before the work finished: %+v", m)
			default:
			}
			close(release)
			m := e.sink.next(t)
			if got := msgText(m); !strings.Contains(got, "waited &lt;!channel&gt;") {
				t.Errorf("answer = %q, want escaped 'waited <!channel>'", got)
			}
			if m.ResponseType != slack.ResponseTypeEphemeral {
				t.Errorf("answer response_type = %q, want ephemeral", m.ResponseType)
			}
		})
	}
}

func TestRepliesEscapeUserText(t *testing.T) {
	e := newEnv(t, nil)
	m := e.command(t, "U1", "new <!channel> flood <@U999> & <!here>")
	raw, _ := json.Marshal(m)
	for _, bad := range []string{"<!channel>", "<!here>", "<@U999>"} {
		if strings.Contains(string(raw), bad) || strings.Contains(string(raw), strings.ReplaceAll(bad, "<", `\u003c`)) {
			t.Errorf("reply %s contains %q unescaped", raw, bad)
		}
	}
	list := e.command(t, "U1", "list")
	if got := msgText(list); !strings.Contains(got, "&lt;!channel&gt; flood &lt;@U999&gt; &amp; &lt;!here&gt;") {
		t.Errorf("list = %q, want the escaped title", got)
	}
	if list.ResponseType != slack.ResponseTypeEphemeral {
		t.Errorf("list response_type = %q, want ephemeral", list.ResponseType)
	}
}

func TestBadRequestsChangeNothing(t *testing.T) {
	e := newEnv(t, func(c *slackbot.Config) { c.MaxBody = 4096 })
	good := e.form("U1", "new Valid")
	tests := []struct {
		name string
		path string
		body string
		want int
	}{
		{"malformed form", "/slack/commands", "text=%zz&user_id=U1", http.StatusBadRequest},
		{"empty user", "/slack/commands", strings.Replace(good, "user_id=U1", "user_id=", 1), http.StatusBadRequest},
		{"unknown team", "/slack/commands", strings.Replace(good, "team_id="+slTeam, "team_id=TOTHER", 1), http.StatusForbidden},
		{"too big", "/slack/commands", good + "&pad=" + strings.Repeat("a", 5000), http.StatusRequestEntityTooLarge},
		{"payload not JSON", "/slack/interactions", "payload=" + url.QueryEscape("{not json"), http.StatusBadRequest},
		{"no payload", "/slack/interactions", "x=1", http.StatusBadRequest},
		{"unknown action", "/slack/interactions", "payload=" + url.QueryEscape(interactionJSON("U1", "launch_missiles", "MED-2026-0001", e.sink.srv.URL)), http.StatusBadRequest},
		{"bad button value", "/slack/interactions", "payload=" + url.QueryEscape(interactionJSON("U1", "deadline_done", "MED-2026-0001/1 ; help", e.sink.srv.URL)), http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, resp := e.post(t, tt.path, slSign(slSecret, time.Now(), tt.body), tt.body)
			if code != tt.want {
				t.Errorf("status %d, want %d (%s)", code, tt.want, resp)
			}
		})
	}
	if n := e.caseCount(t); n != 0 {
		t.Errorf("cases = %d, want 0", n)
	}
}

func interactionJSON(user, action, value, responseURL string) string {
	cb := map[string]any{
		"type":         "block_actions",
		"team":         map[string]any{"id": slTeam},
		"user":         map[string]any{"id": user},
		"trigger_id":   "9.9.x",
		"response_url": responseURL,
		"actions": []map[string]any{{
			"type": "button", "action_id": action, "block_id": "b1", "value": value, "action_ts": "1.2",
		}},
	}
	b, _ := json.Marshal(cb)
	return string(b)
}

func TestInteractionButtons(t *testing.T) {
	e := newEnv(t, nil)
	created := msgText(e.command(t, "U1", "new Lease"))
	id := caseIDIn(t, created)
	e.command(t, "U1", "deadline "+id+" +3d Mediation statement")

	press := func(user, action, value string) slack.WebhookMessage {
		t.Helper()
		body := "payload=" + url.QueryEscape(interactionJSON(user, action, value, e.sink.srv.URL))
		code, resp := e.post(t, "/slack/interactions", slSign(slSecret, time.Now(), body), body)
		if code != http.StatusOK {
			t.Fatalf("press %s: %d %s", action, code, resp)
		}
		return e.sink.next(t)
	}
	// A stranger is refused, and learns nothing.
	m := press("U2", "deadline_done", id+"/1")
	if got := msgText(m); !strings.Contains(got, "no case") {
		t.Errorf("stranger's press answered %q, want a refusal", got)
	}
	c, err := e.db.Case(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if c.Deadlines[0].Met {
		t.Fatal("stranger's press met the deadline")
	}
	// The mediator marks it met.
	press("U1", "deadline_done", id+"/1")
	if c, _ = e.db.Case(context.Background(), id); !c.Deadlines[0].Met {
		t.Error("mediator's press did not meet the deadline")
	}
	// Show case, by the mediator and by an admin.
	for _, u := range []string{"U1", "UADMIN"} {
		if got := msgText(press(u, "show_case", id)); !strings.Contains(got, "Lease") {
			t.Errorf("show_case for %s = %q, want the case", u, got)
		}
	}
	// Presses run their commands through the runner like typed commands.
	want := []string{"U1: new Lease", "U1: deadline " + id + " +3d Mediation statement",
		"U2: done " + id + " 1", "U1: done " + id + " 1", "U1: show " + id, "UADMIN: show " + id}
	if got := e.runs(); !slices.Equal(got, want) {
		t.Errorf("runner ran %q, want %q", got, want)
	}
}

func caseIDIn(t *testing.T, s string) string {
	t.Helper()
	i := strings.Index(s, "MED-")
	if i < 0 {
		t.Fatalf("no case ID in %q", s)
	}
	j := i
	for j < len(s) && (s[j] == '-' || s[j] >= '0' && s[j] <= '9' || s[j] >= 'A' && s[j] <= 'Z') {
		j++
	}
	return s[i:j]
}
