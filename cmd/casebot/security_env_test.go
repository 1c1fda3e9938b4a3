package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/casebot/casebot/config"
)

// Secrets of the security tests: distinctive, so a leak is found by grep.
// The bot token and SMTP password come from the environment, the others
// from the config file, so both paths are covered.
const (
	secSigning  = "sigsecret-7f3a9c11d2e4"
	secBotToken = "xoxb-bottoken-51e0d2aa93"
	secIMAPPass = "imappass-90ab77c1e5"
	secSMTPPass = "smtppass-44cd0b8e2f"
	secAdmin    = "UADMIN"
	secMed      = "UMED"
	secOther    = "UOTHER"
	secStranger = "USTRANGER"
)

// secEnvVars are the environment values the daemon's config reads.
var secEnvVars = map[string]string{
	config.EnvSlackBotToken: secBotToken,
	config.EnvSMTPPassword:  secSMTPPass,
}

// secSlack is an httptest Slack: the Web API (checking the bot token) and
// the response_url endpoint, recording every message body it is given.
type secSlack struct {
	srv   *httptest.Server
	mu    sync.Mutex
	posts []url.Values        // chat.postMessage forms
	resp  map[string][][]byte // response_url posts by key
	badTk atomic.Int64        // calls with a wrong token
	calls map[string]int      // Web API calls by method
}

func newSecSlack(t *testing.T) *secSlack {
	s := &secSlack{resp: map[string][][]byte{}, calls: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *secSlack) serve(w http.ResponseWriter, r *http.Request) {
	if key, ok := strings.CutPrefix(r.URL.Path, "/resp/"); ok {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.resp[key] = append(s.resp[key], b)
		s.mu.Unlock()
		_, _ = io.WriteString(w, "ok")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// slack-go sends the token as a form field on POSTs, as a bearer header on GETs.
	if r.Form.Get("token") != secBotToken && r.Header.Get("Authorization") != "Bearer "+secBotToken {
		s.badTk.Add(1)
		fmt.Fprint(w, `{"ok":false,"error":"invalid_auth"}`)
		return
	}
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	s.mu.Lock()
	s.calls[method]++
	s.mu.Unlock()
	switch method {
	case "conversations.open":
		fmt.Fprintf(w, `{"ok":true,"channel":{"id":"D-%s"}}`, r.Form.Get("users"))
	case "chat.postMessage":
		s.mu.Lock()
		s.posts = append(s.posts, r.Form)
		s.mu.Unlock()
		fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":"1.%d"}`, r.Form.Get("channel"), time.Now().UnixNano())
	case "users.info":
		fmt.Fprintf(w, `{"ok":true,"user":{"id":%q,"name":"m","tz":"UTC","profile":{"display_name":"Mediator"}}}`, r.Form.Get("user"))
	default:
		fmt.Fprint(w, `{"ok":false,"error":"unknown_method"}`)
	}
}

// postedMessages returns every chat.postMessage form so far.
func (s *secSlack) postedMessages() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]url.Values(nil), s.posts...)
}

// responses returns the bodies posted to response_url key.
func (s *secSlack) responses(key string) [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.resp[key]...)
}

// allResponses returns every body posted to any response_url.
func (s *secSlack) allResponses() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out [][]byte
	for _, bs := range s.resp {
		out = append(out, bs...)
	}
	return out
}

// secSMTPServer is a go-smtp server that requires AUTH PLAIN with the test
// password and records envelope and data of every message.
type secSMTPServer struct {
	addr string
	mu   sync.Mutex
	got  []smtpMsg
}

type smtpMsg struct {
	from string
	rcpt []string
	data []byte
}

type secSMTPSession struct {
	s      *secSMTPServer
	authed bool
	cur    smtpMsg
}

func (x *secSMTPSession) Reset()        { x.cur = smtpMsg{} }
func (x *secSMTPSession) Logout() error { return nil }
func (x *secSMTPSession) AuthMechanisms() []string {
	return []string{sasl.Plain}
}
func (x *secSMTPSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "smtpuser" || pass != secSMTPPass {
			return errors.New("bad credentials")
		}
		x.authed = true
		return nil
	}), nil
}
func (x *secSMTPSession) Mail(from string, _ *smtp.MailOptions) error {
	if !x.authed {
		return &smtp.SMTPError{Code: 530, Message: "authentication required"}
	}
	x.cur.from = from
	return nil
}
func (x *secSMTPSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.cur.rcpt = append(x.cur.rcpt, to)
	return nil
}
func (x *secSMTPSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.cur.data = b
	x.s.mu.Lock()
	x.s.got = append(x.s.got, x.cur)
	x.s.mu.Unlock()
	return nil
}

func startSecSMTP(t *testing.T) *secSMTPServer {
	s := &secSMTPServer{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &secSMTPSession{s: s}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

func (s *secSMTPServer) messages() []smtpMsg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]smtpMsg(nil), s.got...)
}

// startSecIMAP serves an in-memory mailbox for user "cases" with the test
// password and returns its address and the user to append mail to.
func startSecIMAP(t *testing.T) (string, *imapmemserver.User) {
	mem := imapmemserver.New()
	user := imapmemserver.NewUser("cases", secIMAPPass)
	if err := user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(user)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		InsecureAuth: true, Caps: imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String(), user
}

// secEnv is a whole daemon with Slack, IMAP and SMTP on loopback, logging
// into a buffer, on an injected clock.
type secEnv struct {
	t        *testing.T
	d        *Daemon
	base     string
	cfgPath  string
	dbPath   string
	logs     *syncBuffer
	slack    *secSlack
	smtp     *secSMTPServer
	inbox    *imapmemserver.User
	clk      *testClock
	cancel   context.CancelFunc
	done     chan error
	stopped  bool
	triggers atomic.Int64
	mu       sync.Mutex
	replies  [][]byte // every immediate answer to a slash command
}

// newSecEnv boots the daemon; with encrypt, the store has a key file.
func newSecEnv(t *testing.T, encrypt bool) *secEnv {
	t.Helper()
	e := &secEnv{t: t, logs: &syncBuffer{}, slack: newSecSlack(t), smtp: startSecSMTP(t)}
	imapAddr, inbox := startSecIMAP(t)
	e.inbox = inbox
	dir := t.TempDir()
	e.dbPath = filepath.Join(dir, "casebot.db")
	keyLine := ""
	if encrypt {
		keyPath := filepath.Join(dir, "casebot.key")
		if err := os.WriteFile(keyPath, []byte(strings.Repeat("5a", 32)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		keyLine = fmt.Sprintf("encryption_key_file = %q\n", keyPath)
	}
	e.cfgPath = filepath.Join(dir, "casebot.toml")
	cfgText := fmt.Sprintf(`[store]
path = %q
%s[http]
listen = "127.0.0.1:0"
[slack]
signing_secret = %q
api_url = %q
admins = [%q]
[imap]
addr = %q
tls = "none"
username = "cases"
password = %q
poll_interval = "1h"
[smtp]
addr = %q
tls = "none"
username = "smtpuser"
from = "Mediation Office <cases@practice.example>"
[schedule]
reminders = ["2h"]
[mail_limits]
max_message_bytes = 65536
max_attachment_bytes = 32768
`, e.dbPath, keyLine, secSigning, e.slack.srv.URL+"/api/", secAdmin, imapAddr, secIMAPPass, e.smtp.addr)
	if err := os.WriteFile(e.cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(e.cfgPath, func(k string) string { return secEnvVars[k] })
	if err != nil {
		t.Fatal(err)
	}
	e.clk = &testClock{t: time.Now().UTC().Truncate(time.Second)}
	logger := newBufLogger(io.MultiWriter(e.logs, tWriter{t}))
	e.d = NewDaemon(cfg, logger)
	e.d.Now = e.clk.Now
	ctx, cancel := context.WithCancel(context.Background())
	if err := e.d.Open(ctx); err != nil {
		cancel()
		t.Fatalf("Open: %v", err)
	}
	e.cancel, e.done = cancel, make(chan error, 1)
	e.base = "http://" + e.d.Addr().String()
	go func() { e.done <- e.d.Run(ctx) }()
	t.Cleanup(e.stop)
	waitFor(t, "healthz 200", func() bool { code, _ := get(e.base + "/healthz"); return code == http.StatusOK })
	return e
}

// stop shuts the daemon down and waits for Run to return (the store is
// closed then).
func (e *secEnv) stop() {
	if e.stopped {
		return
	}
	e.stopped = true
	e.cancel()
	select {
	case err := <-e.done:
		if err != nil {
			e.t.Errorf("daemon stopped with %v", err)
		}
	case <-time.After(15 * time.Second):
		e.t.Fatal("daemon did not stop within 15s")
	}
}

// signed is one request to a /slack/* endpoint with full control over the
// signature headers.
type signed struct {
	path     string
	body     string
	ts       time.Time
	secret   string // "" sends no signature headers at all
	sig      string // overrides the computed signature
	retryNum string
}

// do sends the request and returns the status and body.
func (e *secEnv) do(s signed) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.base+s.path, strings.NewReader(s.body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if s.secret != "" || s.sig != "" {
		ts := strconv.FormatInt(s.ts.Unix(), 10)
		sig := s.sig
		if sig == "" {
			sig = slackSignature(s.secret, s.ts, s.body)
		}
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		req.Header.Set("X-Slack-Signature", sig)
	}
	if s.retryNum != "" {
		req.Header.Set("X-Slack-Retry-Num", s.retryNum)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// slackSignature is the v0 signature of body at ts, computed without
// copying body.
func slackSignature(secret string, ts time.Time, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	_, _ = io.WriteString(mac, "v0:"+strconv.FormatInt(ts.Unix(), 10)+":")
	_, _ = io.WriteString(mac, body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// commandForm is a slash-command body as Slack sends it, with a fresh
// trigger_id and a response_url at the fake Slack named key.
func (e *secEnv) commandForm(user, text, key string) string {
	n := e.triggers.Add(1)
	return url.Values{"command": {"/case"}, "text": {text}, "user_id": {user}, "team_id": {"T1"},
		"trigger_id":   {fmt.Sprintf("trig.%d.%d", n, time.Now().UnixNano())},
		"response_url": {e.slack.srv.URL + "/resp/" + key}}.Encode()
}

// slash runs a correctly signed slash command over HTTP and returns the
// answer's text as the user sees it (unescaped): the immediate reply, or
// for slow commands the first post to response_url.
func (e *secEnv) slash(user, text string) string {
	e.t.Helper()
	key := fmt.Sprintf("k%d", e.triggers.Load()+1)
	code, body := e.do(signed{path: "/slack/commands", body: e.commandForm(user, text, key), ts: time.Now(), secret: secSigning})
	if code != http.StatusOK {
		e.t.Fatalf("%s %q: status %d %s", user, text, code, body)
	}
	e.mu.Lock()
	e.replies = append(e.replies, []byte(body))
	e.mu.Unlock()
	msg := decodeReply(e.t, []byte(body))
	if msg != "Working on it…" {
		return msg
	}
	var posted [][]byte
	waitFor(e.t, "the answer at response_url", func() bool {
		posted = e.slack.responses(key)
		return len(posted) > 0
	})
	return decodeReply(e.t, posted[0])
}

// decodeReply returns the unescaped text of a Slack message: its section
// blocks joined, else its text.
func decodeReply(t *testing.T, b []byte) string {
	t.Helper()
	var m struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type string `json:"type"`
			Text *struct {
				Text string `json:"text"`
			} `json:"text"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("reply %s: %v", b, err)
	}
	var parts []string
	for _, bl := range m.Blocks {
		if bl.Type == "section" && bl.Text != nil {
			parts = append(parts, bl.Text.Text)
		}
	}
	text := m.Text
	if len(parts) > 0 {
		text = strings.Join(parts, "\n")
	}
	return unescapeMrkdwn(text)
}

func unescapeMrkdwn(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

// run runs a command as user through the daemon (not HTTP) and fails the
// test when it is refused.
func (e *secEnv) run(user, text string) string {
	e.t.Helper()
	rep := e.d.Command(context.Background(), user, text)
	if rep.Err != nil {
		e.t.Fatalf("%s: %q refused: %s", user, text, rep.Text)
	}
	return rep.Text
}

// appendMail drops a raw message into the IMAP inbox.
func (e *secEnv) appendMail(raw string) {
	e.t.Helper()
	if _, err := e.inbox.Append("INBOX", memLiteral{bytes.NewReader([]byte(raw)), int64(len(raw))}, &imap.AppendOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// base64Forms returns, for each of the three byte alignments at which s can
// sit inside base64-encoded data, a substring that every encoding of s at
// that alignment contains.
func base64Forms(s string) []string {
	var out []string
	for pad := 0; pad < 3; pad++ {
		enc := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("\x00", pad) + s))
		// Drop the characters that depend on the bytes before and after.
		start := (pad*8 + 5) / 6
		end := (pad + len(s)) * 8 / 6
		out = append(out, enc[start:end])
	}
	return out
}

// newBufLogger returns a debug-level text logger writing to w.
func newBufLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// findMarkers returns the markers that appear in b in plain text or base64.
func findMarkers(b []byte, markers []string) []string {
	var found []string
	for _, m := range markers {
		forms := append([]string{m}, base64Forms(m)...)
		for _, f := range forms {
			if bytes.Contains(b, []byte(f)) {
				found = append(found, fmt.Sprintf("%s (as %q)", m, f))
				break
			}
		}
	}
	return found
}
