package slackbot

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/slack-go/slack"
)

// buttonCommand returns the command text a button press stands for, or
// false for an unknown action or a malformed value. The ".N" suffix the
// renderer adds to repeated action IDs is dropped first.
func (h *Handler) buttonCommand(actionID, value string) (string, bool) {
	if h.cfg.Language == nil {
		return "", false
	}
	return h.cfg.Language.ButtonText(actionName(actionID), value)
}

func (h *Handler) serveInteraction(w http.ResponseWriter, r *http.Request) {
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
func (h *Handler) interaction(cb slack.InteractionCallback, key string) *httpError {
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
	text, ok := h.buttonCommand(acts[0].ActionID, acts[0].Value)
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
