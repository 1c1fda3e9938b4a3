package store

import (
	"sync"
	"sync/atomic"

	"github.com/casebot/casebot"
)

// termsAhead hashes the search terms of a batch's notes in a goroutine of
// its own while the ingest transaction runs, so that the store's one
// writer does not spend its time on HMACs (a note's terms depend on its
// text and the store's term key only, not on the transaction). The writer
// takes an item's terms when they are ready and hashes them itself when
// not; the goroutine then skips past what the writer has reached. Ingest
// stops and waits for it before returning.
type termsAhead struct {
	terms [][][termLen]byte // by item; set before done passes the item
	done  atomic.Int64      // items before done have been dealt with
	next  atomic.Int64      // the writer has reached this item
	stop  atomic.Bool
	wg    sync.WaitGroup
}

// minTermsAhead is the smallest batch worth a goroutine.
const minTermsAhead = 8

// hashTermsAhead starts hashing the terms of items' notes, or returns nil
// for a batch too small to gain from it.
func (db *DB) hashTermsAhead(items []casebot.MailItem) *termsAhead {
	if len(items) < minTermsAhead {
		return nil
	}
	a := &termsAhead{terms: make([][][termLen]byte, len(items))}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		t := db.newTermer()
		defer putTermer(t)
		for i := 0; i < len(items) && !a.stop.Load(); i++ {
			i = max(i, int(a.next.Load()))
			if i >= len(items) {
				break
			}
			if n := items[i].Note; n != nil {
				a.terms[i] = db.noteTerms(t, n)
			}
			a.done.Store(int64(i + 1))
		}
	}()
	return a
}

// take returns item i's terms when they are ready (nil otherwise), and
// tells the goroutine the writer has reached i. A nil a has none.
func (a *termsAhead) take(i int) [][termLen]byte {
	if a == nil {
		return nil
	}
	a.next.Store(int64(i + 1))
	if int(a.done.Load()) > i {
		return a.terms[i]
	}
	return nil
}

// close stops the goroutine and waits for it.
func (a *termsAhead) close() {
	if a != nil {
		a.stop.Store(true)
		a.wg.Wait()
	}
}
