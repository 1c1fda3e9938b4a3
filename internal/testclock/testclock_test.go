package testclock

import (
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func TestSetAndAdvance(t *testing.T) {
	c := New(t0)
	if got := c.Now(); !got.Equal(t0) {
		t.Fatalf("Now = %v, want %v", got, t0)
	}
	c.Advance(time.Hour)
	if got, want := c.Now(), t0.Add(time.Hour); !got.Equal(want) {
		t.Errorf("after Advance: Now = %v, want %v", got, want)
	}
	c.Set(t0)
	if got := c.Now(); !got.Equal(t0) {
		t.Errorf("after Set: Now = %v, want %v", got, t0)
	}
}

func TestAfterFiresAtItsDeadline(t *testing.T) {
	c := New(t0)
	early, late := c.After(time.Minute), c.After(time.Hour)
	for _, want := range []time.Duration{time.Minute, time.Hour} {
		if got := <-c.Asked(); got != want {
			t.Errorf("Asked = %v, want %v", got, want)
		}
	}
	c.Advance(59 * time.Second)
	select {
	case <-early:
		t.Fatal("After(1m) fired at 59s")
	default:
	}
	c.Advance(time.Second)
	select {
	case got := <-early:
		if want := t0.Add(time.Minute); !got.Equal(want) {
			t.Errorf("After(1m) sent %v, want %v", got, want)
		}
	default:
		t.Fatal("After(1m) did not fire at 1m")
	}
	c.Set(t0.Add(2 * time.Hour))
	select {
	case <-late:
	default:
		t.Fatal("After(1h) did not fire when Set passed it")
	}
}

func TestWaitFor(t *testing.T) {
	var n atomic.Int32
	go func() {
		for range 3 {
			n.Add(1)
		}
	}()
	WaitFor(t, "three increments", func() bool { return n.Load() == 3 })
}
