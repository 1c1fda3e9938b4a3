package slackbot

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/casebot/casebot"
	"github.com/slack-go/slack"
)

// Shortcut callback IDs (slack-app-manifest.yml).
const (
	ShortcutNewCase   = "new_case"    // global: the New case form
	ShortcutAddToCase = "add_to_case" // message: the message's text into a note
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
	resp, herr := h.interaction(r.Context(), cb, "body:"+hashHex(body))
	if herr != nil {
		h.fail(w, r, herr)
		return
	}
	if resp == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	b, err := json.Marshal(resp)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// interaction handles one interaction payload, once per key: a button
// press runs the command it stands for (or opens a form), a form
// submission runs its command, a shortcut opens its form, a suggestion
// request lists cases. It returns the body to answer with, nil for none.
func (h *Handler) interaction(ctx context.Context, cb slack.InteractionCallback, key string) (any, *httpError) {
	if e := h.checkOrigin(cb.Team.ID, cb.User.ID); e != nil {
		return nil, e
	}
	switch cb.Type {
	case slack.InteractionTypeBlockActions:
		return nil, h.blockAction(cb, key)
	case slack.InteractionTypeViewSubmission:
		return h.submission(cb, key)
	case slack.InteractionTypeBlockSuggestion:
		return h.suggestions(ctx, cb)
	case slack.InteractionTypeShortcut, slack.InteractionTypeMessageAction:
		return nil, h.shortcut(cb, key)
	case slack.InteractionTypeViewClosed:
		return nil, nil
	}
	return nil, refuse(http.StatusBadRequest, "unsupported interaction type %q", cb.Type)
}

// blockAction runs the command a button press stands for, once per key,
// answering through the callback's response_url, or by DM for a press on
// Home (which has none). A form button opens its form.
func (h *Handler) blockAction(cb slack.InteractionCallback, key string) *httpError {
	acts := cb.ActionCallback.BlockActions
	if len(acts) == 0 {
		return refuse(http.StatusBadRequest, "no actions")
	}
	act := acts[0]
	if actionName(act.ActionID) == ActionOpenForm {
		return h.formButton(cb, act.Value, key)
	}
	text, ok := h.buttonCommand(act.ActionID, act.Value)
	if !ok {
		return refuse(http.StatusBadRequest, "unknown action %q or bad value", act.ActionID)
	}
	fromHome := cb.View.Type == slack.VTHomeTab
	if cb.ResponseURL == "" && !fromHome {
		return refuse(http.StatusBadRequest, "no response_url")
	}
	run, first := h.dedup.claim(key)
	if !first {
		h.log.Info("slack: duplicate interaction not run again", slog.String("user", cb.User.ID), slog.String("action", act.ActionID))
		return nil
	}
	if fromHome && cb.ResponseURL == "" {
		user := cb.User.ID
		h.start(run, user, text, "")
		h.wg.Go(func() {
			<-run.done
			h.replyDM(h.ctx, user, run.reply)
		})
		return nil
	}
	h.start(run, cb.User.ID, text, cb.ResponseURL)
	if run.finishedOrLate(cb.ResponseURL) {
		h.postLater(cb.ResponseURL, replyMessages(run.reply, maxResponsePosts))
	}
	return nil
}

// formButton opens the form a button names: "party add/MED-2026-0042".
func (h *Handler) formButton(cb slack.InteractionCallback, value, key string) *httpError {
	command, caseID, _ := strings.Cut(value, "/")
	if caseID != "" {
		id, err := casebot.NormalizeCaseID(caseID)
		if err != nil {
			return refuse(http.StatusBadRequest, "form button for a bad case ID")
		}
		caseID = id
	}
	return h.openLater(cb.TriggerID, cb.User.ID, command, formMeta{Case: caseID, Reply: cb.ResponseURL}, nil, key)
}

// shortcut opens the form of a global or message shortcut.
func (h *Handler) shortcut(cb slack.InteractionCallback, key string) *httpError {
	switch {
	case cb.Type == slack.InteractionTypeShortcut && cb.CallbackID == ShortcutNewCase:
		return h.openLater(cb.TriggerID, cb.User.ID, "new", formMeta{}, nil, key)
	case cb.Type == slack.InteractionTypeMessageAction && cb.CallbackID == ShortcutAddToCase:
		text := unescapeSlack(cb.Message.Text)
		channel, ts, reply := cb.Channel.ID, cb.Message.Timestamp, cb.ResponseURL
		user, trigger := cb.User.ID, cb.TriggerID
		if trigger == "" || h.cfg.Forms == nil || h.cfg.Client == nil {
			return refuse(http.StatusBadRequest, "shortcut %q: forms are off or no trigger_id", cb.CallbackID)
		}
		if _, first := h.dedup.claim(key); !first {
			return nil
		}
		h.wg.Go(func() {
			ctx, cancel := context.WithTimeout(h.ctx, 3*time.Second)
			defer cancel()
			meta := formMeta{Reply: reply}
			if channel != "" && ts != "" {
				link, err := h.cfg.Client.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: channel, Ts: ts})
				if err != nil {
					h.log.Warn("slack: permalink of a shortcut's message", slog.Any("error", err))
				} else if len(link) <= maxNoteLink {
					meta.Link = link
				}
			}
			if err := h.openForm(ctx, trigger, user, "note", meta, map[string]string{"text": text}); err != nil {
				h.log.Error("slack: open form failed", slog.String("form", "note"), slog.String("user", user), slog.Any("error", err))
			}
		})
		return nil
	}
	return refuse(http.StatusBadRequest, "unknown shortcut %q", cb.CallbackID)
}

// openLater opens a form on a goroutine the handler owns (views.open must
// come within 3 s of the trigger; the request is answered at once).
func (h *Handler) openLater(trigger, user, command string, meta formMeta, initial map[string]string, key string) *httpError {
	if trigger == "" {
		return refuse(http.StatusBadRequest, "no trigger_id")
	}
	if h.cfg.Forms == nil || h.cfg.Client == nil {
		return refuse(http.StatusBadRequest, "forms are off")
	}
	if _, ok := h.cfg.Forms.Form(user, command); !ok {
		return refuse(http.StatusBadRequest, "no form %q", command)
	}
	if _, first := h.dedup.claim(key); !first {
		return nil
	}
	h.wg.Go(func() {
		ctx, cancel := context.WithTimeout(h.ctx, 3*time.Second)
		defer cancel()
		if err := h.openForm(ctx, trigger, user, command, meta, initial); err != nil {
			h.log.Error("slack: open form failed", slog.String("form", command), slog.String("user", user), slog.Any("error", err))
		}
	})
	return nil
}
