package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/bot"
	"github.com/casebot/casebot/bot/slackbot"
	"github.com/casebot/casebot/store"
	"github.com/slack-go/slack"
)

// The command language is what the Slack transport asks it to be.
var _ slackbot.Language = (*bot.Bot)(nil)

// The command language derives the Slack forms from its table and files
// what users share in the app's DM.
var (
	_ slackbot.FormLanguage  = (*bot.Bot)(nil)
	_ slackbot.DocumentFiler = (*bot.Bot)(nil)
	_ casebot.DocumentFiler  = (*store.DB)(nil)
	_ slackbot.Deliveries    = (*store.DB)(nil)
)

// setupSlack mounts POST /slack/commands, /slack/interactions and
// /slack/events (when a signing secret is set), starts Socket Mode (when an
// app token is set), registers the Slack senders for outbox direct messages
// and Home refreshes, and keeps the user directory (time zones, names)
// fresh. Off when slack.bot_token is empty.
func (d *Daemon) setupSlack(ctx context.Context) error {
	cfg := d.Config.Slack
	if !d.Config.SlackEnabled() {
		return nil
	}
	client := d.slackClient().client
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

	d.AddSender(casebot.OutSlack, d.slackClient().sender)
	// App Home: published when a user opens it, and republished from the
	// outbox (casebot.OutHome, queued by the store with each case change).
	home := slackbot.NewHomeView(client, d.sched, d.Now, true)
	d.AddSender(casebot.OutHome, home)

	// Commands and button presses run through d.Command, as the control
	// socket and `casebot do` do: one place counts and logs them.
	h := slackbot.NewHandler(slackbot.Config{
		Run:           d.Command,
		Language:      d.Bot,
		SigningSecret: cfg.SigningSecret,
		TeamID:        team,
		Command:       cfg.Command,
		Logger:        log,
		Client:        client,
		Home:          home,
		Forms:         d.Bot,
		Files:         d.Bot,
		MaxFileBytes:  d.Config.MailLimits.MaxAttachmentBytes,
		Deliveries:    d.DB,
	})
	if cfg.SigningSecret != "" {
		d.Handle("POST /slack/commands", h.Commands())
		d.Handle("POST /slack/interactions", h.Interactions())
		d.Handle("POST /slack/events", h.Events())
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

// slackParts are the Slack client and the DM sender that the outbox (for
// notices) and the doc command (for files) share, with its DM cache.
type slackParts struct {
	client *slack.Client
	sender *slackbot.Sender
}

// slackClient returns the daemon's Slack client and DM sender, made on
// first use: the bot is built before the Slack part is set up, and doc
// needs the sender. Call it only when Slack is on.
func (d *Daemon) slackClient() *slackParts {
	if d.slack == nil {
		cfg := d.Config.Slack
		client := slackbot.NewClient(cfg.BotToken, cfg.AppToken, cfg.APIURL)
		d.slack = &slackParts{client: client, sender: slackbot.NewSender(client, bot.RenderNotice)}
	}
	return d.slack
}

// slackFiles returns what delivers the doc command's files to a user's
// Slack DM, nil when Slack is off (doc then says so).
func (d *Daemon) slackFiles() casebot.FileSender {
	if !d.Config.SlackEnabled() {
		return nil
	}
	return d.slackClient().sender
}
