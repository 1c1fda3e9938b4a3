package scheduler

import (
	"context"
	"sync"
	"time"

	"github.com/casebot/casebot"
)

// recentNotes keeps the metadata (no bodies) of the notes of the last few
// days, so that each Home, which counts a mediator's party emails since
// their last digest, reads from the store only the notes written since the
// previous Home, not every note since yesterday (thousands on a busy day,
// and a round trip per page of them on PostgreSQL). Notes are kept in the
// store's write order.
type recentNotes struct {
	mu    sync.Mutex
	from  time.Time // notes created from here on are all held
	last  uint64    // the newest note read
	notes []casebot.NoteMeta
}

// recentKeep is how far back the notes kept reach; a Home asking further
// back (a mediator with no digest for a week) reads the store afresh.
const recentKeep = 8 * 24 * time.Hour

// notesSince returns the notes created at or after since, oldest first.
func (s *Scheduler) notesSince(ctx context.Context, since, now time.Time) ([]casebot.NoteMeta, error) {
	r := &s.recent
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.from.IsZero() || since.Before(r.from) {
		from := now.Add(-recentKeep)
		if since.Before(from) {
			from = since
		}
		notes, last, err := s.cfg.Store.NotesAfter(ctx, 0, from)
		if err != nil {
			return nil, err
		}
		r.from, r.last, r.notes = from, last, notes
	} else {
		more, last, err := s.cfg.Store.NotesAfter(ctx, r.last, r.from)
		if err != nil {
			return nil, err
		}
		r.last, r.notes = last, append(r.notes, more...)
	}
	if cut := now.Add(-recentKeep); r.from.Before(cut) && since.After(cut) {
		r.from, r.notes = cut, createdFrom(r.notes, cut)
	}
	return createdFrom(r.notes, since), nil
}

// createdFrom returns a copy of the notes created at or after t. The
// store's write order is creation order only as far as the instances'
// clocks agree, so every note is looked at.
func createdFrom(notes []casebot.NoteMeta, t time.Time) []casebot.NoteMeta {
	out := make([]casebot.NoteMeta, 0, len(notes))
	for _, n := range notes {
		if !n.Created.Before(t) {
			out = append(out, n)
		}
	}
	return out
}
