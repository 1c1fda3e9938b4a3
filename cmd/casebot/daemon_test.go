package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/casebot/casebot/bot"
	"github.com/casebot/casebot/config"
)

// openDaemon opens (but does not run) a daemon for a fresh temp config.
func openDaemon(t *testing.T) *Daemon {
	t.Helper()
	cfgPath, _ := testConfig(t, "")
	cfg, err := config.Load(cfgPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := NewDaemon(cfg, testLogger(t))
	if err := d.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// TestGracefulShutdown: an HTTP request in flight when the daemon is told to
// stop completes; workers see their context cancelled before the store
// closes; Run returns nil.
func TestGracefulShutdown(t *testing.T) {
	d := openDaemon(t)
	started, release := make(chan struct{}), make(chan struct{})
	d.Handle("GET /slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		// The store must still be open while requests drain.
		if _, err := d.DB.OutboxDepth(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "finished")
	}))
	workerStopped := make(chan error, 1)
	d.Go("probe", func(ctx context.Context) error {
		<-ctx.Done()
		// Still open: the store closes only after every worker returned.
		_, err := d.DB.OutboxDepth(context.Background())
		workerStopped <- err
		return nil
	})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	base := "http://" + d.Addr().String()
	waitFor(t, "healthz", func() bool { c, _ := get(base + "/healthz"); return c == http.StatusOK })

	type answer struct {
		code int
		body string
	}
	answered := make(chan answer, 1)
	go func() { c, b := get(base + "/slow"); answered <- answer{c, b} }()
	<-started
	cancel()
	select {
	case err := <-workerStopped:
		if err != nil {
			t.Errorf("worker: store closed before the worker stopped: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("worker not stopped on cancel")
	}
	select {
	case err := <-done:
		t.Fatalf("Run returned %v while a request was in flight", err)
	default:
	}
	close(release)
	a := <-answered
	if a.code != http.StatusOK || a.body != "finished" {
		t.Errorf("in-flight request = %d %q, want 200 \"finished\"", a.code, a.body)
	}
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if code, _ := get(base + "/healthz"); code != 0 {
		t.Errorf("healthz after shutdown = %d, want no answer", code)
	}
}

// TestWorkerFailureStopsDaemon: a worker failing before shutdown stops the
// daemon, and Run returns the error naming the worker.
func TestWorkerFailureStopsDaemon(t *testing.T) {
	d := openDaemon(t)
	stopped := make(chan struct{})
	d.Go("steady", func(ctx context.Context) error {
		<-ctx.Done()
		close(stopped)
		return ctx.Err() // errors after cancellation are not failures
	})
	d.Go("flaky", func(ctx context.Context) error { return errors.New("boom") })
	err := d.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "flaky: boom") {
		t.Fatalf("Run = %v, want the flaky worker's error", err)
	}
	select {
	case <-stopped:
	default:
		t.Error("the other worker was not stopped")
	}
}

func TestHealthzBeforeRun(t *testing.T) {
	d := openDaemon(t)
	rec := httptest.NewRecorder()
	d.handleHealth(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("healthz before Run = %d, want 503", rec.Code)
	}
}

func TestOutboxResultMetrics(t *testing.T) {
	m := NewMetrics(nil, bot.New(bot.Config{}), testLogger(t))
	m.OutboxResult("slack", "sent")
	m.OutboxResult("slack", "failed")
	m.OutboxResult("email", "dead")
	m.OutboxResult("fax", "weird")
	m.OnCommand("party add MED-2026-0001", 3*time.Millisecond, true)
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{
		"casebot_slack_errors_total 1",
		"casebot_smtp_errors_total 1",
		`casebot_outbox_deliveries_total{kind="slack",result="sent"} 1`,
		`casebot_outbox_deliveries_total{kind="other",result="other"} 1`,
		`casebot_commands_total{command="party add",outcome="refused"} 1`,
		"casebot_outbox_depth 0",
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestAfterDrainRunsBeforeStoreCloses: shutdown steps registered with
// AfterDrain run once HTTP has stopped serving and while the store is open.
func TestAfterDrainRunsBeforeStoreCloses(t *testing.T) {
	d := openDaemon(t)
	base := "http://" + d.Addr().String()
	var storeErr, httpErr error
	ran := false
	d.AfterDrain(func(ctx context.Context) error {
		ran = true
		_, storeErr = d.DB.OutboxDepth(ctx)
		_, httpErr = http.Get(base + "/healthz")
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	waitFor(t, "healthz", func() bool { code, _ := get(base + "/healthz"); return code == http.StatusOK })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !ran || storeErr != nil {
		t.Fatalf("after-drain step ran %v, store error %v; want it run with the store open", ran, storeErr)
	}
	if httpErr == nil {
		t.Fatal("HTTP still served when the after-drain step ran")
	}
}
