package config

import (
	"fmt"
	"slices"
	"strings"
)

// Summary describes, one line per part, what the configuration turns on and
// what it leaves off. Secrets are never shown: only whether they are set and
// whether they came from the environment.
func (c *Config) Summary() string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }

	if c.File == "" {
		line("config:   built-in defaults (no config file)")
	} else {
		line("config:   %s", c.File)
	}

	enc := "off (store.encryption_key_file empty)"
	if c.Store.EncryptionKeyFile != "" {
		enc = fmt.Sprintf("on, AES-256-GCM, key from %s", c.Store.EncryptionKeyFile)
	}
	if c.Store.Postgres() {
		line("store:    postgres %s (url %s), leader lease %s, case prefix %s, encryption %s",
			c.Store.Display(), c.secretSource("store.postgres_url"), c.Store.Lease, c.Store.CasePrefix, enc)
	} else {
		line("store:    %s, case prefix %s, encryption %s", c.Store.Path, c.Store.CasePrefix, enc)
	}
	line("http:     %s (GET /healthz, GET /metrics)", c.HTTP.Listen)

	s := c.Slack
	switch {
	case !c.SlackEnabled():
		line("slack:    off (slack.bot_token empty)")
	case c.SocketMode():
		line("slack:    on, Socket Mode; command %s; bot_token %s; app_token %s; signing_secret %s; %d admin(s)",
			s.Command, c.secret("slack.bot_token", s.BotToken), c.secret("slack.app_token", s.AppToken),
			c.secret("slack.signing_secret", s.SigningSecret), len(s.Admins))
	default:
		line("slack:    on, HTTP (POST /slack/commands, /slack/interactions); command %s; bot_token %s; signing_secret %s; %d admin(s)",
			s.Command, c.secret("slack.bot_token", s.BotToken), c.secret("slack.signing_secret", s.SigningSecret), len(s.Admins))
	}
	if c.SlackEnabled() && s.APIURL != "" {
		line("          Web API at %s", s.APIURL)
	}

	m := c.IMAP
	if !c.IMAPEnabled() {
		line("imap:     off (imap.addr empty): no mail intake")
	} else {
		moved := "left in place"
		if m.ProcessedMailbox != "" {
			moved = "moved to " + m.ProcessedMailbox
		}
		line("imap:     on, %s tls=%s user %s password %s; mailbox %s, ingested mail %s; poll every %s",
			m.Addr, m.TLS, m.Username, c.secret("imap.password", m.Password), m.Mailbox, moved, m.Poll)
	}

	o := c.SMTP
	if !c.SMTPEnabled() {
		line("smtp:     off (smtp.addr empty): no outbound mail")
	} else {
		auth := "no auth"
		if o.Username != "" {
			auth = fmt.Sprintf("user %s password %s", o.Username, c.secret("smtp.password", o.Password))
		}
		line("smtp:     on, %s tls=%s %s; from %s", o.Addr, o.TLS, auth, o.From)
	}

	sc := c.Schedule
	line("schedule: zone %s; digest %q; reminders %s before; catch up %s",
		sc.Timezone, sc.Digest, strings.Join(sc.Reminders, ", "), sc.Catchup)
	line("mail:     messages up to %d bytes, attachments up to %d bytes",
		c.MailLimits.MaxMessageBytes, c.MailLimits.MaxAttachmentBytes)
	if c.Records.RetainDays > 0 {
		line("records:  closed cases purged %d days after closing; admins warned %d days before",
			c.Records.RetainDays, c.Records.PurgeWarningDays)
	} else {
		line("records:  off (records.retain_days = 0): closed cases are kept until an admin purges them")
	}
	return b.String()
}

// secretSource says where a set value came from.
func (c *Config) secretSource(key string) string {
	if slices.Contains(c.FromEnv, key) {
		return "from environment"
	}
	return "from file"
}

// secret says whether a secret is set and where from, never its value.
func (c *Config) secret(key, v string) string {
	switch {
	case v == "":
		return "unset"
	case slices.Contains(c.FromEnv, key):
		return "set (from environment)"
	default:
		return "set (from file)"
	}
}
