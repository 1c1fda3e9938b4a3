package slackbot_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/bot"
	"github.com/casebot/casebot/bot/slackbot"
	"github.com/casebot/casebot/internal/testclock"
	"github.com/casebot/casebot/outbox"
)

func slackMsg(key, to, text string) casebot.OutMessage {
	return casebot.OutMessage{Key: key, Kind: casebot.OutSlack, To: to, Text: text,
		Buttons: []casebot.Button{{ActionID: casebot.ActionDeadlineDone, Label: "Mark met", Value: "MED-2026-0001/1"}}}
}

type outcomes struct {
	mu sync.Mutex
	n  map[string]int
}

func (o *outcomes) record(kind, result string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.n == nil {
		o.n = map[string]int{}
	}
	o.n[kind+"/"+result]++
}

func (o *outcomes) get(k string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n[k]
}

func TestOutboxDeliversDMsWithRateLimit(t *testing.T) {
	ctx := context.Background()
	clk := testclock.New(time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC))
	db := slOpenStore(t, filepath.Join(t.TempDir(), "c.db"), clk.Now)
	fs := newFakeSlack(t)
	var got outcomes
	w := &outbox.Worker{Store: db, Senders: map[string]outbox.Sender{casebot.OutSlack: slackbot.NewSender(fs.client(), bot.RenderNotice)},
		Now: clk.Now, Logger: slLogger(t), Metrics: got.record}

	if err := db.Enqueue(ctx, slackMsg("k1", "U1", "Deadline <!channel> tomorrow")); err != nil {
		t.Fatal(err)
	}
	fs.set(func() { fs.rateLimitOnce = true })
	if n, err := w.RunOnce(ctx); n != 1 || err != nil {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	if len(fs.postsTo("D-U1")) != 0 {
		t.Fatal("a rate-limited post was recorded as delivered")
	}
	// Retry-After: 1 is honoured: not due before a second has passed.
	clk.Advance(999 * time.Millisecond)
	if due, _ := db.OutboxDue(ctx, clk.Now(), 0); len(due) != 0 {
		t.Fatalf("message due %v after a 429 with Retry-After: 1", 999*time.Millisecond)
	}
	clk.Advance(time.Millisecond)
	if n, err := w.RunOnce(ctx); n != 1 || err != nil {
		t.Fatalf("RunOnce after Retry-After = %d, %v", n, err)
	}
	posts := fs.postsTo("D-U1")
	if len(posts) != 1 {
		t.Fatalf("posts = %d, want 1", len(posts))
	}
	if strings.Contains(posts[0].Text, "<!channel>") || !strings.Contains(posts[0].Text, "&lt;!channel&gt;") {
		t.Errorf("fallback text %q not escaped", posts[0].Text)
	}
	if last := posts[0].Blocks[len(posts[0].Blocks)-1]; last["type"] != "actions" {
		t.Errorf("last block %v, want the buttons", last)
	}
	if d, _ := db.OutboxDepth(ctx); d != 0 {
		t.Errorf("depth = %d, want 0", d)
	}
	if got.get("slack/failed") != 1 || got.get("slack/sent") != 1 {
		t.Errorf("metrics = %v, want one failure and one send", got.n)
	}
}

func TestOutboxSurvivesOutageAndRestartExactlyOnce(t *testing.T) {
	ctx := context.Background()
	clk := testclock.New(time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC))
	path := filepath.Join(t.TempDir(), "c.db")
	db := slOpenStore(t, path, clk.Now)
	fs := newFakeSlack(t)
	fs.set(func() { fs.down = true })
	newWorker := func(db outbox.Store) *outbox.Worker {
		return &outbox.Worker{Store: db, Senders: map[string]outbox.Sender{casebot.OutSlack: slackbot.NewSender(fs.client(), bot.RenderNotice)},
			Now: clk.Now, Logger: slLogger(t), MinBackoff: time.Second, MaxBackoff: 4 * time.Second}
	}
	var msgs []casebot.OutMessage
	for i := range 3 {
		msgs = append(msgs, slackMsg(fmt.Sprintf("a%d", i), "UA", fmt.Sprintf("to A #%d", i)))
		msgs = append(msgs, slackMsg(fmt.Sprintf("b%d", i), "UB", fmt.Sprintf("to B #%d", i)))
	}
	if err := db.Enqueue(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	// Slack is down: attempts fail, nothing is lost.
	w := newWorker(db)
	for range 3 {
		if _, err := w.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		clk.Advance(5 * time.Second)
	}
	if d, _ := db.OutboxDepth(ctx); d != 6 {
		t.Fatalf("depth during outage = %d, want 6", d)
	}
	// Restart: close and reopen the store, Slack is back, the worker runs
	// its loop until everything is out.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = slOpenStore(t, path, clk.Now)
	fs.set(func() { fs.down = false })
	w = newWorker(db)
	clk.Advance(10 * time.Second)
	// Enqueuing a delivered key again must not send it twice.
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()
	for i := range 6 {
		select {
		case <-fs.posted:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of 6 messages delivered", i)
		}
	}
	if err := db.Enqueue(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	w.Kick()
	testclock.WaitFor(t, "an empty outbox after re-enqueue of delivered keys", func() bool {
		d, err := db.OutboxDepth(ctx)
		return err == nil && d == 0
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"A", "B"} {
		posts := fs.postsTo("D-U" + to)
		if len(posts) != 3 {
			t.Fatalf("%s got %d posts, want exactly 3", to, len(posts))
		}
		for i, p := range posts {
			if want := fmt.Sprintf("to %s #%d", to, i); !strings.Contains(p.Text, want) {
				t.Errorf("%s post %d = %q, want %q (order per recipient)", to, i, p.Text, want)
			}
		}
	}
}

func TestOutboxGivesUpOnPermanentErrors(t *testing.T) {
	ctx := context.Background()
	clk := testclock.New(time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC))
	db := slOpenStore(t, filepath.Join(t.TempDir(), "c.db"), clk.Now)
	fs := newFakeSlack(t)
	fs.set(func() { fs.postErr = "user_not_found" })
	var got outcomes
	w := &outbox.Worker{Store: db, Senders: map[string]outbox.Sender{casebot.OutSlack: slackbot.NewSender(fs.client(), bot.RenderNotice)},
		Now: clk.Now, Logger: slLogger(t), Metrics: got.record}
	if err := db.Enqueue(ctx, slackMsg("gone", "UGONE", "hello"), slackMsg("next", "UGONE", "second")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got.get("slack/dead") != 1 {
		t.Fatalf("metrics %v, want one dead message", got.n)
	}
	// The dead message no longer blocks the recipient's queue.
	due, err := db.OutboxDue(ctx, clk.Now(), 0)
	if err != nil || len(due) != 1 || due[0].Key != "next" {
		t.Fatalf("due after dead letter = %v, %v; want the next message", due, err)
	}
}

// A revoked or wrong token stops every message until an operator sets a new
// one; the queue must survive that, so token errors are retried, not
// dead-lettered.
func TestOutboxRetriesTokenErrors(t *testing.T) {
	ctx := context.Background()
	clk := testclock.New(time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC))
	db := slOpenStore(t, filepath.Join(t.TempDir(), "c.db"), clk.Now)
	fs := newFakeSlack(t)
	fs.set(func() { fs.postErr = "token_revoked" })
	var got outcomes
	w := &outbox.Worker{Store: db, Senders: map[string]outbox.Sender{casebot.OutSlack: slackbot.NewSender(fs.client(), bot.RenderNotice)},
		Now: clk.Now, Logger: slLogger(t), Metrics: got.record}
	if err := db.Enqueue(ctx, slackMsg("k1", "U1", "hello")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got.get("slack/dead") != 0 {
		t.Fatalf("metrics %v: a token error dead-lettered the message", got.n)
	}
	if n, err := db.OutboxDeadCount(ctx); err != nil || n != 0 {
		t.Fatalf("dead count = %d, %v", n, err)
	}
	if depth, _ := db.OutboxDepth(ctx); depth != 1 {
		t.Fatalf("outbox depth = %d, want the message still queued", depth)
	}
}

// Messages of a kind the daemon has no sender for (outbound mail off) wait,
// untouched, and do not keep the worker busy.
func TestOutboxLeavesKindsWithoutSender(t *testing.T) {
	ctx := context.Background()
	clk := testclock.New(time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC))
	db := slOpenStore(t, filepath.Join(t.TempDir(), "c.db"), clk.Now)
	fs := newFakeSlack(t)
	var got outcomes
	w := &outbox.Worker{Store: db, Senders: map[string]outbox.Sender{casebot.OutSlack: slackbot.NewSender(fs.client(), bot.RenderNotice)},
		Now: clk.Now, Logger: slLogger(t), Metrics: got.record}
	mail := casebot.OutMessage{Key: "m1", Kind: casebot.OutEmail, To: "ann@example.com", Subject: "s", Text: "t"}
	if err := db.Enqueue(ctx, mail, slackMsg("s1", "U1", "hello")); err != nil {
		t.Fatal(err)
	}
	if n, err := w.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("RunOnce = %d, %v; want only the Slack message", n, err)
	}
	due, err := db.OutboxDue(ctx, clk.Now(), 0)
	if err != nil || len(due) != 1 || due[0].Key != "m1" || due[0].Attempts != 0 {
		t.Fatalf("left in the outbox: %+v, %v; want the untouched email", due, err)
	}
	if _, ok, err := db.OutboxNext(ctx, casebot.OutSlack); err != nil || ok {
		t.Fatalf("OutboxNext(slack) = %v, %v; want nothing for this worker", ok, err)
	}
	if n, _ := db.OutboxDeadCount(ctx); n != 0 {
		t.Fatalf("%d dead messages, want none", n)
	}
}
