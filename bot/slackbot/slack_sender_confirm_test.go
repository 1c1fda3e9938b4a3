package slackbot_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/bot"
	"github.com/casebot/casebot/bot/slackbot"
	"github.com/casebot/casebot/internal/testclock"
	"github.com/casebot/casebot/outbox"
)

// A crash between Slack's 200 and OutboxDone: the restarted worker finds the
// message begun without an outcome, finds its key in the DM's history and
// records it done without posting again. A message whose attempt began but
// never reached Slack is posted once.
func TestOutboxDoesNotResendWhatArrivedBeforeACrash(t *testing.T) {
	ctx := context.Background()
	clk := testclock.New(time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC))
	db := slOpenStore(t, filepath.Join(t.TempDir(), "c.db"), clk.Now)
	fs := newFakeSlack(t)
	sender := slackbot.NewSender(fs.client(), bot.RenderNotice)
	if err := db.Enqueue(ctx, slackMsg("arrived", "UA", "to A"), slackMsg("lost", "UB", "to B")); err != nil {
		t.Fatal(err)
	}
	due, err := db.OutboxDue(ctx, clk.Now(), 0)
	if err != nil || len(due) != 2 {
		t.Fatalf("due = %d, %v; want 2", len(due), err)
	}
	// The crashed daemon began both attempts; only A's post reached Slack.
	for _, m := range due {
		if resumed, err := db.OutboxBegin(ctx, m.ID); err != nil || resumed {
			t.Fatalf("first begin of %s: resumed %v, %v", m.Key, resumed, err)
		}
	}
	if err := sender.Send(ctx, due[0]); err != nil {
		t.Fatal(err)
	}
	<-fs.posted
	if ok, err := sender.Delivered(ctx, due[1]); err != nil || ok {
		t.Fatalf("Delivered(never posted) = %v, %v", ok, err)
	}

	res := &outcomes{}
	w := &outbox.Worker{Store: db, Senders: map[string]outbox.Sender{casebot.OutSlack: sender}, Now: clk.Now,
		Logger: slLogger(t), Metrics: res.record}
	if n, err := w.RunOnce(ctx); err != nil || n != 2 {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	if got := len(fs.postsTo("D-UA")); got != 1 {
		t.Errorf("A got %d posts, want 1 (no resend after the crash)", got)
	}
	if got := fs.postsTo("D-UB"); len(got) != 1 || got[0].Key != "lost" {
		t.Errorf("B got %v, want the lost message once, keyed", got)
	}
	if d, _ := db.OutboxDepth(ctx); d != 0 {
		t.Errorf("depth %d, want 0", d)
	}
	if got := res.get(casebot.OutSlack + "/" + outbox.ResultSent); got != 2 {
		t.Errorf("sent outcomes %d, want 2", got)
	}
}
