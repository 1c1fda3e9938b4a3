// Package config reads casebot's configuration: one TOML file (SPEC §3) plus
// secrets from the environment, validated once at start-up. An unknown key, a
// bad duration, cron expression, zone or address, or an unreadable key file is
// an error that names the key; nothing falls back to a silent default.
package config

import (
	"errors"
	"fmt"
	"net/mail"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/robfig/cron/v3"
)

// Environment variables that carry secrets. A non-empty value overrides the
// file's value for the same key.
const (
	EnvSlackSigningSecret = "CASEBOT_SLACK_SIGNING_SECRET"
	EnvSlackBotToken      = "CASEBOT_SLACK_BOT_TOKEN"
	EnvSlackAppToken      = "CASEBOT_SLACK_APP_TOKEN"
	EnvIMAPPassword       = "CASEBOT_IMAP_PASSWORD"
	EnvSMTPPassword       = "CASEBOT_SMTP_PASSWORD"
	EnvPostgresURL        = "CASEBOT_POSTGRES_URL"
)

// DefaultFile is the config file used when no -config flag is given and the
// file exists in the working directory.
const DefaultFile = "casebot.toml"

// Config is casebot's configuration, section by section as in SPEC §3.
// Fields tagged toml:"-" are derived by Validate from the raw values.
type Config struct {
	Store      Store      `toml:"store"`
	HTTP       HTTP       `toml:"http"`
	Slack      Slack      `toml:"slack"`
	IMAP       IMAP       `toml:"imap"`
	SMTP       SMTP       `toml:"smtp"`
	Schedule   Schedule   `toml:"schedule"`
	MailLimits MailLimits `toml:"mail_limits"`
	Records    Records    `toml:"records"`

	// File is the file the config was read from; "" for built-in defaults.
	File string `toml:"-"`
	// FromEnv lists the keys whose value came from the environment.
	FromEnv []string `toml:"-"`
}

// Store is the [store] section.
type Store struct {
	// Backend is "bolt" (one embedded file at Path) or "postgres" (a
	// database at PostgresURL that several instances may share, SPEC §11).
	Backend     string `toml:"backend"`
	Path        string `toml:"path"`
	PostgresURL string `toml:"postgres_url"`
	// Lease is how long a leader holds its lease without renewing it
	// (postgres only).
	Lease             string `toml:"lease"`
	CasePrefix        string `toml:"case_prefix"`
	EncryptionKeyFile string `toml:"encryption_key_file"`

	// Key is the 32-byte key read from EncryptionKeyFile; nil when unset.
	Key []byte `toml:"-"`
	// LeaseDuration is Lease parsed.
	LeaseDuration time.Duration `toml:"-"`
}

// HTTP is the [http] section.
type HTTP struct {
	Listen string `toml:"listen"`
}

// Slack is the [slack] section.
type Slack struct {
	SigningSecret string   `toml:"signing_secret"`
	BotToken      string   `toml:"bot_token"`
	AppToken      string   `toml:"app_token"`
	APIURL        string   `toml:"api_url"`
	Command       string   `toml:"command"`
	Admins        []string `toml:"admins"`
}

// IMAP is the [imap] section.
type IMAP struct {
	Addr             string `toml:"addr"`
	TLS              string `toml:"tls"`
	Username         string `toml:"username"`
	Password         string `toml:"password"`
	Mailbox          string `toml:"mailbox"`
	ProcessedMailbox string `toml:"processed_mailbox"`
	PollInterval     string `toml:"poll_interval"`

	// Poll is PollInterval parsed.
	Poll time.Duration `toml:"-"`
}

// SMTP is the [smtp] section.
type SMTP struct {
	Addr     string `toml:"addr"`
	TLS      string `toml:"tls"`
	Username string `toml:"username"`
	Password string `toml:"password"`
	From     string `toml:"from"`

	// FromAddress is From parsed; nil when From is empty.
	FromAddress *mail.Address `toml:"-"`
}

// Schedule is the [schedule] section.
type Schedule struct {
	Timezone  string   `toml:"timezone"`
	Digest    string   `toml:"digest"`
	Reminders []string `toml:"reminders"`
	Catchup   string   `toml:"catchup"`

	// Location is Timezone loaded.
	Location *time.Location `toml:"-"`
	// DigestSchedule is Digest parsed. It carries no zone of its own, so
	// DigestSchedule.Next(t) runs in t's zone: pass now.In(mediatorZone).
	DigestSchedule cron.Schedule `toml:"-"`
	// ReminderOffsets are Reminders parsed, longest first.
	ReminderOffsets []time.Duration `toml:"-"`
	// CatchupAge is Catchup parsed.
	CatchupAge time.Duration `toml:"-"`
}

// MailLimits is the [mail_limits] section.
type MailLimits struct {
	MaxMessageBytes    int64 `toml:"max_message_bytes"`
	MaxAttachmentBytes int64 `toml:"max_attachment_bytes"`
}

// Records is the [records] section: how long a closed case's content is
// kept (SPEC §10).
type Records struct {
	// RetainDays is how many days after closing a case's content is purged
	// by itself; 0 keeps it until an admin purges it.
	RetainDays int `toml:"retain_days"`
	// PurgeWarningDays is how close to its purge a case must be for the
	// admins' digest to list it.
	PurgeWarningDays int `toml:"purge_warning_days"`
	// TemplatesDir holds extra agreement templates (*.md); "" for the
	// built-ins only (which always exist). Each is checked at start-up.
	TemplatesDir string `toml:"templates_dir"`
}

// Default returns the built-in configuration (SPEC §2): store ./casebot.db,
// HTTP on 127.0.0.1:8080, Slack, IMAP and SMTP off. It is validated.
func Default() *Config {
	c := defaults()
	if err := c.Validate(); err != nil {
		panic("config: built-in defaults do not validate: " + err.Error())
	}
	return c
}

// defaults returns the unvalidated defaults, the base a file is decoded onto.
func defaults() *Config {
	return &Config{
		Store: Store{Backend: BackendBolt, Path: "casebot.db", Lease: "15s", CasePrefix: "MED"},
		HTTP:  HTTP{Listen: "127.0.0.1:8080"},
		Slack: Slack{Command: "/case"},
		IMAP:  IMAP{TLS: "implicit", Mailbox: "INBOX", PollInterval: "60s"},
		SMTP:  SMTP{TLS: "starttls", From: "Mediation Office <cases@practice.example>"},
		Schedule: Schedule{
			Timezone:  "UTC",
			Digest:    "0 8 * * 1-5",
			Reminders: []string{"7d", "1d", "2h"},
			Catchup:   "12h",
		},
		MailLimits: MailLimits{MaxMessageBytes: 25 << 20, MaxAttachmentBytes: 10 << 20},
		Records:    Records{PurgeWarningDays: 30},
	}
}

// Load reads the TOML file at path over the defaults (path "" means defaults
// only), applies secrets from the environment through getenv (nil means
// os.Getenv) and validates the result. The error names the offending key, e.g.
// `config: unknown key "slack.signing_secert"`.
func Load(path string, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	c := defaults()
	if path != "" {
		md, err := toml.DecodeFile(path, c)
		if err != nil {
			return nil, fmt.Errorf("config: %s: %w", path, err)
		}
		if err := unknownKeys(md); err != nil {
			return nil, fmt.Errorf("config: %s: %w", path, err)
		}
		c.File = path
	}
	c.applyEnv(getenv)
	if err := c.Validate(); err != nil {
		if path != "" {
			return nil, fmt.Errorf("config: %s: %w", path, err)
		}
		return nil, fmt.Errorf("config: %w", err)
	}
	return c, nil
}

// unknownKeys returns an error naming every key in the file that maps to no
// field, most specific keys only (a misspelt table reports its keys).
func unknownKeys(md toml.MetaData) error {
	undecoded := md.Undecoded()
	if len(undecoded) == 0 {
		return nil
	}
	var names []string
	for _, k := range undecoded {
		names = append(names, k.String())
	}
	sort.Strings(names)
	var errs []error
	for i, n := range names {
		// "slak" is implied by "slak.x": name the leaves.
		if i+1 < len(names) && strings.HasPrefix(names[i+1], n+".") {
			continue
		}
		errs = append(errs, fmt.Errorf("unknown key %q", n))
	}
	return errors.Join(errs...)
}

// applyEnv overrides secrets with non-empty environment values.
func (c *Config) applyEnv(getenv func(string) string) {
	for _, s := range []struct {
		env, key string
		dst      *string
	}{
		{EnvSlackSigningSecret, "slack.signing_secret", &c.Slack.SigningSecret},
		{EnvSlackBotToken, "slack.bot_token", &c.Slack.BotToken},
		{EnvSlackAppToken, "slack.app_token", &c.Slack.AppToken},
		{EnvIMAPPassword, "imap.password", &c.IMAP.Password},
		{EnvSMTPPassword, "smtp.password", &c.SMTP.Password},
		{EnvPostgresURL, "store.postgres_url", &c.Store.PostgresURL},
	} {
		if v := getenv(s.env); v != "" {
			*s.dst = v
			c.FromEnv = append(c.FromEnv, s.key)
		}
	}
}

// SlackEnabled reports whether Slack is configured (a bot token is set).
func (c *Config) SlackEnabled() bool { return c.Slack.BotToken != "" }

// SocketMode reports whether Slack events arrive over Socket Mode (an app
// token is set) rather than HTTP.
func (c *Config) SocketMode() bool { return c.Slack.AppToken != "" }

// IMAPEnabled reports whether mail intake is on (imap.addr is set).
func (c *Config) IMAPEnabled() bool { return c.IMAP.Addr != "" }

// SMTPEnabled reports whether outbound mail is on (smtp.addr is set).
func (c *Config) SMTPEnabled() bool { return c.SMTP.Addr != "" }
