package backoff

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"
)

func TestDelayGrowsAndCaps(t *testing.T) {
	tests := []struct {
		name     string
		p        Policy
		failures int
		want     time.Duration // before jitter
	}{
		{"first", Policy{Min: time.Second, Max: time.Minute}, 1, time.Second},
		{"zero counts as first", Policy{Min: time.Second, Max: time.Minute}, 0, time.Second},
		{"second", Policy{Min: time.Second, Max: time.Minute}, 2, 2 * time.Second},
		{"fourth", Policy{Min: time.Second, Max: time.Minute}, 4, 8 * time.Second},
		{"capped", Policy{Min: time.Second, Max: time.Minute}, 7, time.Minute},
		{"many", Policy{Min: time.Second, Max: time.Minute}, 10_000, time.Minute},
		{"cap not a power of two", Policy{Min: 3 * time.Second, Max: 10 * time.Second}, 3, 10 * time.Second},
		{"max below min", Policy{Min: time.Second, Max: time.Millisecond}, 3, time.Second},
		{"huge cap", Policy{Min: time.Second, Max: math.MaxInt64}, 200, math.MaxInt64},
		{"no min", Policy{Max: time.Minute}, 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			none, most := tt.p, tt.p
			none.Rand = func(int64) int64 { return 0 }
			most.Rand = func(n int64) int64 { return n - 1 }
			if got := none.Delay(tt.failures); got != tt.want {
				t.Errorf("Delay(%d) without jitter = %v, want %v", tt.failures, got, tt.want)
			}
			if got, want := most.Delay(tt.failures), tt.want-tt.want/5; got != want {
				t.Errorf("Delay(%d) with most jitter = %v, want %v", tt.failures, got, want)
			}
		})
	}
}

func TestDelayRandomStaysInRange(t *testing.T) {
	p := Policy{Min: time.Second, Max: time.Minute}
	for _, n := range []int{1, 3, 9} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			hi := Policy{Min: p.Min, Max: p.Max, Rand: func(int64) int64 { return 0 }}.Delay(n)
			for range 200 {
				if got := p.Delay(n); got > hi || got < hi*4/5 {
					t.Fatalf("Delay(%d) = %v, want in [%v, %v]", n, got, hi*4/5, hi)
				}
			}
		})
	}
}

func TestSleep(t *testing.T) {
	if !Sleep(context.Background(), time.Millisecond) {
		t.Error("Sleep with a live context = false, want true")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Sleep(ctx, time.Hour) {
		t.Error("Sleep with an ended context = true, want false")
	}
}
