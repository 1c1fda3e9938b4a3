package failover

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/casebot/casebot/internal/proctest"
	"github.com/jackc/pgx/v5"
)

// testDatabase makes a database of its own for the test on the cluster of
// CASEBOT_POSTGRES_URL (dropped after it) and returns its URL; it skips
// the test without CASEBOT_POSTGRES_URL.
func testDatabase(t *testing.T) string {
	t.Helper()
	base := os.Getenv("CASEBOT_POSTGRES_URL")
	if base == "" {
		t.Skip("CASEBOT_POSTGRES_URL not set: the failover tests need a PostgreSQL cluster")
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "casebot_failover_" + hex.EncodeToString(b[:])
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
		c, err := pgx.Connect(ctx, base)
		if err == nil {
			_, _ = c.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)")
			_ = c.Close(ctx)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// instance is one `casebot serve` process of the cluster; it may be
// started again after it was killed.
type instance struct {
	name, bin, cfg string
	base           string // http://127.0.0.1:port
	log            *os.File
	cmd            *exec.Cmd
	exited         chan error
}

// newInstance writes the instance's config (common plus its own HTTP
// address) and opens its log.
func newInstance(t *testing.T, dir, bin, name, common string) *instance {
	t.Helper()
	addr := proctest.FreePort(t)
	cfg := filepath.Join(dir, name+".toml")
	if err := os.WriteFile(cfg, []byte(common+fmt.Sprintf("[http]\nlisten = %q\n", addr)), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{name: name, bin: bin, cfg: cfg, base: "http://" + addr, log: logf}
	t.Cleanup(func() {
		if in.running() {
			_ = in.cmd.Process.Signal(syscall.SIGCONT)
			_ = in.kill()
		}
		if t.Failed() {
			t.Logf("%s log tail:\n%s", name, in.tail(40))
		}
		_ = logf.Close()
	})
	return in
}

// running reports whether the process was started and has not exited.
func (in *instance) running() bool {
	if in.cmd == nil {
		return false
	}
	select {
	case err := <-in.exited:
		in.exited <- err
		return false
	default:
		return true
	}
}

// start launches `casebot serve` and waits until /healthz answers 200.
func (in *instance) start() error {
	fmt.Fprintf(in.log, "=== start %s\n", time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(in.bin, "serve", "-config", in.cfg)
	cmd.Stdout, cmd.Stderr = in.log, in.log
	// The test's own CASEBOT_POSTGRES_URL would override the config's
	// database (the environment wins over the file).
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CASEBOT_POSTGRES_URL=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", in.name, err)
	}
	in.cmd = cmd
	exited := make(chan error, 1)
	in.exited = exited
	go func() { exited <- cmd.Wait() }()
	ok := waitUntil(30*time.Second, func() bool {
		code, _ := httpGet(in.base + "/healthz")
		return code == http.StatusOK || !in.running()
	})
	if !ok || !in.running() {
		return fmt.Errorf("%s not healthy within 30s (see %s)", in.name, in.log.Name())
	}
	return nil
}

// signal sends sig to the process.
func (in *instance) signal(sig syscall.Signal) error {
	if err := in.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("%s: signal %v: %w", in.name, sig, err)
	}
	return nil
}

// kill sends SIGKILL and waits for the process to be gone.
func (in *instance) kill() error {
	if err := in.signal(syscall.SIGKILL); err != nil {
		return err
	}
	err := <-in.exited
	in.exited <- err
	return nil
}

// stop sends SIGTERM and waits for a clean exit.
func (in *instance) stop() error {
	if err := in.signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case err := <-in.exited:
		in.exited <- err
		if err != nil {
			return fmt.Errorf("%s exited with %v after SIGTERM", in.name, err)
		}
		return nil
	case <-time.After(30 * time.Second):
		_ = in.kill()
		return fmt.Errorf("%s did not stop within 30s of SIGTERM", in.name)
	}
}

// metric reads one gauge from /metrics; -1 when unknown (or the process is
// down or frozen).
func (in *instance) metric(name string) int { return proctest.Gauge(in.base, name, 2*time.Second) }

// leads reports whether the instance says it is the leader.
func (in *instance) leads() bool { return in.metric("casebot_leader") == 1 }

// logs returns the instance's whole log.
func (in *instance) logs() string {
	b, _ := os.ReadFile(in.log.Name())
	return string(b)
}

// tail returns the last n lines of the log.
func (in *instance) tail(n int) string {
	lines := strings.Split(strings.TrimRight(in.logs(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// leaderOf returns the one instance that leads, or nil when none or more
// than one does.
func leaderOf(ins []*instance) *instance {
	var l *instance
	for _, in := range ins {
		if in.running() && in.leads() {
			if l != nil {
				return nil
			}
			l = in
		}
	}
	return l
}

func httpGet(u string) (int, string) { return proctest.Get(u, 2*time.Second) }

// waitUntil polls cond every 50 ms until it holds or timeout passes.
func waitUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not a wait for work
	}
	return true
}
