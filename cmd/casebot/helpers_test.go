package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot/config"
	"github.com/casebot/casebot/internal/proctest"
	"github.com/casebot/casebot/internal/testclock"
)

// testConfig writes a config file for a store in a fresh temp dir, with HTTP
// on a free loopback port, and returns its path and the store path.
func testConfig(t *testing.T, extra string) (cfgPath, storePath string) {
	t.Helper()
	dir := t.TempDir()
	storePath = filepath.Join(dir, "casebot.db")
	cfgPath = filepath.Join(dir, "casebot.toml")
	content := fmt.Sprintf("[store]\npath = %q\n[http]\nlisten = \"127.0.0.1:0\"\n%s", storePath, extra)
	if err := os.WriteFile(cfgPath, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfgPath, storePath
}

// testLogger routes logs to t.Log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// runningDaemon is a daemon serving in the background of a test.
type runningDaemon struct {
	d      *Daemon
	base   string // http://127.0.0.1:port
	cancel context.CancelFunc
	done   chan error
}

// startDaemon opens and runs a daemon for the config file, waits until
// /healthz answers 200 and stops it at the end of the test.
func startDaemon(t *testing.T, cfgPath string) *runningDaemon {
	t.Helper()
	return startDaemonWith(t, cfgPath, nil)
}

// startDaemonWith is startDaemon with setup called between Open and Run
// (to register a worker, say).
func startDaemonWith(t *testing.T, cfgPath string, setup func(d *Daemon)) *runningDaemon {
	t.Helper()
	cfg, err := config.Load(cfgPath, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	d := NewDaemon(cfg, testLogger(t))
	ctx, cancel := context.WithCancel(context.Background())
	if err := d.Open(ctx); err != nil {
		cancel()
		t.Fatalf("Open: %v", err)
	}
	if setup != nil {
		setup(d)
	}
	rd := &runningDaemon{d: d, base: "http://" + d.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { rd.done <- d.Run(ctx) }()
	t.Cleanup(func() { rd.stop(t) })
	waitFor(t, "healthz 200", func() bool {
		code, _ := get(rd.base + "/healthz")
		return code == http.StatusOK
	})
	return rd
}

// must runs text as user through the daemon's runner and returns the
// reply, failing the test when the command is refused.
func (rd *runningDaemon) must(t *testing.T, user, text string) string {
	t.Helper()
	rep := rd.d.Command(context.Background(), user, text)
	if rep.Err != nil {
		t.Fatalf("%q refused: %s", text, rep.Text)
	}
	return rep.Text
}

// stop cancels the daemon and returns Run's result (nil once stopped).
func (rd *runningDaemon) stop(t *testing.T) error {
	t.Helper()
	rd.cancel()
	select {
	case err, ok := <-rd.done:
		if ok {
			close(rd.done)
		}
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("daemon did not stop within 15s")
		return nil
	}
}

// waitFor polls cond until it holds or 10 s pass (testclock.WaitFor).
var waitFor = testclock.WaitFor

// get fetches url and returns the status and body; status 0 on error.
func get(url string) (int, string) { return proctest.Get(url, 5*time.Second) }

// result is the outcome of one Main call.
type result struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

// runMain runs Main with args and captures its output.
func runMain(args ...string) result {
	var out, errb bytes.Buffer
	start := time.Now()
	code := Main(args, strings.NewReader(""), &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String(), took: time.Since(start)}
}
