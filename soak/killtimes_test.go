package soak

import (
	"testing"
	"time"
)

// killTimes always finds its kills, in order, apart and inside the window,
// also for the shortest load CASEBOT_SOAK_SECONDS allows.
func TestKillTimes(t *testing.T) {
	shortest := killLead + killTail + nKills*minKillGap
	for _, load := range []time.Duration{shortest, 90 * time.Second, 150 * time.Second} {
		for range 200 {
			ts := killTimes(load)
			if len(ts) != nKills {
				t.Fatalf("load %v: %d kills, want %d", load, len(ts), nKills)
			}
			for i, k := range ts {
				if k < killLead || k > load-killTail {
					t.Fatalf("load %v: kill at %v outside [%v, %v]", load, k, killLead, load-killTail)
				}
				if i > 0 && k-ts[i-1] < minKillGap {
					t.Fatalf("load %v: kills %v and %v closer than %v", load, ts[i-1], k, minKillGap)
				}
			}
		}
	}
}
