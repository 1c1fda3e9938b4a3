package leader

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// testURL returns the URL of a schema of the dev cluster made for this
// test (dropped after it), or skips without CASEBOT_POSTGRES_URL.
func testURL(t *testing.T) string {
	t.Helper()
	base := os.Getenv("CASEBOT_POSTGRES_URL")
	if base == "" {
		t.Skip("CASEBOT_POSTGRES_URL not set")
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	schema := "leader_test_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, base)
		if err == nil {
			_, _ = c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			_ = c.Close(ctx)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// candidate is an Elector under test with its role changes on a channel.
type candidate struct {
	*Elector
	changes chan Role
	cancel  context.CancelFunc
	done    chan struct{}
}

func startCandidate(t *testing.T, u, holder string, lease time.Duration, crash bool) *candidate {
	t.Helper()
	c := &candidate{changes: make(chan Role, 16), done: make(chan struct{})}
	e, err := New(Config{URL: u, Lease: lease, Holder: holder, OnChange: func(r Role) { c.changes <- r }})
	if err != nil {
		t.Fatal(err)
	}
	e.noRelease = crash
	c.Elector = e
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go func() {
		defer close(c.done)
		_ = e.Run(ctx)
	}()
	t.Cleanup(func() {
		c.stop()
		e.Close()
	})
	return c
}

// stop ends Run (releasing the lease unless the candidate crashes).
func (c *candidate) stop() {
	c.cancel()
	<-c.done
}

// next waits for the candidate's next role change.
func (c *candidate) next(t *testing.T, within time.Duration) (Role, bool) {
	t.Helper()
	select {
	case r := <-c.changes:
		return r, true
	case <-time.After(within):
		return Role{}, false
	}
}

// fenceHolds runs the fencing check of the contract, as the store engine
// does before committing a fenced transaction.
func fenceHolds(t *testing.T, u string, token int64) bool {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var one int
	err = conn.QueryRow(ctx, `SELECT 1 FROM casebot_lease WHERE name=$1 AND token=$2 AND expires_at > now()`, Name, token).Scan(&one)
	if err == pgx.ErrNoRows {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

// TestOneLeaderAndTakeOver: of two electors one leads; when it stops
// renewing (a crash), the other takes over after the lease and no sooner,
// with a new token that fences the old one.
func TestOneLeaderAndTakeOver(t *testing.T) {
	u := testURL(t)
	const lease = time.Second
	a := startCandidate(t, u, "a", lease, true)
	ra, ok := a.next(t, 5*time.Second)
	if !ok || !ra.Leader {
		t.Fatalf("a did not lead: %+v %v", ra, ok)
	}
	b := startCandidate(t, u, "b", lease, false)
	// b campaigns every 200ms; over several leases it must never lead
	// while a renews.
	if r, ok := b.next(t, 3*lease); ok {
		t.Fatalf("b changed role to %+v while a leads", r)
	}
	if !fenceHolds(t, u, ra.Token) {
		t.Fatal("a's fence does not hold while it leads")
	}

	a.stop() // crash: no release
	stopped := time.Now()
	rb, ok := b.next(t, lease+5*time.Second)
	took := time.Since(stopped)
	if !ok || !rb.Leader {
		t.Fatalf("b did not take over within lease + 5s")
	}
	t.Logf("take-over after a crash took %s (lease %s)", took, lease)
	if took < lease/2 {
		t.Errorf("b took over after %s, before a's lease could have expired", took)
	}
	if rb.Token <= ra.Token {
		t.Errorf("b's token %d is not above a's %d", rb.Token, ra.Token)
	}
	if fenceHolds(t, u, ra.Token) {
		t.Error("a's fence still holds after b took over")
	}
	if !fenceHolds(t, u, rb.Token) {
		t.Error("b's fence does not hold")
	}
}

// TestReleaseHandsOverAtOnce: a leader that stops cleanly releases the
// lease; the other takes over within its polling interval, far sooner
// than the lease.
func TestReleaseHandsOverAtOnce(t *testing.T) {
	u := testURL(t)
	const lease = 10 * time.Second
	a := startCandidate(t, u, "a", lease, false)
	ra, ok := a.next(t, 5*time.Second)
	if !ok || !ra.Leader {
		t.Fatal("a did not lead")
	}
	b := startCandidate(t, u, "b", lease, false)
	a.stop()
	if r, ok := a.next(t, time.Second); !ok || r.Leader {
		t.Fatalf("a did not step down on stop: %+v %v", r, ok)
	}
	stopped := time.Now()
	rb, ok := b.next(t, lease/2)
	if !ok || !rb.Leader {
		t.Fatal("b did not take over within half the lease after a released it")
	}
	t.Logf("hand-over after a release took %s (lease %s)", time.Since(stopped), lease)
	if fenceHolds(t, u, ra.Token) {
		t.Error("a's fence holds after its release")
	}
}

// TestResignHandsOver: a leader that resigns its term (its work failed)
// steps down and releases the lease, another instance takes over at once,
// and the resigned instance does not take the lease straight back. A
// resignation of a term it no longer holds is refused.
func TestResignHandsOver(t *testing.T) {
	u := testURL(t)
	const lease = 3 * time.Second
	a := startCandidate(t, u, "a", lease, false)
	ra, ok := a.next(t, 5*time.Second)
	if !ok || !ra.Leader {
		t.Fatal("a did not lead")
	}
	b := startCandidate(t, u, "b", lease, false)
	if a.Resign(ra.Token+1, "a stale term") {
		t.Error("a resigned a term it does not hold")
	}
	resigned := time.Now()
	if !a.Resign(ra.Token, "its intake failed") {
		t.Fatal("a refused to resign its own term")
	}
	if r, ok := a.next(t, 5*time.Second); !ok || r.Leader {
		t.Fatalf("a did not step down: %+v %v", r, ok)
	}
	rb, ok := b.next(t, lease/2)
	if !ok || !rb.Leader || rb.Token <= ra.Token {
		t.Fatalf("b did not take over within half the lease after a resigned: %+v %v", rb, ok)
	}
	t.Logf("hand-over after a resignation took %s (lease %s)", time.Since(resigned), lease)
	if fenceHolds(t, u, ra.Token) {
		t.Error("a's fence holds after it resigned")
	}
	if a.Resign(ra.Token, "again") {
		t.Error("a resigned a term it has given up")
	}
	// a campaigns again a lease after resigning: with b stopped (its
	// lease released) a leads again, but not before that.
	b.stop()
	r, ok := a.next(t, 2*lease)
	if !ok || !r.Leader {
		t.Fatalf("a did not lead again after b left: %+v %v", r, ok)
	}
	if took := time.Since(resigned); took < lease {
		t.Errorf("a led again %s after resigning, within the lease (%s)", took, lease)
	}
}

// TestLostLeaseStepsDown: a leader whose lease was taken from it (here,
// by expiring it in the database) steps down at its next renewal, and
// campaigns again with a new token.
func TestLostLeaseStepsDown(t *testing.T) {
	u := testURL(t)
	const lease = time.Second
	a := startCandidate(t, u, "a", lease, false)
	r1, ok := a.next(t, 5*time.Second)
	if !ok || !r1.Leader {
		t.Fatal("a did not lead")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// Another holder takes the row, as after a take-over.
	if _, err := conn.Exec(ctx, `UPDATE casebot_lease SET holder='x', token=token+1, expires_at=now()+interval '2 seconds' WHERE name=$1`, Name); err != nil {
		t.Fatal(err)
	}
	r2, ok := a.next(t, lease)
	if !ok || r2.Leader {
		t.Fatalf("a did not step down after losing the lease: %+v %v", r2, ok)
	}
	r3, ok := a.next(t, 5*time.Second)
	if !ok || !r3.Leader || r3.Token <= r1.Token+1 {
		t.Fatalf("a did not lead again with a new token: %+v (first %d)", r3, r1.Token)
	}
}

// TestManyCandidatesOneLeader: five electors on one lease; at every moment
// at most one of them believes it leads.
func TestManyCandidatesOneLeader(t *testing.T) {
	u := testURL(t)
	var mu sync.Mutex
	leading := map[int]bool{}
	maxLeaders := 0
	var cs []*candidate
	for i := range 5 {
		c := &candidate{changes: make(chan Role, 16), done: make(chan struct{})}
		e, err := New(Config{URL: u, Lease: time.Second, OnChange: func(r Role) {
			mu.Lock()
			leading[i] = r.Leader
			n := 0
			for _, l := range leading {
				if l {
					n++
				}
			}
			maxLeaders = max(maxLeaders, n)
			mu.Unlock()
			c.changes <- r
		}})
		if err != nil {
			t.Fatal(err)
		}
		c.Elector = e
		ctx, cancel := context.WithCancel(context.Background())
		c.cancel = cancel
		go func() { defer close(c.done); _ = e.Run(ctx) }()
		cs = append(cs, c)
		t.Cleanup(func() { c.stop(); e.Close() })
	}
	// Stop the leader three times; each time another must lead.
	for round := range 3 {
		var cur *candidate
		deadline := time.Now().Add(10 * time.Second)
		for cur == nil && time.Now().Before(deadline) {
			for _, c := range cs {
				if c.Role().Leader {
					cur = c
				}
			}
			if cur == nil {
				time.Sleep(20 * time.Millisecond) // polling the roles
			}
		}
		if cur == nil {
			t.Fatalf("round %d: no leader", round)
		}
		cur.stop()
	}
	mu.Lock()
	defer mu.Unlock()
	if maxLeaders != 1 {
		t.Errorf("at most %d electors led at once, want 1", maxLeaders)
	}
}

// LeaseValidUntil is false before an elector leads, about a lease ahead
// once it leads (and moves on with each renewal), and false again once it
// stepped down.
func TestLeaseValidUntil(t *testing.T) {
	u := testURL(t)
	const lease = time.Second
	a := startCandidate(t, u, "a", lease, false)
	if _, ok := a.LeaseValidUntil(); ok {
		// Run may already have won; only a leader may say so.
		if r := a.Role(); !r.Leader {
			t.Fatal("LeaseValidUntil ok before leading")
		}
	}
	before := time.Now()
	if r, ok := a.next(t, 5*time.Second); !ok || !r.Leader {
		t.Fatal("a did not lead")
	}
	first, ok := a.LeaseValidUntil()
	if !ok || first.After(time.Now().Add(lease)) || first.Before(before.Add(-lease)) {
		t.Fatalf("LeaseValidUntil = %v, %v; want about a lease (%v) after %v", first, ok, lease, before)
	}
	deadline := time.Now().Add(5 * time.Second)
	for { // renewed every lease/3: the end moves on
		if t2, _ := a.LeaseValidUntil(); t2.After(first) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the lease's end never moved on with a renewal")
		}
		time.Sleep(20 * time.Millisecond) // polling the elector's state, not waiting for work
	}
	a.stop()
	if _, ok := a.LeaseValidUntil(); ok {
		t.Error("LeaseValidUntil ok after stepping down")
	}
}
