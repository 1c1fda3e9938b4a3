package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot/config"
	"github.com/casebot/casebot/internal/testserver"
	"github.com/casebot/casebot/store"
)

var caseIDRe = regexp.MustCompile(`\b[A-Z][A-Z0-9]*-\d{4}-\d{4,}\b`)

// TestEndToEnd boots the daemon on 127.0.0.1:0 and drives it like an
// operator: health, metrics, do through the control socket, backup while
// serving, and a graceful shutdown.
func TestEndToEnd(t *testing.T) {
	cfgPath, storePath := testConfig(t, "[slack]\nadmins = [\"UADMIN\"]\n")
	rd := startDaemon(t, cfgPath)

	if code, body := get(rd.base + "/healthz"); code != http.StatusOK || body != "ok" {
		t.Fatalf("GET /healthz = %d %q, want 200 \"ok\"", code, body)
	}
	if _, err := os.Stat(storePath + ".sock"); err != nil {
		t.Fatalf("control socket: %v", err)
	}
	if fi, _ := os.Stat(storePath + ".sock"); fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode = %v, want 0600", fi.Mode().Perm())
	}

	// do while serve holds the store: it must go through the socket.
	r := runMain("do", "-config", cfgPath, "-as", "U1", "new", "Fence dispute")
	if r.code != exitOK {
		t.Fatalf("do new: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	id := caseIDRe.FindString(r.stdout)
	if id == "" || !strings.HasPrefix(id, "MED-") {
		t.Fatalf("do new replied %q, want a case ID MED-YYYY-NNNN", r.stdout)
	}
	r = runMain("do", "-config", cfgPath, "-as", "U1", "list")
	if r.code != exitOK || !strings.Contains(r.stdout, id) || !strings.Contains(r.stdout, "Fence dispute") {
		t.Fatalf("do list: exit %d, stdout %q, want %s listed", r.code, r.stdout, id)
	}
	// A refusal exits 1 and reveals nothing.
	r = runMain("do", "-config", cfgPath, "-as", "U2", "show", id)
	if r.code != exitFail {
		t.Errorf("do show as stranger: exit %d, want %d (stdout %q)", r.code, exitFail, r.stdout)
	}
	if strings.Contains(r.stdout, "Fence dispute") {
		t.Errorf("refusal reveals the title: %q", r.stdout)
	}
	// The admin from the config sees it.
	if r = runMain("do", "-config", cfgPath, "-as", "UADMIN", "show", id); r.code != exitOK || !strings.Contains(r.stdout, "Fence dispute") {
		t.Errorf("do show as admin: exit %d, stdout %q", r.code, r.stdout)
	}

	code, metrics := get(rd.base + "/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics = %d", code)
	}
	for _, want := range []string{
		"casebot_outbox_depth ",
		"casebot_outbox_dead 0",
		"casebot_notices_pending 0",
		`casebot_commands_total{command="new",outcome="ok"} 1`,
		`casebot_commands_total{command="show",outcome="refused"} 1`,
		`casebot_command_duration_seconds_count{command="list"} 1`,
		"casebot_emails_ingested_total 0",
		"casebot_emails_quarantined_total 0",
		"casebot_reminders_sent_total 0",
		"casebot_slack_errors_total 0",
		"casebot_smtp_errors_total 0",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// Backup while serving.
	out := filepath.Join(t.TempDir(), "backup.db")
	r = runMain("backup", "-config", cfgPath, out)
	if r.code != exitOK || !strings.Contains(r.stdout, "running daemon") {
		t.Fatalf("backup: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode = %v, want 0600", fi.Mode().Perm())
	}
	assertStoreHasCase(t, out, id, "Fence dispute")

	// Graceful shutdown: Run returns nil, the socket is gone, HTTP is closed.
	if err := rd.stop(t); err != nil {
		t.Fatalf("Run after cancel = %v, want nil", err)
	}
	if _, err := os.Stat(storePath + ".sock"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket after shutdown: %v, want it removed", err)
	}
	if code, _ := get(rd.base + "/healthz"); code != 0 {
		t.Errorf("GET /healthz after shutdown = %d, want connection refused", code)
	}
	// The store was closed: do now works without the daemon.
	if r = runMain("do", "-config", cfgPath, "-as", "U1", "list"); r.code != exitOK || !strings.Contains(r.stdout, id) {
		t.Errorf("do list after shutdown: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// assertStoreHasCase opens the store file at path and checks it holds case id.
func assertStoreHasCase(t *testing.T, path, id, title string) {
	t.Helper()
	db, err := store.Open(context.Background(), path, store.Options{Timeout: time.Second})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer db.Close()
	c, err := db.Case(context.Background(), id)
	if err != nil {
		t.Fatalf("case %s in %s: %v", id, path, err)
	}
	if c.Title != title {
		t.Errorf("case %s title = %q, want %q", id, c.Title, title)
	}
}

func TestDoWithoutDaemon(t *testing.T) {
	cfgPath, storePath := testConfig(t, "")
	r := runMain("do", "-config", cfgPath, "-as", "U01", "new Boundary wall --priority high")
	if r.code != exitOK {
		t.Fatalf("do new: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	id := caseIDRe.FindString(r.stdout)
	if id == "" {
		t.Fatalf("do new replied %q, want a case ID", r.stdout)
	}
	r = runMain("do", "-config", cfgPath, "-as", "U01", "list")
	if r.code != exitOK || !strings.Contains(r.stdout, id) {
		t.Errorf("do list: exit %d, stdout %q", r.code, r.stdout)
	}
	// Every part's commands are there without a daemon too.
	if r = runMain("do", "-config", cfgPath, "-as", "U01", "digest"); r.code != exitOK || strings.Contains(r.stdout, "not configured") {
		t.Errorf("do digest: exit %d, stdout %q, want the digest", r.code, r.stdout)
	}
	// Refusals: an unknown command and an unknown case exit 1.
	for _, text := range []string{"frobnicate", "show MED-2020-9999", "close " + id} {
		if r = runMain("do", "-config", cfgPath, "-as", "U01", text); r.code != exitFail {
			t.Errorf("do %q: exit %d, want %d (stdout %q)", text, r.code, exitFail, r.stdout)
		}
	}
	// Backup without a daemon opens the store read-only.
	out := filepath.Join(t.TempDir(), "copy.db")
	if r = runMain("backup", "-config", cfgPath, out); r.code != exitOK {
		t.Fatalf("backup: exit %d, stderr %q", r.code, r.stderr)
	}
	assertStoreHasCase(t, out, id, "Boundary wall")
	if r = runMain("backup", "-config", cfgPath, storePath); r.code != exitUsage {
		t.Errorf("backup onto the store itself: exit %d, want %d", r.code, exitUsage)
	}
}

// TestDoStoreInUse: another process holds the store and no daemon answers on
// the socket: do and backup fail within 2 s saying the store is in use.
func TestDoStoreInUse(t *testing.T) {
	cfgPath, storePath := testConfig(t, "")
	db, err := store.Open(context.Background(), storePath, store.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, args := range [][]string{
		{"do", "-config", cfgPath, "-as", "U1", "list"},
		{"backup", "-config", cfgPath, filepath.Join(t.TempDir(), "b.db")},
	} {
		r := runMain(args...)
		if r.code != exitFail {
			t.Errorf("%s: exit %d, want %d", args[0], r.code, exitFail)
		}
		if !strings.Contains(r.stderr, "in use") || !strings.Contains(r.stderr, storePath) {
			t.Errorf("%s: stderr %q, want it to say %s is in use", args[0], r.stderr, storePath)
		}
		if r.took >= 2*time.Second {
			t.Errorf("%s took %v, want under 2s", args[0], r.took)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	cfgPath, _ := testConfig(t, "")
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"do", "-config", cfgPath, "list"},
		{"do", "-config", cfgPath, "-as", "U1"},
		{"do", "-nope"},
		{"backup", "-config", cfgPath},
		{"backup", "-config", cfgPath, "a", "b"},
		{"serve", "extra"},
		{"check-config", "extra"},
	} {
		if r := runMain(args...); r.code != exitUsage {
			t.Errorf("casebot %q: exit %d, want %d", args, r.code, exitUsage)
		}
	}
	if r := runMain("version"); r.code != exitOK || !strings.HasPrefix(r.stdout, "casebot ") {
		t.Errorf("version: exit %d, stdout %q", r.code, r.stdout)
	}
}

func TestCheckConfig(t *testing.T) {
	cfgPath, _ := testConfig(t, `
[slack]
signing_secret = "file-signing-s3cr3t"
[imap]
addr = "127.0.0.1:993"
username = "cases"
`)
	t.Setenv(config.EnvSlackBotToken, "xoxb-env-s3cr3t")
	t.Setenv(config.EnvIMAPPassword, "imap-env-s3cr3t")
	r := runMain("check-config", "-config", cfgPath)
	if r.code != exitOK {
		t.Fatalf("check-config: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, want := range []string{"slack:    on", "imap:     on", "smtp:     off", "config OK"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("check-config output lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, secret := range []string{"file-signing-s3cr3t", "xoxb-env-s3cr3t", "imap-env-s3cr3t", "s3cr3t"} {
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("check-config prints secret %q:\n%s", secret, r.stdout)
		}
	}

	bad, _ := testConfig(t, "[schedule]\ncatchup = \"12x\"\n[slack]\nsigning_secert = \"x\"\n")
	r = runMain("check-config", "-config", bad)
	if r.code != exitFail || !strings.Contains(r.stderr, `unknown key "slack.signing_secert"`) {
		t.Errorf("check-config bad: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runMain("check-config", "-config", filepath.Join(t.TempDir(), "missing.toml"))
	if r.code != exitFail {
		t.Errorf("check-config missing file: exit %d, want %d", r.code, exitFail)
	}
}

// TestServeCommand runs `casebot serve` itself with all integrations off and
// checks the start-up log says so once, then stops it like a signal would.
func TestServeCommand(t *testing.T) {
	cfgPath, storePath := testConfig(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr testserver.Buffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve", "-config", cfgPath}, nil, &testserver.Buffer{}, &stderr) }()
	waitFor(t, "serving log line", func() bool { return strings.Contains(stderr.String(), "casebot serving") })

	// do reaches it through the socket.
	if r := runMain("do", "-config", cfgPath, "-as", "U1", "list"); r.code != exitOK {
		t.Errorf("do list against serve: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("serve exit %d, want 0; log:\n%s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
	log := stderr.String()
	for _, want := range []string{`slack="off (slack.bot_token empty)"`, `imap="off (imap.addr empty)"`, `smtp="off (smtp.addr empty)"`, "casebot stopped"} {
		if n := strings.Count(log, want); n != 1 {
			t.Errorf("log has %q %d times, want once:\n%s", want, n, log)
		}
	}
	if _, err := os.Stat(storePath + ".sock"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left behind: %v", err)
	}
}

func TestServeDefaultsWithoutConfig(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	// Defaults listen on 127.0.0.1:8080, which may be taken on a shared
	// machine; load them the way serve does and bind port 0 instead.
	cfg, err := loadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.File != "" || cfg.Store.Path != "casebot.db" || cfg.HTTP.Listen != "127.0.0.1:8080" {
		t.Fatalf("defaults: file %q store %q listen %q", cfg.File, cfg.Store.Path, cfg.HTTP.Listen)
	}
	cfg.HTTP.Listen = "127.0.0.1:0"
	d := NewDaemon(cfg, testLogger(t))
	ctx, cancel := context.WithCancel(context.Background())
	if err := d.Open(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	base := "http://" + d.Addr().String()
	waitFor(t, "healthz", func() bool { c, _ := get(base + "/healthz"); return c == http.StatusOK })
	if r := runMain("do", "-as", "U1", "new", "Lease renewal"); r.code != exitOK || caseIDRe.FindString(r.stdout) == "" {
		t.Errorf("do with defaults: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "casebot.db")); err != nil {
		t.Errorf("default store not created in the working directory: %v", err)
	}
}

// TestStaleSocket: a socket file left by a crashed daemon is replaced; a
// regular file in its place is refused.
func TestStaleSocket(t *testing.T) {
	cfgPath, storePath := testConfig(t, "")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: storePath + ".sock", Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close() // the file stays, nothing answers: like after kill -9
	if _, err := os.Stat(storePath + ".sock"); err != nil {
		t.Fatalf("stale socket not left: %v", err)
	}
	rd := startDaemon(t, cfgPath)
	if r := runMain("do", "-config", cfgPath, "-as", "U1", "list"); r.code != exitOK {
		t.Errorf("do after stale socket: exit %d, stderr %q", r.code, r.stderr)
	}
	if err := rd.stop(t); err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(storePath+".sock", []byte("not a socket"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := NewDaemon(cfg, testLogger(t))
	if err := d.Open(context.Background()); err == nil || !strings.Contains(err.Error(), "not a socket") {
		d.Close()
		t.Fatalf("Open with a regular file at the socket path = %v, want an error", err)
	}
	// Open failed after opening the store: the store must be closed again.
	db, err := store.Open(context.Background(), storePath, store.Options{Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatalf("store still locked after failed Open: %v", err)
	}
	db.Close()
}

func TestCommandText(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"list all"}, "list all"},
		{[]string{"new", "Fence", "dispute"}, "new Fence dispute"},
		{[]string{"session", "MED-2026-0001", "2026-12-08 14:30", "2h", "Opening", "--where", "Room 4"},
			`session MED-2026-0001 "2026-12-08 14:30" 2h Opening --where "Room 4"`},
		{[]string{"new Fence dispute", "--priority", "high"}, "new Fence dispute --priority high"},
		{[]string{"note", "MED-2026-0001", `say "hi" there`}, `note MED-2026-0001 say "hi" there`},
		{nil, ""},
	} {
		if got := commandText(tt.args); got != tt.want {
			t.Errorf("commandText(%q) = %q, want %q", tt.args, got, tt.want)
		}
	}
}
