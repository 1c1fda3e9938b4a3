package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/bot"
	"github.com/casebot/casebot/bot/slackbot"
)

// The command language is what the Slack transport asks it to be.
var _ slackbot.Language = (*bot.Bot)(nil)

// setupSlack mounts POST /slack/commands and /slack/interactions (when a
// signing secret is set), starts Socket Mode (when an app token is set),
// registers the Slack sender for outbox direct messages, and keeps the user
// directory (time zones, names) fresh. Off when slack.bot_token is empty.
func (d *Daemon) setupSlack(ctx context.Context) error {
	cfg := d.Config.Slack
	if !d.Config.SlackEnabled() {
		return nil
	}
	client := slackbot.NewClient(cfg.BotToken, cfg.AppToken, cfg.APIURL)
	log := d.Logger.With("component", "slack")

	// Requests from other workspaces are refused once the bot's own is
	// known; Slack being unreachable at start-up must not stop the daemon.
	teamCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	team, err := slackbot.TeamID(teamCtx, client)
	cancel()
	if err != nil {
		log.Warn("slack: workspace unknown; requests from any workspace are served", slog.Any("error", err))
	}

	users := slackbot.NewUserDirectory(client, d.DB, log, d.Now)
	d.UserLocation = users.Location
	d.Go("slack users", func(ctx context.Context) error { return users.Run(ctx, time.Minute) })

	d.AddSender(casebot.OutSlack, slackbot.NewSender(client, bot.RenderNotice))

	// Commands and button presses run through d.Command, as the control
	// socket and `casebot do` do: one place counts and logs them.
	h := slackbot.NewHandler(slackbot.Config{
		Run:           d.Command,
		Language:      d.Bot,
		SigningSecret: cfg.SigningSecret,
		TeamID:        team,
		Command:       cfg.Command,
		Logger:        log,
	})
	if cfg.SigningSecret != "" {
		d.Handle("POST /slack/commands", h.Commands())
		d.Handle("POST /slack/interactions", h.Interactions())
	}
	if d.Config.SocketMode() {
		d.Go("slack socket mode", func(ctx context.Context) error {
			return h.RunSocketMode(ctx, client, slackbot.SocketOptions{})
		})
	}
	// Commands still running (late answers to response_url) finish after
	// HTTP has drained and before the store closes.
	d.AfterDrain(func(ctx context.Context) error {
		if err := h.Shutdown(ctx); err != nil {
			return fmt.Errorf("slack: finish running commands: %w", err)
		}
		return nil
	})
	return nil
}
