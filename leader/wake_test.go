package leader

import (
	"context"
	"testing"
	"time"
)

// TestWakeUps: a listener hears both workers woken once it listens, then
// each NOTIFY sent by another connection.
func TestWakeUps(t *testing.T) {
	u := testURL(t)
	got := make(chan string, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Listen(ctx, u, nil, func(w string) { got <- w }) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Listen: %v", err)
		}
	}()
	next := func() string {
		select {
		case w := <-got:
			return w
		case <-time.After(5 * time.Second):
			t.Fatal("no wake-up within 5s")
			return ""
		}
	}
	if a, b := next(), next(); a != WakeScheduler || b != WakeOutbox {
		t.Fatalf("first wake-ups %q, %q; want scheduler, outbox", a, b)
	}
	if err := NotifyOnce(context.Background(), u, WakeOutbox, WakeScheduler); err != nil {
		t.Fatal(err)
	}
	if a, b := next(), next(); a != WakeOutbox || b != WakeScheduler {
		t.Fatalf("wake-ups %q, %q; want outbox, scheduler", a, b)
	}
}
