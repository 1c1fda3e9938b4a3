package slackbot

import (
	"container/list"
	"sync"
	"time"

	"github.com/casebot/casebot"
)

// run is one execution of a command text, shared by the request that
// started it and any retry of that request.
type run struct {
	done chan struct{} // closed when reply is set
	mu   sync.Mutex
	// late is set when the requester acknowledged without the answer, so
	// the finished reply must go to responseURL.
	late        bool
	responseURL string
	reply       casebot.Reply
}

// finished reports whether the reply is ready, or else marks the run late
// so that its reply is posted when it is.
func (r *run) finishedOrLate(responseURL string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-r.done:
		return true
	default:
	}
	r.late = true
	if r.responseURL == "" {
		r.responseURL = responseURL
	}
	return false
}

// dedup remembers recent requests by key (trigger_id, or a hash of the
// signed body) so that a retried or replayed delivery does not run its
// command again. It is bounded in size and age.
type dedup struct {
	mu    sync.Mutex
	ttl   time.Duration
	max   int
	now   func() time.Time
	order *list.List // of *dedupEntry, oldest first
	byKey map[string]*list.Element
}

type dedupEntry struct {
	key  string
	at   time.Time
	run  *run
	seen int // deliveries of this key, including the first
}

func newDedup(ttl time.Duration, max int, now func() time.Time) *dedup {
	return &dedup{ttl: ttl, max: max, now: now, order: list.New(), byKey: map[string]*list.Element{}}
}

// claim returns the run for key and whether the caller is the first to
// claim it (and so must start it).
func (d *dedup) claim(key string) (*run, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	for e := d.order.Front(); e != nil; e = d.order.Front() {
		de := e.Value.(*dedupEntry)
		if now.Sub(de.at) < d.ttl && d.order.Len() <= d.max {
			break
		}
		d.order.Remove(e)
		delete(d.byKey, de.key)
	}
	if e, ok := d.byKey[key]; ok {
		de := e.Value.(*dedupEntry)
		de.seen++
		return de.run, false
	}
	r := &run{done: make(chan struct{})}
	d.byKey[key] = d.order.PushBack(&dedupEntry{key: key, at: now, run: r, seen: 1})
	return r, true
}
