package config

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/casebot/casebot"
	"github.com/robfig/cron/v3"
)

var (
	casePrefixRE  = regexp.MustCompile(`^[A-Z][A-Z0-9]{0,9}$`)
	slackUserRE   = regexp.MustCompile(`^[UW][A-Z0-9]{1,20}$`)
	slackCommandR = regexp.MustCompile(`^/[a-z0-9_-]{1,31}$`)
)

// KeySize is the length of the store encryption key (AES-256).
const KeySize = 32

// Validate checks every key and fills the derived fields (Store.Key,
// IMAP.Poll, SMTP.FromAddress, Schedule.Location, DigestSchedule,
// ReminderOffsets, CatchupAge). It returns all problems joined, each naming
// its key, e.g. `schedule.catchup: "12x" is not a duration; ...`.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	duration := func(key, s string) time.Duration {
		d, err := casebot.ParseDuration(s)
		if err != nil {
			bad(key, "%s", casebot.ErrorMessage(err))
		}
		return d
	}

	// [store]
	if strings.TrimSpace(c.Store.Path) == "" && !c.Store.Postgres() {
		bad("store.path", "must not be empty")
	}
	c.validateStore(bad)
	if !casePrefixRE.MatchString(c.Store.CasePrefix) {
		bad("store.case_prefix", "%q must be 1 to 10 capital letters or digits, starting with a letter (e.g. MED)", c.Store.CasePrefix)
	}
	c.Store.Key = nil
	if c.Store.EncryptionKeyFile != "" {
		key, err := ReadKeyFile(c.Store.EncryptionKeyFile)
		if err != nil {
			bad("store.encryption_key_file", "%v", err)
		}
		c.Store.Key = key
	}

	// [http]
	if err := checkHostPort(c.HTTP.Listen, true); err != nil {
		bad("http.listen", "%v", err)
	}

	// [slack]
	s := &c.Slack
	if s.BotToken != "" && !strings.HasPrefix(s.BotToken, "xoxb-") {
		bad("slack.bot_token", "must be a bot token starting with xoxb-")
	}
	if s.AppToken != "" && !strings.HasPrefix(s.AppToken, "xapp-") {
		bad("slack.app_token", "must be an app-level token starting with xapp-")
	}
	if s.BotToken == "" && (s.SigningSecret != "" || s.AppToken != "") {
		bad("slack.bot_token", "required when slack.signing_secret or slack.app_token is set (notices go out as direct messages)")
	}
	if s.BotToken != "" && s.SigningSecret == "" && s.AppToken == "" {
		bad("slack.signing_secret", "required with slack.bot_token unless slack.app_token is set (Socket Mode)")
	}
	if s.APIURL != "" {
		u, err := url.Parse(s.APIURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("slack.api_url", "%q must be an http or https URL", s.APIURL)
		} else if !strings.HasSuffix(s.APIURL, "/") {
			s.APIURL += "/" // slack-go appends method names to it
		}
	}
	if !slackCommandR.MatchString(s.Command) {
		bad("slack.command", "%q must be a slash command such as /case", s.Command)
	}
	seen := map[string]bool{}
	for i, a := range s.Admins {
		if !slackUserRE.MatchString(a) {
			bad(fmt.Sprintf("slack.admins[%d]", i), "%q is not a Slack user ID (like U024BE7LH)", a)
		}
		if seen[a] {
			bad(fmt.Sprintf("slack.admins[%d]", i), "%q is listed twice", a)
		}
		seen[a] = true
	}

	// [imap]
	m := &c.IMAP
	if err := checkTLS(m.TLS); err != nil {
		bad("imap.tls", "%v", err)
	}
	m.Poll = duration("imap.poll_interval", m.PollInterval)
	if m.Poll > 0 && m.Poll < time.Second {
		bad("imap.poll_interval", "%q is shorter than 1s", m.PollInterval)
	}
	if m.Addr != "" {
		if err := checkHostPort(m.Addr, false); err != nil {
			bad("imap.addr", "%v", err)
		} else if m.TLS == "none" && !isLoopback(m.Addr) {
			bad("imap.tls", `"none" is allowed only for a loopback imap.addr (the password would cross the network in clear)`)
		}
		if m.Username == "" {
			bad("imap.username", "required when imap.addr is set")
		}
		if m.Password == "" {
			bad("imap.password", "required when imap.addr is set (or set %s)", EnvIMAPPassword)
		}
		if m.Mailbox == "" {
			bad("imap.mailbox", "required when imap.addr is set")
		}
		if m.ProcessedMailbox != "" && m.ProcessedMailbox == m.Mailbox {
			bad("imap.processed_mailbox", "must differ from imap.mailbox")
		}
	}

	// [smtp]
	o := &c.SMTP
	if err := checkTLS(o.TLS); err != nil {
		bad("smtp.tls", "%v", err)
	}
	o.FromAddress = nil
	if o.From != "" {
		a, err := mail.ParseAddress(o.From)
		switch {
		case err != nil:
			bad("smtp.from", "%q is not an email address: %v", o.From, err)
		case strings.Contains(strings.SplitN(a.Address, "@", 2)[0], "+"):
			bad("smtp.from", "%q must not contain + before the @ (casebot adds +<case token> for replies)", a.Address)
		default:
			o.FromAddress = a
		}
	}
	if o.Addr != "" {
		if err := checkHostPort(o.Addr, false); err != nil {
			bad("smtp.addr", "%v", err)
		} else if o.TLS == "none" && o.Username != "" && !isLoopback(o.Addr) {
			bad("smtp.tls", `"none" with smtp.username is allowed only for a loopback smtp.addr (the password would cross the network in clear)`)
		}
		if o.From == "" {
			bad("smtp.from", "required when smtp.addr is set")
		}
		if o.Username != "" && o.Password == "" {
			bad("smtp.password", "required when smtp.username is set (or set %s)", EnvSMTPPassword)
		}
	}

	// [schedule]
	sc := &c.Schedule
	sc.Location = nil
	if sc.Timezone == "" {
		bad("schedule.timezone", "must not be empty (use UTC or a zone such as Europe/Paris)")
	} else if loc, err := time.LoadLocation(sc.Timezone); err != nil {
		bad("schedule.timezone", "%q is not a time zone (use UTC or a zone such as Europe/Paris)", sc.Timezone)
	} else {
		sc.Location = loc
	}
	sc.DigestSchedule = nil
	if strings.HasPrefix(strings.TrimSpace(sc.Digest), "TZ=") || strings.HasPrefix(strings.TrimSpace(sc.Digest), "CRON_TZ=") {
		bad("schedule.digest", "must not name a zone: the digest runs in each mediator's own zone")
	} else if strings.HasPrefix(strings.TrimSpace(sc.Digest), "@every") {
		bad("schedule.digest", "%q: @every is not allowed; give a time of day such as \"0 8 * * 1-5\"", sc.Digest)
	} else if sched, err := cron.ParseStandard(sc.Digest); err != nil {
		bad("schedule.digest", "%q is not a cron expression (minute hour day month weekday, e.g. \"0 8 * * 1-5\"): %v", sc.Digest, err)
	} else {
		sc.DigestSchedule = sched
	}
	sc.ReminderOffsets = nil
	dup := map[time.Duration]bool{}
	for i, r := range sc.Reminders {
		key := fmt.Sprintf("schedule.reminders[%d]", i)
		d := duration(key, r)
		if d <= 0 {
			continue
		}
		if dup[d] {
			bad(key, "%q repeats an earlier reminder", r)
			continue
		}
		dup[d] = true
		sc.ReminderOffsets = append(sc.ReminderOffsets, d)
	}
	sort.Slice(sc.ReminderOffsets, func(i, j int) bool { return sc.ReminderOffsets[i] > sc.ReminderOffsets[j] })
	sc.CatchupAge = duration("schedule.catchup", sc.Catchup)

	// [mail_limits]
	l := c.MailLimits
	if l.MaxMessageBytes <= 0 {
		bad("mail_limits.max_message_bytes", "%d must be positive", l.MaxMessageBytes)
	}
	if l.MaxAttachmentBytes <= 0 {
		bad("mail_limits.max_attachment_bytes", "%d must be positive", l.MaxAttachmentBytes)
	} else if l.MaxMessageBytes > 0 && l.MaxAttachmentBytes > l.MaxMessageBytes {
		bad("mail_limits.max_attachment_bytes", "%d exceeds mail_limits.max_message_bytes (%d)", l.MaxAttachmentBytes, l.MaxMessageBytes)
	}

	// [records]
	r := c.Records
	if r.RetainDays < 0 {
		bad("records.retain_days", "%d must not be negative (0 keeps closed cases)", r.RetainDays)
	}
	if r.PurgeWarningDays < 0 {
		bad("records.purge_warning_days", "%d must not be negative", r.PurgeWarningDays)
	}
	if r.TemplatesDir != "" {
		if fi, err := os.Stat(r.TemplatesDir); err != nil {
			bad("records.templates_dir", "cannot read %s: %v", r.TemplatesDir, err)
		} else if !fi.IsDir() {
			bad("records.templates_dir", "%s is not a directory", r.TemplatesDir)
		}
	}

	return errors.Join(errs...)
}

// ReadKeyFile reads a store encryption key. The file holds the 32 key bytes
// in one of three forms: exactly 32 raw bytes; 64 hexadecimal digits; or the
// standard base64 of 32 bytes (44 characters). Surrounding whitespace, such as
// a final newline, is ignored in the text forms. Make one with
// `openssl rand -hex 32 > casebot.key && chmod 600 casebot.key`.
func ReadKeyFile(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read key file: %w", err)
	}
	if len(raw) == KeySize {
		return raw, nil
	}
	text := bytes.TrimSpace(raw)
	if len(text) == 2*KeySize {
		if key, err := hex.DecodeString(string(text)); err == nil {
			return key, nil
		}
	}
	if key, err := base64.StdEncoding.DecodeString(string(text)); err == nil && len(key) == KeySize {
		return key, nil
	}
	return nil, fmt.Errorf("key file %s holds %d bytes; want exactly %d raw bytes, %d hex digits or base64 of %d bytes", path, len(raw), KeySize, 2*KeySize, KeySize)
}

func checkTLS(s string) error {
	switch s {
	case "implicit", "starttls", "none":
		return nil
	}
	return fmt.Errorf("%q must be implicit, starttls or none", s)
}

// checkHostPort checks host:port; an empty host is allowed only for a listen
// address (all interfaces).
func checkHostPort(addr string, listen bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	if host == "" && !listen {
		return fmt.Errorf("%q has no host", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || (n == 0 && !listen) {
		return fmt.Errorf("%q has a bad port", addr)
	}
	return nil
}

// isLoopback reports whether host:port names this machine only.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
