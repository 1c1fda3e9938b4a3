package main

import (
	"context"
	"log/slog"
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/casebot/casebot"
)

// Metrics are the daemon's Prometheus metrics, in a private registry served
// at GET /metrics. Adapters never import Prometheus: the wiring in this
// package hands them plain callbacks such as m.EmailsIngested.Inc.
type Metrics struct {
	Registry *prometheus.Registry

	// Commands counts commands by label (bot.Bot.Label: the command word)
	// and outcome ("ok" or "refused"), whichever transport they came from.
	Commands *prometheus.CounterVec
	// CommandDuration observes how long commands take, by command word.
	CommandDuration *prometheus.HistogramVec
	// EmailsIngested counts inbound emails that became case notes.
	EmailsIngested prometheus.Counter
	// EmailsQuarantined counts inbound emails put in quarantine.
	EmailsQuarantined prometheus.Counter
	// RemindersSent counts reminders and digests queued for sending.
	RemindersSent prometheus.Counter
	// SlackErrors counts failed Slack API calls.
	SlackErrors prometheus.Counter
	// SMTPErrors counts failed SMTP deliveries.
	SMTPErrors prometheus.Counter
	// Deliveries counts outbox delivery attempts by kind and result.
	Deliveries *prometheus.CounterVec

	logger *slog.Logger
	label  func(text string) string
}

// StoreGauge registers a gauge read from the store on every scrape; a nil
// read reports 0, a failed one NaN (and a warning).
func (m *Metrics) StoreGauge(name, help string, read func(ctx context.Context) (int, error)) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
		if read == nil {
			return 0
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := read(ctx)
		if err != nil {
			m.logger.Warn("metrics: read gauge", slog.String("metric", name), slog.Any("error", err))
			return math.NaN()
		}
		return float64(n)
	}))
}

// commandLabels is what the metrics need of the command table (a
// *bot.Bot): the label of a command text and every label there is.
type commandLabels interface {
	Label(text string) string
	Labels() []string
}

// NewMetrics registers casebot's metrics in a new registry. outboxDepth is
// read on every scrape for casebot_outbox_depth; nil reports 0. Command
// labels come from cmds, the command table, and every command's series is
// shown from the start (at 0).
func NewMetrics(outboxDepth func(ctx context.Context) (int, error), cmds commandLabels, logger *slog.Logger) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "casebot_commands_total",
			Help: "Commands run, by command word and outcome (ok or refused).",
		}, []string{"command", "outcome"}),
		CommandDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "casebot_command_duration_seconds",
			Help:    "Time to run a command, by command word.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"command"}),
		EmailsIngested: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "casebot_emails_ingested_total",
			Help: "Inbound emails that became case notes.",
		}),
		EmailsQuarantined: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "casebot_emails_quarantined_total",
			Help: "Inbound emails put in quarantine.",
		}),
		RemindersSent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "casebot_reminders_sent_total",
			Help: "Reminders and digests queued for sending.",
		}),
		SlackErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "casebot_slack_errors_total",
			Help: "Failed Slack API calls.",
		}),
		SMTPErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "casebot_smtp_errors_total",
			Help: "Failed SMTP deliveries.",
		}),
		Deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "casebot_outbox_deliveries_total",
			Help: "Outbox delivery attempts, by kind (slack, email) and result (sent, failed, dead).",
		}, []string{"kind", "result"}),
	}
	m.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.Commands, m.CommandDuration, m.EmailsIngested, m.EmailsQuarantined,
		m.RemindersSent, m.SlackErrors, m.SMTPErrors, m.Deliveries,
	)
	m.logger = logger
	m.label = cmds.Label
	for _, l := range cmds.Labels() {
		for _, outcome := range []string{"ok", "refused"} {
			m.Commands.WithLabelValues(l, outcome)
		}
		m.CommandDuration.WithLabelValues(l)
	}
	m.StoreGauge("casebot_outbox_depth", "Messages waiting in the outbox (Slack and email).", outboxDepth)
	return m
}

// OnCommand records one command run under its label (the command table's
// name of the command in text), how long it took and whether it was
// refused. The one runner, Daemon.Command, calls it for every transport.
func (m *Metrics) OnCommand(text string, took time.Duration, refused bool) {
	cmd := m.label(text)
	outcome := "ok"
	if refused {
		outcome = "refused"
	}
	m.Commands.WithLabelValues(cmd, outcome).Inc()
	m.CommandDuration.WithLabelValues(cmd).Observe(took.Seconds())
}

// OutboxResult records one outbox delivery attempt: kind is "slack" or
// "email", result "sent", "failed" or "dead". Failures also count in
// casebot_slack_errors_total or casebot_smtp_errors_total. Its signature
// matches outbox.Metrics.
func (m *Metrics) OutboxResult(kind, result string) {
	switch kind {
	case casebot.OutSlack, casebot.OutEmail:
	default:
		kind = "other"
	}
	switch result {
	case "sent":
	case "failed", "dead":
		if kind == casebot.OutSlack {
			m.SlackErrors.Inc()
		} else if kind == casebot.OutEmail {
			m.SMTPErrors.Inc()
		}
	default:
		result = "other"
	}
	m.Deliveries.WithLabelValues(kind, result).Inc()
}
