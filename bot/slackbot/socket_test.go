package slackbot_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/bot/slackbot"
	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
)

// wsSlack speaks Slack's Socket Mode envelope protocol on a local
// WebSocket: hello on connect, pings, envelopes on demand, acks collected.
type wsSlack struct {
	tb    testing.TB
	srv   *httptest.Server
	conns chan int // connection number, on each new connection
	acks  chan map[string]any

	mu   sync.Mutex
	conn *websocket.Conn
	n    int
}

func newWSSlack(tb testing.TB) *wsSlack {
	s := &wsSlack{tb: tb, conns: make(chan int, 8), acks: make(chan map[string]any, 16)}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }} // the client sends Origin: https://api.slack.com
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conn = c
		s.n++
		n := s.n
		err = c.WriteJSON(map[string]any{"type": "hello", "num_connections": 1,
			"connection_info": map[string]any{"app_id": "A0001"}})
		s.mu.Unlock()
		if err != nil {
			return
		}
		stop := make(chan struct{})
		defer close(stop)
		go func() { // Slack pings; the client's watchdog expects it
			t := time.NewTicker(20 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					if c.WriteControl(websocket.PingMessage, []byte("p"), time.Now().Add(time.Second)) != nil {
						return
					}
				}
			}
		}()
		s.conns <- n
		for {
			var ack map[string]any
			if err := c.ReadJSON(&ack); err != nil {
				return
			}
			s.acks <- ack
		}
	}))
	tb.Cleanup(s.srv.Close)
	return s
}

func (s *wsSlack) url() string { return "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/link" }

func (s *wsSlack) send(typ, envelopeID string, payload any, retry int) {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.conn.WriteJSON(map[string]any{"type": typ, "envelope_id": envelopeID, "payload": payload,
		"accepts_response_payload": typ == "slash_commands", "retry_attempt": retry}); err != nil {
		s.tb.Fatalf("send envelope: %v", err)
	}
}

// drop cuts the connection without a close frame, as networks do.
func (s *wsSlack) drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.conn.UnderlyingConn().Close()
}

func wait[T any](tb testing.TB, ch <-chan T, what string) T {
	tb.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		tb.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

func TestSocketModeCommandsButtonsAndReconnect(t *testing.T) {
	e := newEnv(t, nil)
	ws := newWSSlack(t)
	fs := newFakeSlack(t)
	fs.set(func() { fs.wsURL = ws.url() })

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- e.handler.RunSocketMode(ctx, fs.client(slack.OptionAppLevelToken(slAppToken)),
			slackbot.SocketOptions{PingInterval: 2 * time.Second, MinBackoff: 10 * time.Millisecond})
	}()
	if n := wait(t, ws.conns, "first connection"); n != 1 {
		t.Fatalf("connection %d, want 1", n)
	}

	cmd := map[string]any{"team_id": slTeam, "user_id": "U1", "command": "/case", "text": "new Socket <!here> case",
		"trigger_id": "111.222.sock", "response_url": e.sink.srv.URL, "channel_id": "D1"}
	ws.send("slash_commands", "env-1", cmd, 0)
	ack := wait(t, ws.acks, "ack of env-1")
	raw, _ := json.Marshal(ack)
	if ack["envelope_id"] != "env-1" || !strings.Contains(string(raw), "MED-") || strings.Contains(string(raw), "<!here>") {
		t.Fatalf("ack = %s, want env-1 with the new case, escaped", raw)
	}
	id := caseIDIn(t, string(raw))

	// The connection drops; the client reconnects and serves on.
	ws.drop()
	if n := wait(t, ws.conns, "reconnection"); n != 2 {
		t.Fatalf("connection %d, want 2", n)
	}
	ws.send("interactive", "env-2", map[string]any{
		"type": "block_actions", "team": map[string]any{"id": slTeam}, "user": map[string]any{"id": "U1"},
		"response_url": e.sink.srv.URL, "trigger_id": "333.444.x",
		"actions": []map[string]any{{"type": "button", "action_id": casebot.ActionShowCase, "block_id": "b1", "value": id, "action_ts": "1"}},
	}, 0)
	if ack := wait(t, ws.acks, "ack of env-2"); ack["envelope_id"] != "env-2" {
		t.Errorf("ack = %v, want env-2", ack)
	}
	if got := msgText(e.sink.next(t)); !strings.Contains(got, "Socket &lt;!here&gt; case") {
		t.Errorf("show_case answer = %q", got)
	}

	// Slack redelivers the command: acknowledged, not run again.
	ws.send("slash_commands", "env-3", cmd, 1)
	if ack := wait(t, ws.acks, "ack of env-3"); ack["envelope_id"] != "env-3" {
		t.Errorf("ack = %v, want env-3", ack)
	}
	if n := e.caseCount(t); n != 1 {
		t.Errorf("cases = %d, want 1", n)
	}
	// The command and the press went through the runner, once each.
	if got, want := e.runs(), []string{"U1: new Socket <!here> case", "U1: show " + id}; !slices.Equal(got, want) {
		t.Errorf("runner ran %q, want %q", got, want)
	}

	cancel()
	if err := wait(t, done, "RunSocketMode to return"); err != nil {
		t.Errorf("RunSocketMode = %v", err)
	}
}
