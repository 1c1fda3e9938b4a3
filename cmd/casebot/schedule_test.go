package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/config"
	"github.com/casebot/casebot/internal/testclock"
	"github.com/casebot/casebot/internal/testserver"
)

// TestSchedulerEndToEnd boots the daemon with an injected clock and an
// httptest Slack, adds a deadline with `casebot do`, advances the clock past
// the reminder's time and gets the reminder as a Slack DM, once.
func TestSchedulerEndToEnd(t *testing.T) {
	slackAPI := testserver.NewSlack(t, "xoxb-test", testserver.UserTZ("Europe/London"))
	cfgPath, _ := testConfig(t, fmt.Sprintf("[slack]\nsigning_secret = \"s3cret\"\nbot_token = \"xoxb-test\"\napi_url = %q\nadmins = [\"UADMIN\"]\n"+
		"[schedule]\nreminders = [\"1d\", \"2h\"]\ndigest = \"0 8 * * *\"\n", slackAPI.URL()))
	cfg, err := config.Load(cfgPath, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	clk := testclock.New(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
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
	// The 2h reminder falls due at 11:00. The scheduler sleeps on a real
	// timer until then, so after moving the test clock it is woken.
	clk.Set(time.Date(2026, 3, 2, 11, 0, 1, 0, time.UTC))
	d.KickScheduler()
	var post testserver.Post
	waitFor(t, "the reminder at Slack", func() bool {
		for _, p := range slackAPI.Posts() {
			if strings.Contains(p.Text+p.Blocks, "Reminder: deadline #1") {
				post = p
				return true
			}
		}
		return false
	})
	if post.Channel != "D-U1" || !strings.Contains(post.Text+post.Blocks, "File the brief") ||
		!strings.Contains(post.Blocks, "deadline_done") || !strings.Contains(post.Blocks, id+"/1") {
		t.Errorf("reminder post = %v, want a DM to U1 with a Mark met button for %s/1", post.Form, id)
	}
	waitFor(t, "reminders_sent metric", func() bool {
		_, body := get(rd.base + "/metrics")
		return strings.Contains(body, "casebot_reminders_sent_total 1")
	})
	runMain("do", "-config", cfgPath, "-as", "U1", "list")
	waitFor(t, "outbox empty", func() bool {
		n, err := d.DB.OutboxDepth(t.Context())
		return err == nil && n == 0
	})
	n := 0
	for _, p := range slackAPI.Posts() {
		if strings.Contains(p.Text+p.Blocks, "Reminder: deadline #1") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the reminder reached Slack %d times, want once", n)
	}
	// The digest command answers with the caseload.
	r = runMain("do", "-config", cfgPath, "-as", "U1", "digest")
	if r.code != exitOK || !strings.Contains(r.stdout, "Deadlines in the next 7 days (1)") || !strings.Contains(r.stdout, id) {
		t.Errorf("do digest: %+v", r)
	}
}
