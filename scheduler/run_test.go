package scheduler

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/casebot/casebot"
)

// panicOnce is a store whose first ScheduleState panics.
type panicOnce struct {
	Store
	done atomic.Bool
}

func (p *panicOnce) ScheduleState(ctx context.Context) (casebot.ScheduleState, error) {
	if p.done.CompareAndSwap(false, true) {
		panic("boom")
	}
	return p.Store.ScheduleState(ctx)
}

// TestRunSleepsUntilDue checks that the idle loop waits exactly until the
// next due time, wakes on Kick, survives a panicking tick and stops with ctx.
func TestRunSleepsUntilDue(t *testing.T) {
	e := newEnv(t, Config{Reminders: []time.Duration{2 * time.Hour}, MaxSleep: 365 * day})
	c := e.newCase("Lease", "U1", casebot.PriorityNormal)
	due := t0.Add(5 * time.Hour)
	e.addDeadline(c.ID, due, "brief")
	cfg := e.s.cfg
	cfg.Store = &panicOnce{Store: e.db}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	wait := func() time.Duration {
		t.Helper()
		select {
		case d := <-e.clk.Asked():
			return d
		case <-time.After(10 * time.Second):
			t.Fatal("Run asked for no wait")
			return 0
		}
	}
	if d := wait(); d != 30*time.Second {
		t.Fatalf("after a panicking tick Run waits %v, want the 30s retry pause", d)
	}
	e.clk.Set(t0.Add(30 * time.Second))
	if d := wait(); d != 3*time.Hour-30*time.Second {
		t.Fatalf("idle wait %v, want until the reminder (3h from t0)", d)
	}
	s.Kick() // a command added something: look again
	if d := wait(); d != 3*time.Hour-30*time.Second {
		t.Fatalf("after Kick wait %v", d)
	}
	e.clk.Set(t0.Add(3 * time.Hour))
	if d := wait(); d != 2*time.Hour {
		t.Fatalf("after the reminder wait %v, want until the due time", d)
	}
	if got := e.deliver(); len(got) != 1 {
		t.Errorf("Run queued %v, want the reminder", keysOf(got))
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil on cancel", err)
	}
}
