// Package backoff computes the waits of casebot's retry and reconnect loops:
// the IMAP intake's reconnect, the outbox's per-message retry and the Slack
// Socket Mode reconnect all take their delays from a Policy.
//
// The delay after n failures is Min·2^(n-1), capped at Max, less a random
// jitter of up to a fifth (the one jitter rule): it lies in [0.8·d, d].
// Taking jitter off, never adding it, keeps Max a true upper bound; a fifth
// is enough to spread clients that failed together (a Slack or IMAP outage)
// without making the first retry much earlier than Min.
//
// A Policy is a pure function of the failure count, so a loop that stores
// its next try (the outbox's NextTry) and a loop that sleeps use it alike.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Policy is an exponential back-off with a cap and jitter. Its methods are
// safe for concurrent use when Rand is.
type Policy struct {
	// Min is the delay after the first failure; Max caps the delay. Max
	// below Min counts as Min.
	Min, Max time.Duration
	// Rand, when set, returns a number in [0, n) and replaces the random
	// source (tests pass a deterministic one); math/rand/v2's Int64N when
	// nil.
	Rand func(n int64) int64
}

// Delay returns how long to wait after failures consecutive failures
// (1 for the first): Min·2^(failures-1), capped at Max, less up to 20%
// jitter. failures below 1 counts as 1; a non-positive Min gives 0.
func (p Policy) Delay(failures int) time.Duration {
	if p.Min <= 0 {
		return 0
	}
	hi := max(p.Max, p.Min)
	d := p.Min
	for i := 1; i < failures && d < hi; i++ {
		if d > hi/2 {
			d = hi // doubling would pass the cap (or overflow)
			break
		}
		d *= 2
	}
	d = min(d, hi)
	rnd := p.Rand
	if rnd == nil {
		rnd = rand.Int64N
	}
	return d - time.Duration(rnd(int64(d)/5+1))
}

// Sleep waits d or until ctx ends, whichever is first, and reports whether
// the whole wait passed (false: ctx ended).
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
