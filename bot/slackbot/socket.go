package slackbot

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/casebot/casebot/internal/backoff"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// SocketOptions tune RunSocketMode; zero values take the defaults.
type SocketOptions struct {
	// PingInterval is how long the connection may stay silent (no
	// WebSocket ping from Slack) before it is considered dead and
	// reopened; 30 s when zero. Slack pings every few seconds; connections
	// that die silently (slack-go#1093) are caught this way.
	PingInterval time.Duration
	// MinBackoff and MaxBackoff bound the wait between failed connection
	// rounds; 1 s and 2 min when zero.
	MinBackoff, MaxBackoff time.Duration
}

// maxSocketAck is a safe size for a Socket Mode acknowledgement; Slack
// silently drops responses of 20 KB or more.
const maxSocketAck = 19 << 10

// RunSocketMode serves slash commands and button presses over Socket Mode
// until ctx ends, with the same handling as the HTTP endpoints. client must
// carry the app-level token (slack.OptionAppLevelToken). slack-go reconnects
// after a dropped connection; when it gives up (bad token, Slack down),
// RunSocketMode starts again after an exponential back-off with jitter. It
// returns nil when ctx ends.
func (h *Handler) RunSocketMode(ctx context.Context, client *slack.Client, opts SocketOptions) error {
	if opts.PingInterval <= 0 {
		opts.PingInterval = 30 * time.Second
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 2 * time.Minute
	}
	policy := backoff.Policy{Min: opts.MinBackoff, Max: opts.MaxBackoff}
	failures := 0
	for {
		began := time.Now()
		err := h.socketRound(ctx, client, opts)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(began) > 5*opts.MaxBackoff {
			failures = 0 // it ran well for a while
		}
		failures++
		wait := policy.Delay(failures)
		h.log.Warn("slack: socket mode stopped, reconnecting", slog.Any("error", err), slog.Duration("retry_in", wait))
		if !backoff.Sleep(ctx, wait) {
			return nil
		}
	}
}

// socketRound runs one socketmode client until it fails or ctx ends.
func (h *Handler) socketRound(ctx context.Context, client *slack.Client, opts SocketOptions) error {
	smc := socketmode.New(client,
		socketmode.OptionPingInterval(opts.PingInterval),
		socketmode.OptionLog(slog.NewLogLogger(h.log.Handler(), slog.LevelDebug)),
	)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- smc.RunContext(rctx) }()
	for {
		select {
		case <-ctx.Done():
			cancel()
			<-errc
			return ctx.Err()
		case err := <-errc:
			if err == nil {
				err = errors.New("socket mode ended")
			}
			return err
		case evt := <-smc.Events:
			h.socketEvent(rctx, smc, evt)
		}
	}
}

func (h *Handler) socketEvent(ctx context.Context, smc *socketmode.Client, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnected:
		h.log.Info("slack: socket mode connected")
	case socketmode.EventTypeConnectionError:
		var err error
		if ce, ok := evt.Data.(*slack.ConnectionErrorEvent); ok {
			err = ce.ErrorObj
		}
		h.log.Warn("slack: socket mode connection failed", slog.Any("error", err))
	case socketmode.EventTypeInvalidAuth:
		h.log.Error("slack: socket mode token refused")
	case socketmode.EventTypeErrorBadMessage:
		h.log.Warn("slack: socket mode message not understood")
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok || evt.Request == nil {
			return
		}
		req := *evt.Request
		// Handled off the event loop: a command may take AckAfter.
		h.wg.Go(func() { h.socketCommand(ctx, smc, req, cmd) })
	case socketmode.EventTypeInteractive:
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok || evt.Request == nil {
			return
		}
		resp, herr := h.interaction(ctx, cb, "body:"+hashHex(evt.Request.Payload))
		if herr != nil {
			h.log.Warn("slack: socket mode interaction refused", slog.Int("status", herr.status), slog.String("reason", herr.msg))
		}
		h.ack(ctx, smc, evt.Request.EnvelopeID, resp)
	case socketmode.EventTypeEventsAPI:
		ev, ok := evt.Data.(slackevents.EventsAPIEvent)
		if !ok || evt.Request == nil {
			return
		}
		h.ack(ctx, smc, evt.Request.EnvelopeID, nil)
		if ev.Type != slackevents.CallbackEvent {
			return
		}
		retry := ""
		if evt.Request.RetryAttempt > 0 {
			retry = itoa(evt.Request.RetryAttempt)
		}
		if herr := h.event(ev, retry); herr != nil {
			h.log.Warn("slack: socket mode event refused", slog.Int("status", herr.status), slog.String("reason", herr.msg))
		}
	}
}

func (h *Handler) socketCommand(ctx context.Context, smc *socketmode.Client, req socketmode.Request, cmd slack.SlashCommand) {
	key := "envelope:" + req.EnvelopeID
	if cmd.TriggerID != "" {
		key = "trigger:" + cmd.TriggerID
	}
	retry := ""
	if req.RetryAttempt > 0 {
		retry = itoa(req.RetryAttempt)
	}
	first, rest, herr := h.command(cmd, key, retry)
	if herr != nil {
		h.log.Warn("slack: socket mode command refused", slog.Int("status", herr.status), slog.String("reason", herr.msg))
		h.ack(ctx, smc, req.EnvelopeID, nil)
		return
	}
	if first == nil { // a form opens instead
		h.ack(ctx, smc, req.EnvelopeID, nil)
		return
	}
	if b, err := json.Marshal(first); err != nil || len(b) >= maxSocketAck {
		// Too big to ride on the acknowledgement: send it all through
		// response_url instead.
		rest = append([]*slack.WebhookMessage{first}, rest...)
		first = workingMessage()
	}
	h.ack(ctx, smc, req.EnvelopeID, first)
	if len(rest) > 0 {
		h.post(cmd.ResponseURL, rest)
	}
}

func (h *Handler) ack(ctx context.Context, smc *socketmode.Client, envelopeID string, payload any) {
	if err := smc.AckCtx(ctx, envelopeID, payload); err != nil {
		h.log.Error("slack: socket mode ack failed", slog.String("envelope_id", envelopeID), slog.Any("error", err))
	}
}
