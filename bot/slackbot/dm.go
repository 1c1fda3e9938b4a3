package slackbot

import (
	"context"
	"log/slog"
	"time"

	"github.com/casebot/casebot"
	"github.com/slack-go/slack"
)

// replyDM posts a command's reply to the user's direct messages with the
// app, for requests Slack gives no response_url (a button on Home, a form
// submission). Like any reply it is for the user alone. A failure is
// logged, without the reply's text.
func (h *Handler) replyDM(ctx context.Context, user string, reply casebot.Reply) {
	if h.cfg.Client == nil {
		h.log.Warn("slack: reply lost: no Web API client for a direct message", slog.String("user", user))
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	ch, _, _, err := h.cfg.Client.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}})
	if err != nil {
		h.log.Error("slack: reply by direct message failed", slog.String("user", user), slog.Any("error", err))
		return
	}
	for _, m := range replyMessages(reply, 1) {
		if _, _, err := h.cfg.Client.PostMessageContext(ctx, ch.ID, slack.MsgOptionText(m.Text, false), slack.MsgOptionBlocks(m.Blocks.BlockSet...)); err != nil {
			h.log.Error("slack: reply by direct message failed", slog.String("user", user), slog.Any("error", err))
			return
		}
	}
}
