package main

import (
	"context"
	"fmt"
	"time"

	"github.com/slack-go/slack"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/bot"
)

// setupSlack mounts POST /slack/commands and /slack/interactions (when a
// signing secret is set), starts Socket Mode (when an app token is set),
// registers the Slack sender for outbox direct messages, and keeps the user
// directory (time zones, names) fresh. Off when slack.bot_token is empty.
func (d *Daemon) setupSlack(ctx context.Context) error {
	cfg := d.Config.Slack
	if !d.Config.SlackEnabled() {
		return nil
	}
	opts := []slack.Option{}
	if cfg.APIURL != "" {
		opts = append(opts, slack.OptionAPIURL(cfg.APIURL))
	}
	if cfg.AppToken != "" {
		opts = append(opts, slack.OptionAppLevelToken(cfg.AppToken))
	}
	client := slack.New(cfg.BotToken, opts...)
	log := d.Logger.With("component", "slack")

	users := bot.NewUserDirectory(client, d.DB, log, d.Now)
	d.UserLocation = users.Location
	d.Go("slack users", func(ctx context.Context) error { return users.Run(ctx, time.Minute) })

	d.AddSender(casebot.OutSlack, bot.NewSlackSender(client))

	h := bot.NewSlackHandler(bot.SlackConfig{
		Bot:           d.Bot,
		SigningSecret: cfg.SigningSecret,
		Logger:        log,
		OnCommand:     d.Metrics.OnCommand,
		AfterCommand:  d.KickOutbox,
	})
	if cfg.SigningSecret != "" {
		d.Handle("POST /slack/commands", h.Commands())
		d.Handle("POST /slack/interactions", h.Interactions())
	}
	if d.Config.SocketMode() {
		d.Go("slack socket mode", func(ctx context.Context) error {
			return h.RunSocketMode(ctx, client, bot.SocketOptions{})
		})
	}
	// Commands still running (late answers to response_url) finish before
	// the store closes.
	d.Go("slack commands", func(ctx context.Context) error {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer cancel()
		if err := h.Shutdown(shut); err != nil {
			return fmt.Errorf("slack: finish running commands: %w", err)
		}
		return nil
	})
	return nil
}
