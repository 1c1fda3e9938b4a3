package bot

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"regexp"
	"strings"

	"github.com/casebot/casebot"
	"github.com/slack-go/slack"
)

// Button action IDs for quarantined mail (declared in casebot; show_case and
// deadline_done are in commands.go). Each press runs the
// command it stands for through the command table, so a press by someone who
// may not act on the case is refused like the command.
const (
	ActionMailAccept = casebot.ActionMailAccept // value "17/MED-2026-0042": accept 17 MED-2026-0042
	ActionMailReject = casebot.ActionMailReject // value "17": reject 17
)

var (
	caseIDRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*-[0-9]{4}-[0-9]{4,}$`)
	numberRe = regexp.MustCompile(`^[0-9]{1,9}$`)
)

// buttonCommand returns the command text a button press stands for, or
// false for an unknown action or a malformed value.
func buttonCommand(actionID, value string) (string, bool) {
	name := actionName(actionID)
	if text, ok := ActionText(name, value); ok {
		return text, true
	}
	a, b, _ := strings.Cut(value, "/")
	switch name {
	case ActionMailAccept:
		if numberRe.MatchString(a) && caseIDRe.MatchString(b) {
			return "accept " + a + " " + b, true
		}
	case ActionMailReject:
		if numberRe.MatchString(a) && b == "" {
			return "reject " + a, true
		}
	}
	return "", false
}

func (h *SlackHandler) serveInteraction(w http.ResponseWriter, r *http.Request) {
	body, ok := h.readVerified(w, r)
	if !ok {
		return
	}
	r2 := formRequest(r, body)
	if err := r2.ParseForm(); err != nil {
		h.fail(w, r, refuse(http.StatusBadRequest, "malformed form body: %v", err))
		return
	}
	payload := r2.PostForm.Get("payload")
	if payload == "" {
		h.fail(w, r, refuse(http.StatusBadRequest, "no payload"))
		return
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(payload), &cb); err != nil {
		h.fail(w, r, refuse(http.StatusBadRequest, "payload is not JSON: %v", err))
		return
	}
	if herr := h.interaction(cb, "body:"+hashHex(body)); herr != nil {
		h.fail(w, r, herr)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// interaction runs the command a button press stands for, once per key,
// answering through the callback's response_url.
func (h *SlackHandler) interaction(cb slack.InteractionCallback, key string) *httpError {
	if cb.Type != slack.InteractionTypeBlockActions {
		return refuse(http.StatusBadRequest, "unsupported interaction type %q", cb.Type)
	}
	if e := h.checkOrigin(cb.Team.ID, cb.User.ID); e != nil {
		return e
	}
	acts := cb.ActionCallback.BlockActions
	if len(acts) == 0 {
		return refuse(http.StatusBadRequest, "no actions")
	}
	text, ok := buttonCommand(acts[0].ActionID, acts[0].Value)
	if !ok {
		return refuse(http.StatusBadRequest, "unknown action %q or bad value", acts[0].ActionID)
	}
	if cb.ResponseURL == "" {
		return refuse(http.StatusBadRequest, "no response_url")
	}
	run, first := h.dedup.claim(key)
	if !first {
		h.log.Info("slack: duplicate interaction not run again", slog.String("user", cb.User.ID), slog.String("action", acts[0].ActionID))
		return nil
	}
	h.start(run, cb.User.ID, text, cb.ResponseURL)
	if run.finishedOrLate(cb.ResponseURL) {
		h.postLater(cb.ResponseURL, replyMessages(run.reply, maxResponsePosts))
	}
	return nil
}
