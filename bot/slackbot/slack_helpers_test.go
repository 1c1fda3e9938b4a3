package slackbot_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/bot"
	"github.com/casebot/casebot/bot/slackbot"
	"github.com/casebot/casebot/store"
	"github.com/slack-go/slack"
)

const (
	slSecret   = "8f742231b10e8888abcd99yyyzzz85a5"
	slBotToken = "xoxb-test"
	slAppToken = "xapp-test"
	slTeam     = "T0001"
)

type slTBWriter struct{ tb testing.TB }

func (w slTBWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func slLogger(tb testing.TB) *slog.Logger {
	switch tb.(type) {
	case *testing.B, *testing.F: // a fuzz target may not log through f
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(slTBWriter{tb}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func slOpenStore(tb testing.TB, path string, now func() time.Time) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), path, store.Options{Now: now, Logger: slLogger(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// slSign returns the headers of a request signed at ts.
func slSign(secret string, ts time.Time, body string) http.Header {
	h := http.Header{}
	stamp := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:%s", stamp, body)
	h.Set("X-Slack-Request-Timestamp", stamp)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	return h
}

// slSink is a response_url served by httptest: every post arrives on got.
type slSink struct {
	srv *httptest.Server
	got chan slack.WebhookMessage
}

func newSink(tb testing.TB) *slSink {
	s := &slSink{got: make(chan slack.WebhookMessage, 64)}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m slack.WebhookMessage
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			tb.Errorf("response_url: bad JSON: %v", err)
			http.Error(w, "bad", 400)
			return
		}
		s.got <- m
		_, _ = io.WriteString(w, "ok")
	}))
	tb.Cleanup(s.srv.Close)
	return s
}

// next waits for the next post.
func (s *slSink) next(tb testing.TB) slack.WebhookMessage {
	tb.Helper()
	select {
	case m := <-s.got:
		return m
	case <-time.After(10 * time.Second):
		tb.Fatal("no post to response_url within 10s")
		return slack.WebhookMessage{}
	}
}

// slEnv is a store, a bot and the Slack endpoints on 127.0.0.1:0.
type slEnv struct {
	db      *store.DB
	bot     *bot.Bot
	handler *slackbot.Handler
	srv     *httptest.Server
	sink    *slSink
	trigger int
	ran     []string // "user: text" of every command run, in order
	mu      sync.Mutex
}

func newEnv(tb testing.TB, mod func(*slackbot.Config)) *slEnv {
	tb.Helper()
	e := &slEnv{}
	e.db = slOpenStore(tb, filepath.Join(tb.TempDir(), "casebot.db"), nil)
	e.bot = bot.New(bot.Config{Store: e.db, Admins: []string{"UADMIN"}, Logger: slLogger(tb)})
	cfg := slackbot.Config{Run: e.run, Language: e.bot, SigningSecret: slSecret, TeamID: slTeam, Logger: slLogger(tb)}
	if mod != nil {
		mod(&cfg)
	}
	e.handler = slackbot.NewHandler(cfg)
	mux := http.NewServeMux()
	mux.Handle("POST /slack/commands", e.handler.Commands())
	mux.Handle("POST /slack/interactions", e.handler.Interactions())
	e.srv = httptest.NewServer(mux)
	e.sink = newSink(tb)
	tb.Cleanup(func() {
		e.srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.handler.Shutdown(ctx); err != nil {
			tb.Errorf("shutdown: %v", err)
		}
	})
	return e
}

// run is the handler's runner: the bot's Run, recording what it ran.
func (e *slEnv) run(ctx context.Context, user, text string) bot.Reply {
	e.mu.Lock()
	e.ran = append(e.ran, user+": "+text)
	e.mu.Unlock()
	return e.bot.Run(ctx, user, text)
}

// runs returns what the runner ran so far.
func (e *slEnv) runs() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.ran)
}

// form returns a slash command body from user with a fresh trigger_id.
func (e *slEnv) form(user, text string) string {
	e.mu.Lock()
	e.trigger++
	n := e.trigger
	e.mu.Unlock()
	v := url.Values{
		"token": {"unused"}, "team_id": {slTeam}, "team_domain": {"practice"},
		"channel_id": {"D0001"}, "user_id": {user}, "user_name": {"someone"},
		"command": {"/case"}, "text": {text}, "response_url": {e.sink.srv.URL + "/resp"},
		"trigger_id": {fmt.Sprintf("%d.%d.abcdef", n, time.Now().UnixNano())}, "api_app_id": {"A0001"},
	}
	return v.Encode()
}

// post sends body to path with headers and returns status and body.
func (e *slEnv) post(tb testing.TB, path string, h http.Header, body string) (int, string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// command sends a correctly signed command and decodes the response.
func (e *slEnv) command(tb testing.TB, user, text string) slack.WebhookMessage {
	tb.Helper()
	body := e.form(user, text)
	code, resp := e.post(tb, "/slack/commands", slSign(slSecret, time.Now(), body), body)
	if code != http.StatusOK {
		tb.Fatalf("%q: status %d: %s", text, code, resp)
	}
	var m slack.WebhookMessage
	if err := json.Unmarshal([]byte(resp), &m); err != nil {
		tb.Fatalf("%q: response not JSON: %v: %s", text, err, resp)
	}
	return m
}

func (e *slEnv) caseCount(tb testing.TB) int {
	tb.Helper()
	cs, err := e.db.Cases(context.Background(), casebot.CaseFilter{State: "all"})
	if err != nil {
		tb.Fatal(err)
	}
	return len(cs)
}

// msgText joins the text of every section block of m.
func msgText(m slack.WebhookMessage) string {
	var b strings.Builder
	if m.Blocks != nil {
		for _, bl := range m.Blocks.BlockSet {
			if s, ok := bl.(*slack.SectionBlock); ok && s.Text != nil {
				b.WriteString(s.Text.Text)
				b.WriteString("\n")
			}
		}
	}
	if b.Len() == 0 {
		return m.Text
	}
	return b.String()
}

// fakeSlack is the Web API on httptest: it checks the bot token, opens DMs,
// records chat.postMessage payloads, answers users.info and
// apps.connections.open, and can be told to fail.
type fakeSlack struct {
	tb     testing.TB
	srv    *httptest.Server
	mu     sync.Mutex
	posts  []fakePost
	posted chan fakePost
	// rateLimitOnce makes the next chat.postMessage a 429 with Retry-After: 1.
	rateLimitOnce bool
	// down makes every call a 503.
	down bool
	// postErr makes chat.postMessage answer ok:false with this error.
	postErr string
	users   map[string]slack.User
	wsURL   string // returned by apps.connections.open
}

type fakePost struct {
	Channel string
	Text    string
	Blocks  []map[string]any
	Key     string // the outbox key in the message metadata
}

func newFakeSlack(tb testing.TB) *fakeSlack {
	f := &fakeSlack{tb: tb, posted: make(chan fakePost, 100), users: map[string]slack.User{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	tb.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSlack) client(opts ...slack.Option) *slack.Client {
	return slack.New(slBotToken, append([]slack.Option{slack.OptionAPIURL(f.srv.URL + "/api/")}, opts...)...)
}

func (f *fakeSlack) set(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

func (f *fakeSlack) serve(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	want := slBotToken
	if method == "apps.connections.open" {
		want = slAppToken
	}
	// slack-go sends the token as a bearer header or a form field.
	got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if got == "" {
		_ = r.ParseForm()
		got = r.PostForm.Get("token")
	}
	if got != want {
		f.tb.Errorf("%s: token %q, want %q", method, got, want)
		writeJSONAny(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	f.mu.Lock()
	down, rl := f.down, f.rateLimitOnce && method == "chat.postMessage"
	if rl {
		f.rateLimitOnce = false
	}
	postErr := f.postErr
	f.mu.Unlock()
	if down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	if rl {
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	switch method {
	case "conversations.open":
		_ = r.ParseForm()
		users := r.PostForm.Get("users")
		if users == "" || strings.Contains(users, ",") {
			f.tb.Errorf("conversations.open: users=%q, want one user", users)
		}
		writeJSONAny(w, map[string]any{"ok": true, "channel": map[string]any{"id": "D-" + users}})
	case "chat.postMessage":
		p := f.decodePost(r)
		if postErr != "" {
			writeJSONAny(w, map[string]any{"ok": false, "error": postErr})
			return
		}
		f.mu.Lock()
		f.posts = append(f.posts, p)
		f.mu.Unlock()
		f.posted <- p
		writeJSONAny(w, map[string]any{"ok": true, "channel": p.Channel, "ts": "1.0"})
	case "conversations.history":
		_ = r.ParseForm()
		var msgs []map[string]any
		for _, p := range f.postsTo(r.PostForm.Get("channel")) {
			m := map[string]any{"type": "message", "text": p.Text}
			if p.Key != "" && r.PostForm.Get("include_all_metadata") == "1" {
				m["metadata"] = map[string]any{"event_type": slackbot.OutboxEventType, "event_payload": map[string]any{"key": p.Key}}
			}
			msgs = append([]map[string]any{m}, msgs...) // newest first
		}
		writeJSONAny(w, map[string]any{"ok": true, "messages": msgs})
	case "users.info":
		_ = r.ParseForm()
		f.mu.Lock()
		u, ok := f.users[r.PostForm.Get("user")]
		f.mu.Unlock()
		if !ok {
			writeJSONAny(w, map[string]any{"ok": false, "error": "user_not_found"})
			return
		}
		writeJSONAny(w, map[string]any{"ok": true, "user": u})
	case "apps.connections.open":
		f.mu.Lock()
		u := f.wsURL
		f.mu.Unlock()
		writeJSONAny(w, map[string]any{"ok": true, "url": u})
	default:
		f.tb.Errorf("fake slack: unexpected method %s", method)
		writeJSONAny(w, map[string]any{"ok": false, "error": "unknown_method"})
	}
}

// decodePost reads a chat.postMessage form and checks its shape.
func (f *fakeSlack) decodePost(r *http.Request) fakePost {
	if err := r.ParseForm(); err != nil {
		f.tb.Errorf("chat.postMessage: %v", err)
	}
	p := fakePost{Channel: r.PostForm.Get("channel"), Text: r.PostForm.Get("text")}
	var md slack.SlackMetadata
	if err := json.Unmarshal([]byte(r.PostForm.Get("metadata")), &md); err != nil || md.EventType != slackbot.OutboxEventType {
		f.tb.Errorf("chat.postMessage metadata %q: %v, want event type %s", r.PostForm.Get("metadata"), err, slackbot.OutboxEventType)
	}
	p.Key, _ = md.EventPayload["key"].(string)
	if !strings.HasPrefix(p.Channel, "D-") {
		f.tb.Errorf("chat.postMessage to %q, want a DM channel from conversations.open", p.Channel)
	}
	if p.Text == "" {
		f.tb.Errorf("chat.postMessage without fallback text")
	}
	if err := json.Unmarshal([]byte(r.PostForm.Get("blocks")), &p.Blocks); err != nil || len(p.Blocks) == 0 || len(p.Blocks) > 50 {
		f.tb.Errorf("chat.postMessage blocks: %d blocks, err %v", len(p.Blocks), err)
	}
	return p
}

func (f *fakeSlack) postsTo(channel string) []fakePost {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakePost
	for _, p := range f.posts {
		if p.Channel == channel {
			out = append(out, p)
		}
	}
	return out
}

func writeJSONAny(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
