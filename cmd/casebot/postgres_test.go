package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/config"
)

// pgTestDatabase makes a database of its own for the test on the cluster
// of CASEBOT_POSTGRES_URL, dropped after it, and returns its URL; it skips
// without CASEBOT_POSTGRES_URL.
func pgTestDatabase(t *testing.T) *url.URL {
	t.Helper()
	base := os.Getenv(config.EnvPostgresURL)
	if base == "" {
		t.Skip(config.EnvPostgresURL + " not set")
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "casebot_daemon_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c, err := pgx.Connect(ctx, base); err == nil {
			_, _ = c.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)")
			_ = c.Close(ctx)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u
}

// tcpProxy forwards a loopback port to the database while up; down closes
// the port and cuts every connection, as a database going away does.
type tcpProxy struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        map[net.Conn]bool
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{addr: ln.Addr().String(), target: target, conns: map[net.Conn]bool{}}
	_ = ln.Close() // down until up
	t.Cleanup(p.down)
	return p
}

func (p *tcpProxy) up(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[s] = true, true
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); _ = s.Close() }()
			go func() { _, _ = io.Copy(c, s); _ = c.Close() }()
		}
	}()
}

func (p *tcpProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
}

// syncBuffer is a log sink safe for concurrent writes and reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A database that is down when serve starts: HTTP answers, /healthz says
// 503 and why, the log names the host and never the password; once the
// database is up the daemon starts and leads. When the database then goes
// away, commands answer that the store is unavailable and the leader steps
// down; when it is back, the instance leads again.
func TestPostgresDownAtStartAndWhileRunning(t *testing.T) {
	db := pgTestDatabase(t)
	proxy := newTCPProxy(t, db.Host)
	const password = "pw-s3cret-never-logged" // trust auth ignores it
	u := *db
	u.Host = proxy.addr
	u.User = url.UserPassword("postgres", password)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpAddr := ln.Addr().String()
	_ = ln.Close()
	cfgPath, _ := testConfig(t, "")
	cfgText := fmt.Sprintf("[store]\nbackend = \"postgres\"\npostgres_url = %q\nlease = \"3s\"\n[http]\nlisten = %q\n", u.String(), httpAddr)
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	d := NewDaemon(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", logs.String())
		}
	}()
	base := "http://" + httpAddr

	waitFor(t, "healthz 503 while the database is down", func() bool {
		code, body := get(base + "/healthz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "store unavailable")
	})
	_, body := get(base + "/healthz")
	waitFor(t, "a log line saying why", func() bool { return strings.Contains(logs.String(), "store unavailable; retrying") })
	for what, s := range map[string]string{"healthz": body, "log": logs.String()} {
		if strings.Contains(s, password) {
			t.Errorf("%s shows the password: %s", what, s)
		}
		if !strings.Contains(s, proxy.addr) {
			t.Errorf("%s does not name the database's host %s: %s", what, proxy.addr, s)
		}
	}

	proxy.up(t)
	waitFor(t, "healthz 200 once the database is up", func() bool { code, _ := get(base + "/healthz"); return code == http.StatusOK })
	waitFor(t, "leading", d.Leading)
	if rep := d.Command(ctx, "U01", "new Reachable case"); rep.Err != nil {
		t.Fatalf("new: %s", rep.Text)
	}

	proxy.down()
	rep := d.Command(ctx, "U01", "list all")
	if casebot.ErrorCode(rep.Err) != casebot.EUNAVAIL || !strings.Contains(rep.Text, "cannot be reached") {
		t.Errorf("list with the database gone: code %q, text %q; want unavailable", casebot.ErrorCode(rep.Err), rep.Text)
	}
	waitFor(t, "stepping down", func() bool { return !d.Leading() })
	if strings.Contains(logs.String(), password) {
		t.Error("the log shows the password")
	}

	proxy.up(t)
	waitFor(t, "leading again", d.Leading)
	if rep := d.Command(ctx, "U01", "list all"); rep.Err != nil || !strings.Contains(rep.Text, "Reachable case") {
		t.Errorf("list after the database came back: %q (%v)", rep.Text, rep.Err)
	}
}

// Two instances on one database: exactly one leads (casebot_leader 1, the
// other 0), and when the leader stops (SIGTERM) it releases the lease: the
// other takes over well before the lease would have run out.
func TestPostgresTwoInstancesHandOver(t *testing.T) {
	db := pgTestDatabase(t)
	start := func() *runningDaemon {
		cfgPath, _ := testConfig(t, "")
		cfgText := fmt.Sprintf("[store]\nbackend = \"postgres\"\npostgres_url = %q\nlease = \"10s\"\n[http]\nlisten = \"127.0.0.1:0\"\n", db.String())
		if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
			t.Fatal(err)
		}
		return startDaemon(t, cfgPath)
	}
	a, b := start(), start()
	waitFor(t, "one leader", func() bool { return a.d.Leading() != b.d.Leading() })
	lead, other := a, b
	if b.d.Leading() {
		lead, other = b, a
	}
	for rd, want := range map[*runningDaemon]string{lead: "casebot_leader 1", other: "casebot_leader 0"} {
		if _, body := get(rd.base + "/metrics"); !strings.Contains(body, "\n"+want+"\n") {
			t.Errorf("%s: %q missing from /metrics", rd.base, want)
		}
	}
	stopped := time.Now()
	if err := lead.stop(t); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("stop: %v", err)
	}
	waitFor(t, "the other takes over", other.d.Leading)
	took := time.Since(stopped)
	t.Logf("hand-over after a clean stop took %s (lease 10s)", took)
	if took >= 10*time.Second {
		t.Errorf("hand-over took %s: the lease was not released", took)
	}
}

// TestPostgresFailingWorkerEndsTheTerm: a leader's worker that fails does
// not stop the daemon. The instance gives its term up (the lease is
// released for another instance), keeps serving HTTP, campaigns again a
// lease later and runs the worker again in its next term.
func TestPostgresFailingWorkerEndsTheTerm(t *testing.T) {
	db := pgTestDatabase(t)
	cfgPath, _ := testConfig(t, "")
	cfgText := fmt.Sprintf("[store]\nbackend = \"postgres\"\npostgres_url = %q\nlease = \"3s\"\n[http]\nlisten = \"127.0.0.1:0\"\n", db.String())
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	runs := make(chan time.Time, 4)
	n := 0
	rd := startDaemonWith(t, cfgPath, func(d *Daemon) {
		d.GoLeader("flaky worker", func(ctx context.Context) error {
			runs <- time.Now()
			if n++; n == 1 {
				return errors.New("the mail server refused the login")
			}
			<-ctx.Done()
			return nil
		})
	})
	d := rd.d
	next := func(what string) time.Time {
		t.Helper()
		select {
		case at := <-runs:
			return at
		case err := <-rd.done:
			t.Fatalf("the daemon stopped waiting for the worker's %s run: %v", what, err)
		case <-time.After(15 * time.Second):
			t.Fatalf("no %s run of the worker", what)
		}
		return time.Time{}
	}
	failed := next("first")
	again := next("second")
	if gap := again.Sub(failed); gap < 3*time.Second {
		t.Errorf("the next term began %s after the failure, within the lease (3s)", gap)
	}
	if !d.Leading() {
		t.Error("the instance does not lead in its second term")
	}
	if code, _ := get(rd.base + "/healthz"); code != http.StatusOK {
		t.Errorf("GET /healthz = %d after the worker failed", code)
	}
}
