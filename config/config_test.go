package config

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // zone tests must not depend on the machine's tzdata
)

// writeFile writes content to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func noEnv(string) string { return "" }

func TestDefaults(t *testing.T) {
	c, err := Load("", noEnv)
	if err != nil {
		t.Fatalf("Load(\"\"): %v", err)
	}
	if got, want := c.Store.Path, "casebot.db"; got != want {
		t.Errorf("store.path = %q, want %q", got, want)
	}
	if got, want := c.HTTP.Listen, "127.0.0.1:8080"; got != want {
		t.Errorf("http.listen = %q, want %q", got, want)
	}
	if c.SlackEnabled() || c.IMAPEnabled() || c.SMTPEnabled() {
		t.Errorf("defaults enable slack=%v imap=%v smtp=%v, want all off", c.SlackEnabled(), c.IMAPEnabled(), c.SMTPEnabled())
	}
	want := []time.Duration{7 * 24 * time.Hour, 24 * time.Hour, 2 * time.Hour}
	if len(c.Schedule.ReminderOffsets) != len(want) {
		t.Fatalf("reminders = %v, want %v", c.Schedule.ReminderOffsets, want)
	}
	for i := range want {
		if c.Schedule.ReminderOffsets[i] != want[i] {
			t.Errorf("reminders[%d] = %v, want %v", i, c.Schedule.ReminderOffsets[i], want[i])
		}
	}
	if c.Schedule.CatchupAge != 12*time.Hour || c.IMAP.Poll != time.Minute || c.Schedule.Location != time.UTC {
		t.Errorf("catchup=%v poll=%v zone=%v", c.Schedule.CatchupAge, c.IMAP.Poll, c.Schedule.Location)
	}
	if c.Schedule.DigestSchedule == nil {
		t.Fatal("digest schedule not parsed")
	}
	// Monday 2026-03-02 07:00 in Paris: the next digest is 08:00 Paris time.
	paris, _ := time.LoadLocation("Europe/Paris")
	next := c.Schedule.DigestSchedule.Next(time.Date(2026, 3, 2, 7, 0, 0, 0, paris))
	if want := time.Date(2026, 3, 2, 8, 0, 0, 0, paris); !next.Equal(want) {
		t.Errorf("digest next = %v, want %v", next, want)
	}
	if c.Summary() != Default().Summary() {
		t.Error("Load(\"\") differs from Default()")
	}
}

func TestFullFile(t *testing.T) {
	dir := t.TempDir()
	keyFile := writeFile(t, dir, "key", strings.Repeat("ab", 32)+"\n")
	p := writeFile(t, dir, "casebot.toml", `
[store]
path = "/var/lib/casebot/casebot.db"
case_prefix = "ADR"
encryption_key_file = "`+keyFile+`"
[http]
listen = ":9090"
[slack]
signing_secret = "file-signing"
bot_token = "xoxb-file"
api_url = "http://127.0.0.1:1234/api"
command = "/mediate"
admins = ["U01", "W02"]
[imap]
addr = "imap.example.org:993"
username = "cases"
password = "file-imap"
processed_mailbox = "Archive"
poll_interval = "5m"
[smtp]
addr = "smtp.example.org:587"
username = "cases"
password = "file-smtp"
from = "Office <cases@example.org>"
[schedule]
timezone = "America/New_York"
digest = "30 7 * * *"
reminders = ["2h", "3d"]
catchup = "1d"
[mail_limits]
max_message_bytes = 1000
max_attachment_bytes = 500
`)
	c, err := Load(p, noEnv)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(c.Store.Key) != KeySize || c.Store.Key[0] != 0xab {
		t.Errorf("key = %x", c.Store.Key)
	}
	if !c.SlackEnabled() || c.SocketMode() || !c.IMAPEnabled() || !c.SMTPEnabled() {
		t.Errorf("slack=%v socket=%v imap=%v smtp=%v", c.SlackEnabled(), c.SocketMode(), c.IMAPEnabled(), c.SMTPEnabled())
	}
	if got, want := c.Slack.APIURL, "http://127.0.0.1:1234/api/"; got != want {
		t.Errorf("api_url = %q, want %q", got, want)
	}
	if got := c.Schedule.ReminderOffsets; len(got) != 2 || got[0] != 72*time.Hour || got[1] != 2*time.Hour {
		t.Errorf("reminders = %v, want [72h 2h] (longest first)", got)
	}
	if c.Schedule.Location.String() != "America/New_York" || c.IMAP.Poll != 5*time.Minute || c.Schedule.CatchupAge != 24*time.Hour {
		t.Errorf("zone=%v poll=%v catchup=%v", c.Schedule.Location, c.IMAP.Poll, c.Schedule.CatchupAge)
	}
	if c.SMTP.FromAddress == nil || c.SMTP.FromAddress.Address != "cases@example.org" {
		t.Errorf("from = %v", c.SMTP.FromAddress)
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	dir := t.TempDir()
	shortKey := writeFile(t, dir, "short.key", "0123456789abcdef\n")
	unreadable := filepath.Join(dir, "missing.key")
	tests := []struct {
		name string
		toml string
		want string
	}{
		{"unknown key", "[slack]\nsigning_secert = \"x\"", `unknown key "slack.signing_secert"`},
		{"unknown table", "[slak]\nbot_token = \"x\"", `unknown key "slak.bot_token"`},
		{"unknown top key", "verbose = true", `unknown key "verbose"`},
		{"wrong type", "[imap]\npoll_interval = 60", `imap.poll_interval`},
		{"bad poll interval", "[imap]\npoll_interval = \"60x\"", `imap.poll_interval: "60x" is not a duration`},
		{"zero catchup", "[schedule]\ncatchup = \"0s\"", `schedule.catchup: "0s" is not a positive duration`},
		{"bad catchup", "[schedule]\ncatchup = \"soon\"", `schedule.catchup:`},
		{"bad reminder", "[schedule]\nreminders = [\"7d\", \"2 hours\"]", `schedule.reminders[1]: "2 hours" is not a duration`},
		{"duplicate reminder", "[schedule]\nreminders = [\"1d\", \"24h\"]", `schedule.reminders[1]: "24h" repeats`},
		{"bad cron", "[schedule]\ndigest = \"0 25 * * *\"", `schedule.digest: "0 25 * * *" is not a cron expression`},
		{"cron with zone", "[schedule]\ndigest = \"CRON_TZ=UTC 0 8 * * *\"", `schedule.digest: must not name a zone`},
		{"bad zone", "[schedule]\ntimezone = \"Mars/Olympus\"", `schedule.timezone: "Mars/Olympus" is not a time zone`},
		{"unreadable key file", "[store]\nencryption_key_file = \"" + unreadable + "\"", `store.encryption_key_file: cannot read key file`},
		{"short key file", "[store]\nencryption_key_file = \"" + shortKey + "\"", `store.encryption_key_file: key file ` + shortKey + ` holds 17 bytes`},
		{"bad case prefix", "[store]\ncase_prefix = \"med\"", `store.case_prefix: "med"`},
		{"long case prefix", "[store]\ncase_prefix = \"ABCDEFGHIJK\"", `store.case_prefix:`},
		{"empty store path", "[store]\npath = \"\"", `store.path: must not be empty`},
		{"bad listen", "[http]\nlisten = \"8080\"", `http.listen: "8080" is not host:port`},
		{"bad listen port", "[http]\nlisten = \"127.0.0.1:http\"", `http.listen: "127.0.0.1:http" has a bad port`},
		{"imap tls value", "[imap]\ntls = \"ssl\"", `imap.tls: "ssl" must be implicit, starttls or none`},
		{"smtp tls value", "[smtp]\ntls = \"yes\"", `smtp.tls: "yes" must be implicit, starttls or none`},
		{"imap tls none remote", "[imap]\naddr = \"mail.example.org:143\"\ntls = \"none\"\nusername = \"u\"\npassword = \"p\"", `imap.tls: "none" is allowed only for a loopback`},
		{"imap without user", "[imap]\naddr = \"mail.example.org:993\"\npassword = \"p\"", `imap.username: required`},
		{"imap without password", "[imap]\naddr = \"mail.example.org:993\"\nusername = \"u\"", `imap.password: required`},
		{"imap same mailboxes", "[imap]\naddr = \"127.0.0.1:993\"\nusername = \"u\"\npassword = \"p\"\nprocessed_mailbox = \"INBOX\"", `imap.processed_mailbox: must differ`},
		{"imap addr without port", "[imap]\naddr = \"mail.example.org\"\nusername = \"u\"\npassword = \"p\"", `imap.addr: "mail.example.org" is not host:port`},
		{"smtp bad from", "[smtp]\nfrom = \"not an address\"", `smtp.from: "not an address" is not an email address`},
		{"smtp plus from", "[smtp]\nfrom = \"cases+x@example.org\"", `smtp.from: "cases+x@example.org" must not contain +`},
		{"smtp without from", "[smtp]\naddr = \"smtp.example.org:587\"\nfrom = \"\"", `smtp.from: required`},
		{"smtp user without password", "[smtp]\naddr = \"smtp.example.org:587\"\nusername = \"u\"", `smtp.password: required`},
		{"smtp none remote with auth", "[smtp]\naddr = \"smtp.example.org:25\"\ntls = \"none\"\nusername = \"u\"\npassword = \"p\"", `smtp.tls: "none" with smtp.username`},
		{"bot token alone", "[slack]\nbot_token = \"xoxb-1\"", `slack.signing_secret: required with slack.bot_token`},
		{"secret without bot token", "[slack]\nsigning_secret = \"s\"", `slack.bot_token: required when`},
		{"swapped tokens", "[slack]\nbot_token = \"xapp-1\"\nsigning_secret = \"s\"", `slack.bot_token: must be a bot token starting with xoxb-`},
		{"bad app token", "[slack]\nbot_token = \"xoxb-1\"\napp_token = \"xoxb-2\"", `slack.app_token: must be an app-level token`},
		{"bad api url", "[slack]\napi_url = \"slack.internal\"", `slack.api_url: "slack.internal" must be an http or https URL`},
		{"bad command", "[slack]\ncommand = \"case\"", `slack.command: "case" must be a slash command`},
		{"bad admin", "[slack]\nadmins = [\"U01\", \"alice\"]", `slack.admins[1]: "alice" is not a Slack user ID`},
		{"zero message limit", "[mail_limits]\nmax_message_bytes = 0", `mail_limits.max_message_bytes: 0 must be positive`},
		{"negative attachment limit", "[mail_limits]\nmax_attachment_bytes = -1", `mail_limits.max_attachment_bytes: -1 must be positive`},
		{"attachment over message", "[mail_limits]\nmax_message_bytes = 10\nmax_attachment_bytes = 11", `mail_limits.max_attachment_bytes: 11 exceeds`},
		{"negative retention", "[records]\nretain_days = -1", `records.retain_days: -1 must not be negative`},
		{"negative purge warning", "[records]\npurge_warning_days = -5", `records.purge_warning_days: -5 must not be negative`},
		{"missing templates dir", "[records]\ntemplates_dir = \"/nonexistent/templates\"", `records.templates_dir: cannot read /nonexistent/templates`},
		{"toml syntax", "[store\npath = 1", `toml:`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), "casebot.toml", tt.toml)
			_, err := Load(p, noEnv)
			if err == nil {
				t.Fatalf("Load succeeded, want error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "config: "+p+": ") {
				t.Errorf("error = %q, want it to start with config: FILE:", err)
			}
		})
	}
}

func TestMissingFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope.toml")
	if _, err := Load(p, noEnv); err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("Load(missing) = %v, want an error naming the file", err)
	}
}

func TestSeveralErrorsAllReported(t *testing.T) {
	p := writeFile(t, t.TempDir(), "casebot.toml", "[schedule]\ncatchup = \"x\"\ntimezone = \"Nowhere/Land\"")
	_, err := Load(p, noEnv)
	if err == nil {
		t.Fatal("Load succeeded")
	}
	for _, want := range []string{"schedule.catchup", "schedule.timezone"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestKeyFileForms(t *testing.T) {
	dir := t.TempDir()
	want := bytes.Repeat([]byte{0x5a, 0x01}, 16)
	tests := []struct {
		name    string
		content []byte
	}{
		{"raw", want},
		{"hex", []byte(hex.EncodeToString(want) + "\n")},
		{"base64", []byte(base64.StdEncoding.EncodeToString(want) + "\r\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.name)
			if err := os.WriteFile(p, tt.content, 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := ReadKeyFile(p)
			if err != nil {
				t.Fatalf("ReadKeyFile: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("key = %x, want %x", got, want)
			}
		})
	}
	for _, bad := range [][]byte{
		bytes.Repeat([]byte{1}, 31),
		bytes.Repeat([]byte{1}, 33),
		[]byte(strings.Repeat("zz", 32)),
		[]byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 16))),
	} {
		p := filepath.Join(dir, "bad")
		if err := os.WriteFile(p, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadKeyFile(p); err == nil {
			t.Errorf("ReadKeyFile(%q) succeeded, want error", bad)
		}
	}
}

func TestEnvOverridesFile(t *testing.T) {
	p := writeFile(t, t.TempDir(), "casebot.toml", `
[slack]
signing_secret = "file-secret"
bot_token = "xoxb-file"
[imap]
addr = "127.0.0.1:993"
username = "u"
password = "file-imap"
[smtp]
addr = "127.0.0.1:25"
username = "u"
`)
	env := map[string]string{
		EnvSlackSigningSecret: "env-secret",
		EnvSlackBotToken:      "xoxb-env",
		EnvSlackAppToken:      "xapp-env",
		EnvIMAPPassword:       "env-imap",
		EnvSMTPPassword:       "env-smtp",
	}
	c, err := Load(p, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	for _, tt := range []struct{ key, got, want string }{
		{"slack.signing_secret", c.Slack.SigningSecret, "env-secret"},
		{"slack.bot_token", c.Slack.BotToken, "xoxb-env"},
		{"slack.app_token", c.Slack.AppToken, "xapp-env"},
		{"imap.password", c.IMAP.Password, "env-imap"},
		{"smtp.password", c.SMTP.Password, "env-smtp"},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.key, tt.got, tt.want)
		}
	}
	if !c.SocketMode() {
		t.Error("app token from env did not turn on Socket Mode")
	}

	// An empty variable leaves the file's value alone.
	c, err = Load(p, func(k string) string {
		if k == EnvSMTPPassword {
			return "env-smtp"
		}
		return ""
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.IMAP.Password != "file-imap" || c.Slack.SigningSecret != "file-secret" {
		t.Errorf("file secrets lost: imap=%q slack=%q", c.IMAP.Password, c.Slack.SigningSecret)
	}
}

func TestSummaryMasksSecrets(t *testing.T) {
	p := writeFile(t, t.TempDir(), "casebot.toml", `
[slack]
signing_secret = "s3cr3t-signing-FILE"
[imap]
addr = "127.0.0.1:993"
username = "cases"
password = "s3cr3t-imap-FILE"
[smtp]
addr = "127.0.0.1:25"
username = "cases"
`)
	env := map[string]string{
		EnvSlackBotToken: "xoxb-s3cr3t-bot-ENV",
		EnvSlackAppToken: "xapp-s3cr3t-app-ENV",
		EnvSMTPPassword:  "s3cr3t-smtp-ENV",
	}
	c, err := Load(p, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	sum := c.Summary()
	for _, secret := range []string{"s3cr3t-signing-FILE", "s3cr3t-imap-FILE", "xoxb-s3cr3t-bot-ENV", "xapp-s3cr3t-app-ENV", "s3cr3t-smtp-ENV", "s3cr3t"} {
		if strings.Contains(sum, secret) {
			t.Errorf("summary shows secret %q:\n%s", secret, sum)
		}
	}
	for _, want := range []string{"slack:    on, Socket Mode", "imap:     on, 127.0.0.1:993", "smtp:     on", "set (from environment)", "set (from file)"} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary lacks %q:\n%s", want, sum)
		}
	}
	off := Default().Summary()
	for _, want := range []string{"slack:    off", "imap:     off", "smtp:     off", "built-in defaults"} {
		if !strings.Contains(off, want) {
			t.Errorf("default summary lacks %q:\n%s", want, off)
		}
	}
}
