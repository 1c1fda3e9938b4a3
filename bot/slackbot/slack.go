// Package slackbot is casebot's Slack transport: the slash command and
// interaction endpoints with their signature check, Socket Mode, Block Kit
// rendering of replies, the outbox's direct-message sender and the user
// directory. It runs commands through a runner it is given and asks the
// command language (package bot) only whether a command is slow; bot never
// imports this package.
package slackbot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/casebot/casebot"
	"github.com/slack-go/slack"
)

// Language is what the transport asks of the command language around
// running a command. *bot.Bot implements it; the transport never imports
// the language package.
type Language interface {
	// Slow reports whether the command in text may take long, so that it
	// is acknowledged at once and answered through response_url.
	Slow(text string) bool
	// ButtonText returns the command text a button press stands for, or
	// false for an unknown action or a malformed value.
	ButtonText(actionID, value string) (string, bool)
}

// Config is what a Handler needs.
type Config struct {
	// Run runs one command text for a Slack user and returns its reply.
	// Slash commands and button presses, over HTTP and Socket Mode, all go
	// through it; the daemon passes the runner every transport shares
	// (metrics, outbox kick). Required.
	Run func(ctx context.Context, userID, text string) casebot.Reply
	// Language tells which commands are slow and what buttons stand for;
	// when nil, no command is slow (one that overruns AckAfter is still
	// answered late) and every button press is refused.
	Language Language
	// SigningSecret verifies every request (v0 HMAC-SHA256). Required.
	SigningSecret string
	// TeamID, when set, is the only workspace whose requests are served.
	TeamID string
	// Command, when set, is the only slash command served (slack.command,
	// e.g. "/case"); others get 400.
	Command string
	// HTTPClient posts to response_url; a client with a 10 s timeout when nil.
	HTTPClient *http.Client
	Logger     *slog.Logger
	// Now is the clock of the replay cache; time.Now when nil. (Signature
	// timestamps are checked by slack-go against the real clock.)
	Now func() time.Time
	// AckAfter is how long a command may run before the request is
	// acknowledged and the answer sent through response_url; 1.5 s when zero.
	AckAfter time.Duration
	// MaxBody bounds a request body; 64 KiB when zero.
	MaxBody int64
	// DedupTTL and DedupSize bound the memory of recent deliveries used to
	// ignore retries and replays; 10 min and 10,000 when zero.
	DedupTTL  time.Duration
	DedupSize int
	// Client is the bot-token Web API client for what the transport does
	// on its own: opening forms (views.open), answering by direct message
	// where Slack gives no response_url (Home buttons, form submissions),
	// downloading shared files. When nil, forms and files are off and such
	// answers are only logged as lost.
	Client *slack.Client
	// Home publishes a user's App Home when they open it and lists the
	// cases a form's case select offers; nil: Home off.
	Home *HomeView
	// Forms derives forms from the command table and turns their
	// submissions into command text; nil (or Client nil): forms are off.
	Forms FormLanguage
	// Files files what users share in the app's DM as case documents;
	// nil (or Client nil): such files are refused.
	Files DocumentFiler
	// MaxFileBytes bounds a shared file (mail_limits.max_attachment_bytes);
	// 10 MiB when zero.
	MaxFileBytes int64
	// Deliveries remembers the events already handled across restarts
	// (the store); nil: in memory only, so a retry after a restart runs
	// again.
	Deliveries Deliveries
}

// Handler serves Slack slash commands and button presses, over HTTP
// (Commands, Interactions) or Socket Mode (RunSocketMode). Commands run on
// goroutines it owns; Shutdown waits for them.
type Handler struct {
	cfg    Config
	log    *slog.Logger
	http   *http.Client
	dedup  *dedup
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewHandler returns a handler. It panics if cfg.Run is nil, a
// programming error.
func NewHandler(cfg Config) *Handler {
	if cfg.Run == nil {
		panic("slackbot: NewHandler without Run")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.AckAfter <= 0 {
		cfg.AckAfter = 1500 * time.Millisecond
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 64 << 10
	}
	if cfg.DedupTTL <= 0 {
		cfg.DedupTTL = 10 * time.Minute
	}
	if cfg.DedupSize <= 0 {
		cfg.DedupSize = 10000
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Handler{
		cfg:    cfg,
		log:    cfg.Logger,
		http:   hc,
		dedup:  newDedup(cfg.DedupTTL, cfg.DedupSize, cfg.Now),
		ctx:    ctx,
		cancel: cancel,
	}
}

// Shutdown waits for commands still running and answers still being
// posted. If ctx ends first it cancels them, waits for them to stop, and
// returns ctx's error.
func (h *Handler) Shutdown(ctx context.Context) error {
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
		h.cancel()
		return nil
	case <-ctx.Done():
		h.cancel()
		<-done
		return fmt.Errorf("slackbot: shutdown: %w", ctx.Err())
	}
}

// Commands returns the handler for POST /slack/commands.
func (h *Handler) Commands() http.Handler { return http.HandlerFunc(h.serveCommand) }

// Interactions returns the handler for POST /slack/interactions.
func (h *Handler) Interactions() http.Handler { return http.HandlerFunc(h.serveInteraction) }

// httpError is a refusal with its status; the message is safe to show.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func refuse(status int, format string, args ...any) *httpError {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

// readVerified reads the body once and checks its signature before anything
// parses it. On failure it has written the response and returns false.
func (h *Handler) readVerified(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.fail(w, r, refuse(http.StatusRequestEntityTooLarge, "body over %d bytes", h.cfg.MaxBody))
		} else {
			h.fail(w, r, refuse(http.StatusBadRequest, "read body: %v", err))
		}
		return nil, false
	}
	sv, err := slack.NewSecretsVerifier(r.Header, h.cfg.SigningSecret)
	if err == nil {
		_, _ = sv.Write(body)
		err = sv.Ensure()
	}
	if err != nil {
		h.fail(w, r, refuse(http.StatusUnauthorized, "signature: %v", err))
		return nil, false
	}
	return body, true
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, e *httpError) {
	h.log.Warn("slack: request refused", slog.String("path", r.URL.Path), slog.Int("status", e.status),
		slog.String("reason", e.msg), slog.String("remote", r.RemoteAddr))
	http.Error(w, http.StatusText(e.status), e.status)
}

// formRequest rebuilds a request around an already read body, so that
// slack-go's parsers (which call ParseForm) can read it.
func formRequest(r *http.Request, body []byte) *http.Request {
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(bytes.NewReader(body))
	r2.ContentLength = int64(len(body))
	r2.Form, r2.PostForm = nil, nil
	return r2
}

func (h *Handler) serveCommand(w http.ResponseWriter, r *http.Request) {
	body, ok := h.readVerified(w, r)
	if !ok {
		return
	}
	cmd, err := slack.SlashCommandParse(formRequest(r, body))
	if err != nil {
		h.fail(w, r, refuse(http.StatusBadRequest, "malformed form body: %v", err))
		return
	}
	key := "body:" + hashHex(body)
	if cmd.TriggerID != "" {
		key = "trigger:" + cmd.TriggerID
	}
	msg, rest, herr := h.command(cmd, key, r.Header.Get("X-Slack-Retry-Num"))
	if herr != nil {
		h.fail(w, r, herr)
		return
	}
	if msg == nil { // a form opens instead
		w.WriteHeader(http.StatusOK)
		return
	}
	writeJSON(w, msg)
	if len(rest) > 0 {
		h.postLater(cmd.ResponseURL, rest)
	}
}

func writeJSON(w http.ResponseWriter, msg *slack.WebhookMessage) {
	b, err := json.Marshal(msg)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

func hashHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// checkOrigin refuses requests from other workspaces and without a user.
func (h *Handler) checkOrigin(team, user string) *httpError {
	if h.cfg.TeamID != "" && team != h.cfg.TeamID {
		return refuse(http.StatusForbidden, "unknown team %q", team)
	}
	if user == "" {
		return refuse(http.StatusBadRequest, "no user_id")
	}
	return nil
}

// command runs a slash command once per key and returns the immediate
// response: the answer when it is ready within AckAfter (and the command is
// not slow), else an acknowledgement, the answer following through
// response_url. rest are further pages the caller must post to
// response_url. retry is Slack's X-Slack-Retry-Num, for the log.
func (h *Handler) command(cmd slack.SlashCommand, key, retry string) (first *slack.WebhookMessage, rest []*slack.WebhookMessage, herr *httpError) {
	if e := h.checkOrigin(cmd.TeamID, cmd.UserID); e != nil {
		return nil, nil, e
	}
	if h.cfg.Command != "" && cmd.Command != h.cfg.Command {
		return nil, nil, refuse(http.StatusBadRequest, "unknown slash command %q; this casebot serves %s", cmd.Command, h.cfg.Command)
	}
	// Slack escapes &, < and > in what the user typed; the command table
	// stores text as typed, and rendering escapes it again.
	cmd.Text = unescapeSlack(cmd.Text)
	if h.cfg.Forms != nil && h.cfg.Client != nil && cmd.TriggerID != "" {
		if name, ok := h.cfg.Forms.FormCommand(cmd.Text); ok {
			if e := h.openLater(cmd.TriggerID, cmd.UserID, name, formMeta{Reply: cmd.ResponseURL}, nil, key); e != nil {
				return nil, nil, e
			}
			return nil, nil, nil
		}
	}
	r, isNew := h.dedup.claim(key)
	if !isNew {
		h.log.Info("slack: duplicate delivery not run again", slog.String("user", cmd.UserID),
			slog.String("command", commandWord(cmd.Text)), slog.String("retry_num", retry))
		if r.finishedOrLate(cmd.ResponseURL) {
			return replyMessages(r.reply, 1)[0], nil, nil
		}
		return workingMessage(), nil, nil
	}
	h.start(r, cmd.UserID, cmd.Text, cmd.ResponseURL)
	if h.cfg.Language == nil || !h.cfg.Language.Slow(cmd.Text) {
		t := time.NewTimer(h.cfg.AckAfter)
		defer t.Stop()
		select {
		case <-r.done:
		case <-t.C:
		}
	}
	if !r.finishedOrLate(cmd.ResponseURL) {
		return workingMessage(), nil, nil
	}
	msgs := replyMessages(r.reply, maxResponsePosts)
	return msgs[0], msgs[1:], nil
}

// start runs the command on a goroutine the handler owns. When the run has
// been marked late, the finished reply is posted to its response_url.
func (h *Handler) start(r *run, user, text, responseURL string) {
	r.mu.Lock()
	r.responseURL = responseURL
	r.mu.Unlock()
	h.wg.Go(func() {
		reply := h.runSafe(user, text)
		r.mu.Lock()
		r.reply = reply
		close(r.done)
		late, url := r.late, r.responseURL
		r.mu.Unlock()
		if late {
			h.post(url, replyMessages(reply, maxResponsePosts))
		}
	})
}

func (h *Handler) runSafe(user, text string) (reply casebot.Reply) {
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("slack: command panicked", slog.String("user", user), slog.String("command", commandWord(text)), slog.Any("panic", p))
			reply = casebot.Reply{Text: "Internal error.", Err: casebot.Errorf(casebot.EINTERNAL, "Internal error.")}
		}
	}()
	return h.cfg.Run(h.ctx, user, text)
}

func (h *Handler) postLater(url string, msgs []*slack.WebhookMessage) {
	h.wg.Go(func() { h.post(url, msgs) })
}

// post sends messages to a response_url in order, stopping at the first
// failure (Slack accepts five posts per response_url).
func (h *Handler) post(url string, msgs []*slack.WebhookMessage) {
	if url == "" {
		h.log.Warn("slack: reply lost: no response_url")
		return
	}
	for i, m := range msgs {
		ctx, cancel := context.WithTimeout(h.ctx, 15*time.Second)
		err := slack.PostWebhookCustomHTTPContext(ctx, url, h.http, m)
		cancel()
		if err != nil {
			h.log.Error("slack: post to response_url failed", slog.Int("page", i+1), slog.Any("error", err))
			return
		}
	}
}

// commandWord is the command word, the only part of a command text that is
// logged (the rest may be a note body).
func commandWord(text string) string {
	f := strings.Fields(text)
	if len(f) == 0 {
		return ""
	}
	w := strings.ToLower(f[0])
	if len(w) > 20 {
		w = w[:20]
	}
	return w
}

// slackUnescaper undoes the only three escapes Slack applies to user text.
var slackUnescaper = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// unescapeSlack returns text as the user typed it.
func unescapeSlack(text string) string { return slackUnescaper.Replace(text) }
