package outbox_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
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

// openStore opens a real store in a temporary folder, closed after t.
func openStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "outbox.db"), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// A worker whose Deadline (the leader's lease) has passed sends nothing:
// the messages stay queued for whoever leads; with the lease ahead, they
// go.
func TestDeadlineStopsSends(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
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
	if n, err := db.OutboxDepth(ctx); err != nil || n != 0 {
		t.Fatalf("outbox depth %d (%v), want 0 once sent", n, err)
	}
}

// blockingSender waits in Send until its context ends or release closes,
// after calling during (a renewal of the lease, in the test).
type blockingSender struct {
	during  func()
	release chan struct{}
	cause   chan error // the context's cause when it ended, nil when released
}

func (s *blockingSender) Send(ctx context.Context, m casebot.OutMessage) error {
	s.during()
	select {
	case <-ctx.Done():
		s.cause <- context.Cause(ctx)
		return ctx.Err()
	case <-s.release:
		s.cause <- nil
		return nil
	}
}

// A send under way outlives the lease's first end when the lease is
// renewed meanwhile, and is cut short when it is not.
func TestDeadlineFollowsRenewals(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	var mu sync.Mutex
	lease := time.Now()
	setLease := func(d time.Duration) { mu.Lock(); lease = time.Now().Add(d); mu.Unlock() }
	deadline := func() (time.Time, bool) { mu.Lock(); defer mu.Unlock(); return lease, true }

	for _, renewed := range []bool{true, false} {
		key := fmt.Sprintf("k-%v", renewed)
		if err := db.Enqueue(ctx, casebot.OutMessage{Key: key, Kind: casebot.OutSlack, To: "U-" + key, Text: "x"}); err != nil {
			t.Fatal(err)
		}
		s := &blockingSender{release: make(chan struct{}), cause: make(chan error, 1), during: func() {
			if renewed {
				setLease(time.Hour) // the elector renews while the send runs
			}
		}}
		w := &outbox.Worker{Store: db, Senders: map[string]outbox.Sender{casebot.OutSlack: s}, Logger: slog.New(slog.DiscardHandler), Deadline: deadline}
		setLease(30 * time.Millisecond)
		done := make(chan error, 1)
		go func() { _, err := w.RunOnce(ctx); done <- err }()
		if renewed {
			// The first end passes with the send still running; it must go on.
			select {
			case cause := <-s.cause:
				t.Fatalf("renewed lease: the send was cut short (%v)", cause)
			case <-time.After(300 * time.Millisecond): // well past the first end: asserting that nothing happens
			}
			close(s.release)
			if cause := <-s.cause; cause != nil {
				t.Fatalf("renewed lease: send ended by %v", cause)
			}
		} else {
			select {
			case cause := <-s.cause:
				if cause == nil || !strings.Contains(cause.Error(), "lease ran out") {
					t.Fatalf("lost lease: the send ended by %v, want the lease running out", cause)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("lost lease: the send was never cut short")
			}
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	// The renewed send was recorded; the cut one waits for a retry.
	if n, err := db.OutboxDepth(ctx); err != nil || n != 1 {
		t.Fatalf("outbox depth %d (%v), want the cut send's message still queued", n, err)
	}
}
