package outbox_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/outbox"
	"github.com/casebot/casebot/store"
)

// ctxSender records each send and the deadline of its context.
type ctxSender struct {
	mu        sync.Mutex
	deadlines []time.Time
}

func (s *ctxSender) Send(ctx context.Context, m casebot.OutMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, _ := ctx.Deadline()
	s.deadlines = append(s.deadlines, d)
	return ctx.Err()
}

// A worker whose Deadline (the leader's lease) has passed sends nothing:
// the messages stay queued for whoever leads; with the lease ahead, each
// send runs under it.
func TestDeadlineStopsSends(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "outbox.db"), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Enqueue(ctx,
		casebot.OutMessage{Key: "k1", Kind: casebot.OutSlack, To: "U1", Text: "one"},
		casebot.OutMessage{Key: "k2", Kind: casebot.OutSlack, To: "U2", Text: "two"}); err != nil {
		t.Fatal(err)
	}
	s := &ctxSender{}
	lease := time.Now().Add(-time.Second) // paused past it
	now := time.Now()
	w := &outbox.Worker{Store: db, Senders: map[string]outbox.Sender{casebot.OutSlack: s}, Logger: slog.New(slog.DiscardHandler),
		Now:      func() time.Time { return now },
		Deadline: func() (time.Time, bool) { return lease, true }}
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if len(s.deadlines) != 0 {
		t.Fatalf("%d sends after the lease ran out, want none", len(s.deadlines))
	}
	if n, err := db.OutboxDepth(ctx); err != nil || n != 2 {
		t.Fatalf("outbox depth %d (%v), want both messages still queued", n, err)
	}

	lease, now = time.Now().Add(time.Hour), now.Add(time.Hour) // a lease ahead; the retries are due
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if len(s.deadlines) != 2 {
		t.Fatalf("%d sends with the lease ahead, want 2", len(s.deadlines))
	}
	for _, d := range s.deadlines {
		if d.IsZero() || d.After(lease) {
			t.Errorf("a send's deadline %v, want at most the lease's end %v", d, lease)
		}
	}
	if n, err := db.OutboxDepth(ctx); err != nil || n != 0 {
		t.Fatalf("outbox depth %d (%v), want 0 once sent", n, err)
	}
}
