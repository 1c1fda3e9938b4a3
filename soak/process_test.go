package soak

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/casebot/casebot/internal/proctest"
)

// daemonProc runs the casebot binary as a child process, one at a time.
type daemonProc struct {
	bin, cfg string
	base     string // http://127.0.0.1:port
	log      *os.File
	env      []string // the environment of every command; nil: the test's
	cmd      *exec.Cmd
	exited   chan error
	starts   int
}

// start launches `casebot serve` and waits until /healthz answers 200.
func (d *daemonProc) start(ctx context.Context) error {
	cmd := exec.Command(d.bin, "serve", "-config", d.cfg)
	cmd.Stdout, cmd.Stderr = d.log, d.log
	cmd.Env = d.env
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start casebot: %w", err)
	}
	d.starts++
	d.cmd = cmd
	exited := make(chan error, 1)
	d.exited = exited
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("casebot exited during start-up: %v (see %s)", err, d.log.Name())
		default:
		}
		if code, _ := httpGet(d.base + "/healthz"); code == http.StatusOK {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("casebot not healthy within 30s (see %s)", d.log.Name())
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (d *daemonProc) kill() error {
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill casebot: %w", err)
	}
	<-d.exited
	return nil
}

// stop sends SIGTERM and waits for a clean exit (status 0).
func (d *daemonProc) stop() error {
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("stop casebot: %w", err)
	}
	select {
	case err := <-d.exited:
		if err != nil {
			return fmt.Errorf("casebot exited with %v after SIGTERM", err)
		}
		return nil
	case <-time.After(30 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.exited
		return fmt.Errorf("casebot did not stop within 30s of SIGTERM")
	}
}

// backup runs `casebot backup -config CFG out` beside the running daemon.
func (d *daemonProc) backup(out string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.bin, "backup", "-config", d.cfg, out)
	cmd.Env = d.env
	b, err := cmd.CombinedOutput()
	return string(b), err
}

// outboxDepth reads casebot_outbox_depth from /metrics; -1 when unknown.
func (d *daemonProc) outboxDepth() int {
	return proctest.Gauge(d.base, "casebot_outbox_depth", 5*time.Second)
}

func httpGet(url string) (int, string) { return proctest.Get(url, 5*time.Second) }

// tail returns the last n lines of the daemon's log, for failure messages.
func (d *daemonProc) tail(n int) string {
	b, err := os.ReadFile(d.log.Name())
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// notable returns the daemon log's last n lines that are warnings,
// errors, starts, stops or role changes (on PostgreSQL), which a tail of
// routine command lines would hide.
func (d *daemonProc) notable(n int) string {
	b, err := os.ReadFile(d.log.Name())
	if err != nil {
		return err.Error()
	}
	var lines []string
	for l := range strings.Lines(string(b)) {
		if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") || strings.Contains(l, `msg="role`) ||
			strings.Contains(l, `msg="casebot s`) {
			lines = append(lines, strings.TrimRight(l, "\n"))
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

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
