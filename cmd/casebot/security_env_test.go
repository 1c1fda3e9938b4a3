package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/casebot/casebot/config"
	"github.com/casebot/casebot/internal/testclock"
	"github.com/casebot/casebot/internal/testserver"
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

// secEnv is a whole daemon with Slack, IMAP and SMTP on loopback, logging
// into a buffer, on an injected clock.
type secEnv struct {
	t        *testing.T
	d        *Daemon
	base     string
	cfgPath  string
	dbPath   string
	logs     *testserver.Buffer
	slack    *testserver.Slack
	smtp     *testserver.SMTP
	inbox    *testserver.IMAP
	clk      *testclock.Clock
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
	e := &secEnv{t: t, logs: &testserver.Buffer{}, slack: testserver.NewSlack(t, secBotToken),
		smtp:  testserver.NewSMTP(t, testserver.SMTPOptions{User: "smtpuser", Password: secSMTPPass}),
		inbox: testserver.NewIMAP(t, "cases", secIMAPPass)}
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
`, e.dbPath, keyLine, secSigning, e.slack.URL(), secAdmin, e.inbox.Addr(), secIMAPPass, e.smtp.Addr())
	if err := os.WriteFile(e.cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(e.cfgPath, func(k string) string { return secEnvVars[k] })
	if err != nil {
		t.Fatal(err)
	}
	e.clk = testclock.New(time.Now().UTC().Truncate(time.Second))
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
			sig = testserver.SlackSignature(s.secret, s.ts, s.body)
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

// commandForm is a slash-command body as Slack sends it, with a fresh
// trigger_id and a response_url at the fake Slack named key.
func (e *secEnv) commandForm(user, text, key string) string {
	n := e.triggers.Add(1)
	return testserver.SlashForm(user, text, fmt.Sprintf("trig.%d.%d", n, time.Now().UnixNano()), e.slack.ResponseURL(key)).Encode()
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
		posted = e.slack.Responses(key)
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
	if err := e.inbox.Append(raw); err != nil {
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
