// Package testclock holds the fake clock and the polling wait that
// casebot's tests share. Only tests and test helpers import it.
package testclock

import (
	"sync"
	"testing"
	"time"
)

// Clock is a settable time source for tests. Now, Set, Advance and After
// are safe for concurrent use; the zero Clock reads the zero time.
//
// After's channels fire when Set or Advance moves the clock to or past
// their deadline, so code waiting on the clock (scheduler.Clock) runs
// exactly when a test says, without sleeping.
type Clock struct {
	mu      sync.Mutex
	t       time.Time
	waiters []waiter
	asked   chan time.Duration
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

// New returns a Clock reading t.
func New(t time.Time) *Clock {
	return &Clock{t: t}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t and fires every After whose deadline has come.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
	keep := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(t) {
			w.ch <- t // buffered, received at most once
		} else {
			keep = append(keep, w)
		}
	}
	c.waiters = keep
}

// Advance moves the clock forward by d, as Set(Now().Add(d)).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	t := c.t.Add(d)
	c.mu.Unlock()
	c.Set(t)
}

// After returns a channel that receives the clock's time once Set or
// Advance reaches Now()+d. A d of zero or less fires on the next Set or
// Advance. Each d is also reported on Asked.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.mu.Lock()
	c.waiters = append(c.waiters, waiter{c.t.Add(d), ch})
	asked := c.askedLocked()
	c.mu.Unlock()
	asked <- d
	return ch
}

// maxAsked is how many After calls Asked holds unread; one more blocks
// After until the test reads.
const maxAsked = 100

// Asked returns the channel on which every After reports the wait asked
// for, in order, so a test can tell when the code under test has gone to
// sleep and for how long. It holds maxAsked unread waits.
func (c *Clock) Asked() <-chan time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.askedLocked()
}

func (c *Clock) askedLocked() chan time.Duration {
	if c.asked == nil {
		c.asked = make(chan time.Duration, maxAsked)
	}
	return c.asked
}

// WaitTimeout is how long WaitFor polls before it fails the test.
const WaitTimeout = 10 * time.Second

// WaitFor polls cond until it holds, failing tb (with what was awaited)
// when WaitTimeout passes first. Use it for work done by another goroutine
// or process that offers nothing to wait on.
func WaitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(WaitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // the poll interval, not a wait for work
	}
}
