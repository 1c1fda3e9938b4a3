package outbox

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestBackoffGrowsAndCaps(t *testing.T) {
	w := &Worker{MinBackoff: time.Second, MaxBackoff: time.Minute}
	tests := []struct {
		attempts int
		max      time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {4, 8 * time.Second}, {7, time.Minute}, {50, time.Minute}}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.attempts), func(t *testing.T) {
			for range 100 {
				got := w.Backoff(tt.attempts)
				if got > tt.max || got < tt.max*4/5 {
					t.Fatalf("Backoff(%d) = %v, want in [%v, %v]", tt.attempts, got, tt.max*4/5, tt.max)
				}
			}
		})
	}
}

func TestPermanent(t *testing.T) {
	base := errors.New("user_not_found")
	if IsPermanent(base) {
		t.Error("plain error reported permanent")
	}
	if err := fmt.Errorf("send: %w", Permanent(base)); !IsPermanent(err) || !errors.Is(err, base) {
		t.Errorf("wrapped Permanent: IsPermanent %v, Is base %v", IsPermanent(err), errors.Is(err, base))
	}
	if Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
}
