package main

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/config"
)

// testClock is the daemon's injected clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// TestSchedulerEndToEnd boots the daemon with an injected clock, adds a
// deadline with `casebot do`, advances the clock past the reminder's time
// and finds the reminder in the outbox, once. No Slack wiring exists in
// cmd/casebot yet (setupSlack), so it asserts on the outbox rather than on
// an httptest Slack.
func TestSchedulerEndToEnd(t *testing.T) {
	cfgPath, _ := testConfig(t, "[slack]\nadmins = [\"UADMIN\"]\n[schedule]\nreminders = [\"1d\", \"2h\"]\ndigest = \"0 8 * * *\"\n")
	cfg, err := config.Load(cfgPath, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	clk := &testClock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	d := NewDaemon(cfg, testLogger(t))
	d.Now = clk.Now
	ctx, cancel := context.WithCancel(context.Background())
	if err := d.Open(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	rd := &runningDaemon{d: d, base: "http://" + d.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { rd.done <- d.Run(ctx) }()
	t.Cleanup(func() { rd.stop(t) })
	waitFor(t, "healthz", func() bool { code, _ := get(rd.base + "/healthz"); return code == http.StatusOK })

	r := runMain("do", "-config", cfgPath, "-as", "U1", "new", "Fence dispute")
	id := caseIDRe.FindString(r.stdout)
	if r.code != exitOK || id == "" {
		t.Fatalf("do new: %+v", r)
	}
	if r = runMain("do", "-config", cfgPath, "-as", "U1", "deadline", id, "+3h", "File the brief"); r.code != exitOK {
		t.Fatalf("do deadline: %+v", r)
	}
	reminders := func() []casebot.OutMessage {
		msgs, err := d.DB.OutboxDue(context.Background(), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), 0)
		if err != nil {
			t.Fatal(err)
		}
		var out []casebot.OutMessage
		for _, m := range msgs {
			if strings.HasPrefix(m.Key, "rem/") {
				out = append(out, m)
			}
		}
		return out
	}
	if got := reminders(); len(got) != 0 {
		t.Fatalf("reminder queued before its time: %+v", got)
	}
	// The 2h reminder falls due at 11:00; any command wakes the scheduler.
	clk.Set(time.Date(2026, 3, 2, 11, 0, 1, 0, time.UTC))
	runMain("do", "-config", cfgPath, "-as", "U1", "list")
	waitFor(t, "the reminder in the outbox", func() bool { return len(reminders()) == 1 })
	m := reminders()[0]
	if m.To != "U1" || m.Kind != casebot.OutSlack || !strings.Contains(m.Text, "File the brief") ||
		len(m.Buttons) == 0 || m.Buttons[0].ActionID != "deadline_done" || m.Buttons[0].Value != id+"/1" {
		t.Errorf("reminder = %+v", m)
	}
	waitFor(t, "reminders_sent metric", func() bool {
		_, body := get(rd.base + "/metrics")
		return strings.Contains(body, "casebot_reminders_sent_total 1")
	})
	runMain("do", "-config", cfgPath, "-as", "U1", "list")
	if got := reminders(); len(got) != 1 {
		t.Errorf("reminders after another wake: %d, want 1", len(got))
	}
	// The digest command answers with the caseload.
	r = runMain("do", "-config", cfgPath, "-as", "U1", "digest")
	if r.code != exitOK || !strings.Contains(r.stdout, "Deadlines in the next 7 days (1)") || !strings.Contains(r.stdout, id) {
		t.Errorf("do digest: %+v", r)
	}
}
