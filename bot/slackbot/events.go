package slackbot

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/slack-go/slack/slackevents"
)

// Events returns the handler for POST /slack/events (Events API): the
// signature is checked before anything is parsed (401 otherwise), a
// url_verification is answered with its challenge, and every other event
// is acknowledged at once and handled on a goroutine the handler owns,
// once per event_id (a retried delivery, X-Slack-Retry-Num, is not handled
// again).
func (h *Handler) Events() http.Handler { return http.HandlerFunc(h.serveEvent) }

func (h *Handler) serveEvent(w http.ResponseWriter, r *http.Request) {
	body, ok := h.readVerified(w, r)
	if !ok {
		return
	}
	ev, err := slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionNoVerifyToken())
	if err != nil {
		// An event_callback whose inner event slack-go cannot read: nothing
		// to do, and a retry would not help. Anything else is no event.
		var outer struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(body, &outer) == nil && outer.Type == slackevents.CallbackEvent {
			h.log.Info("slack: event not understood; acknowledged", slog.Any("error", err))
			w.WriteHeader(http.StatusOK)
			return
		}
		h.fail(w, r, refuse(http.StatusBadRequest, "malformed event: %v", err))
		return
	}
	switch ev.Type {
	case slackevents.URLVerification:
		uv, ok := ev.Data.(*slackevents.EventsAPIURLVerificationEvent)
		if !ok || uv.Challenge == "" {
			h.fail(w, r, refuse(http.StatusBadRequest, "url_verification without a challenge"))
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(uv.Challenge))
		return
	case slackevents.CallbackEvent:
		if herr := h.event(ev, r.Header.Get("X-Slack-Retry-Num")); herr != nil {
			h.fail(w, r, herr)
			return
		}
	default:
		// app_rate_limited and inner events slack-go cannot read: nothing
		// to do, and a retry would not help.
		h.log.Info("slack: event not handled", slog.String("type", ev.Type))
	}
	w.WriteHeader(http.StatusOK)
}

// Deliveries remembers event deliveries across restarts (*store.DB
// implements it over its key-value seam).
type Deliveries interface {
	// FirstDelivery records key and reports whether it is the first
	// delivery of key within ttl.
	FirstDelivery(ctx context.Context, key string, ttl time.Duration) (bool, error)
}

// eventTTL is how long an event_id is remembered in the store: Slack
// retries a delivery three times within minutes.
const eventTTL = time.Hour

// event acknowledges one Events API callback and handles it once per
// event_id, on a goroutine the handler owns. retry is Slack's retry
// number, for the log.
func (h *Handler) event(ev slackevents.EventsAPIEvent, retry string) *httpError {
	cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent)
	if !ok || cb.EventID == "" {
		return refuse(http.StatusBadRequest, "event without an event_id")
	}
	if h.cfg.TeamID != "" && ev.TeamID != h.cfg.TeamID {
		return refuse(http.StatusForbidden, "unknown team %q", ev.TeamID)
	}
	key := "event:" + cb.EventID
	_, first := h.dedup.claim(key)
	if first && h.cfg.Deliveries != nil {
		ctx, cancel := context.WithTimeout(h.ctx, 2*time.Second)
		var err error
		first, err = h.cfg.Deliveries.FirstDelivery(ctx, key, eventTTL)
		cancel()
		if err != nil {
			// Handled once in this process at least; the memory still
			// holds the key.
			h.log.Error("slack: event delivery not recorded", slog.String("event_id", cb.EventID), slog.Any("error", err))
			first = true
		}
	}
	if !first {
		h.log.Info("slack: duplicate event not handled again", slog.String("event_id", cb.EventID),
			slog.String("type", ev.InnerEvent.Type), slog.String("retry_num", retry))
		return nil
	}
	inner := ev.InnerEvent.Data
	h.wg.Go(func() {
		ctx, cancel := context.WithTimeout(h.ctx, 2*time.Minute)
		defer cancel()
		h.handleEvent(ctx, inner)
	})
	return nil
}

// handleEvent does what one inner event asks: publish the Home of a user
// who opened it, file the files a user shared in the app's DM.
func (h *Handler) handleEvent(ctx context.Context, inner any) {
	switch e := inner.(type) {
	case *slackevents.AppHomeOpenedEvent:
		if e.Tab != "home" || e.User == "" || h.cfg.Home == nil {
			return
		}
		if err := h.cfg.Home.Publish(ctx, e.User); err != nil {
			h.log.Error("slack: publish home failed", slog.String("user", e.User), slog.Any("error", err))
		}
	case *slackevents.MessageEvent:
		if !e.IsIM() || e.User == "" || e.BotID != "" || e.Message == nil || len(e.Message.Files) == 0 {
			return // the app's own posts, edits, and messages without files
		}
		h.fileShare(ctx, e)
	}
}
