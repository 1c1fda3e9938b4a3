package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// bucketNoticeFeed holds the email notes whose mediator notice is still to
// be queued: mediator \x00 first note sequence (uint64) -> the sequences of
// the other notes of that commit for that mediator, as ascending uvarint
// deltas. Ingest writes one record per mediator and commit, in the
// transaction that stores the notes, so a note is never without its
// notice; FeedNotices turns records into outbox messages at the pace the
// mediator's queue drains. It is created by the first Ingest that needs it.
var bucketNoticeFeed = []byte("notice_feed")

// noticeFeed collects a commit's feed records: note sequences by mediator,
// with the mediators in the order of their first note.
type noticeFeed struct {
	seqs  map[string][]uint64
	order []string
}

func (f *noticeFeed) add(mediator string, seq uint64) {
	if f.seqs == nil {
		f.seqs = map[string][]uint64{}
	}
	if _, ok := f.seqs[mediator]; !ok {
		f.order = append(f.order, mediator)
	}
	f.seqs[mediator] = append(f.seqs[mediator], seq)
}

// write stores one record per mediator in tx.
func (f *noticeFeed) write(tx kv.Tx) error {
	if len(f.order) == 0 {
		return nil
	}
	b, err := mailBucket(tx, bucketNoticeFeed)
	if err != nil {
		return err
	}
	for _, m := range f.order {
		k, v := feedRecord(m, f.seqs[m])
		if err := b.Put(k, v); err != nil {
			return fmt.Errorf("put notice feed: %w", err)
		}
	}
	return nil
}

// feedRecord encodes ascending note sequences of one mediator.
func feedRecord(mediator string, seqs []uint64) (key, val []byte) {
	key = binary.BigEndian.AppendUint64(prefixOf(mediator), seqs[0])
	val = make([]byte, 0, 2*(len(seqs)-1))
	for i := 1; i < len(seqs); i++ {
		val = binary.AppendUvarint(val, seqs[i]-seqs[i-1])
	}
	return key, val
}

// decodeFeedRecord returns a record's mediator and note sequences.
func decodeFeedRecord(key, val []byte) (string, []uint64, error) {
	if len(key) < 9 || key[len(key)-9] != sep {
		return "", nil, fmt.Errorf("bad notice feed key %q", key)
	}
	seqs := []uint64{u64(key[len(key)-8:])}
	for len(val) > 0 {
		d, n := binary.Uvarint(val)
		if n <= 0 || d == 0 {
			return "", nil, fmt.Errorf("bad notice feed record %q", key)
		}
		seqs = append(seqs, seqs[len(seqs)-1]+d)
		val = val[n:]
	}
	return string(key[:len(key)-9]), seqs, nil
}

// NoticesPending returns how many notes still wait in the notice feed for
// their mediator's notice to be queued.
func (db *DB) NoticesPending(ctx context.Context) (int, error) {
	var n int
	err := db.view(ctx, func(tx kv.Tx) error {
		b := tx.Bucket(bucketNoticeFeed)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			_, seqs, err := decodeFeedRecord(k, v)
			n += len(seqs)
			return err
		})
	})
	if err != nil {
		return 0, fmt.Errorf("store: notices pending: %w", err)
	}
	return n, nil
}

// FeedNotices queues, for each mediator with notes in the notice feed, the
// notices of their oldest notes (casebot.EmailNoteNotice, built from the
// note and its case as they are now), enough to have perRecipient messages pending to that
// mediator; and removes those notes from the feed, all in one transaction.
// A mediator's queue is refilled once at most half of perRecipient is
// pending, so that a backlog drained one message at a time costs a commit
// every few messages, not one each.
// A note whose case or record is gone gets no notice, nor does a case with
// no mediator; a notice whose key is pending or was sent is not queued
// twice. It returns how many notices it queued. When nothing is to be done
// it writes nothing.
//
// Ingest records each new email note in the feed rather than building its
// notice on the intake's single writer: a burst of mail is stored at the
// rate the mailbox delivers it, and its notices go out at the rate the
// mediator's Slack queue drains, built from what the note and case say
// then. The outbox worker calls this at the start of every round.
func (db *DB) FeedNotices(ctx context.Context, perRecipient int) (int, error) {
	if perRecipient <= 0 {
		perRecipient = 1
	}
	// A read transaction first: a round with nothing to feed (the usual
	// case) must not cost a commit.
	var work bool
	err := db.view(ctx, func(tx kv.Tx) error {
		var err error
		work, err = feedWalk(tx, perRecipient, func(string, []byte, []uint64, int) (bool, error) { return true, nil })
		return err
	})
	if err != nil || !work {
		return 0, wrapFeed(err)
	}
	var queued int
	err = db.update(ctx, func(tx kv.Tx) error {
		queued = 0
		now := db.now()
		cases := map[string]*casebot.Case{}
		// Each used record is deleted; a partly used one is put back
		// under its first unused note (putK).
		type edit struct{ del, putK, putV []byte }
		var edits []edit
		_, err := feedWalk(tx, perRecipient, func(mediator string, key []byte, seqs []uint64, room int) (bool, error) {
			take := min(room, len(seqs))
			for _, seq := range seqs[:take] {
				ok, err := db.feedOne(tx, now, seq, cases)
				if err != nil {
					return false, err
				}
				if ok {
					queued++
				}
			}
			e := edit{del: bytes.Clone(key)}
			if take < len(seqs) {
				e.putK, e.putV = feedRecord(mediator, seqs[take:])
			}
			edits = append(edits, e)
			return take == len(seqs), nil
		})
		if err != nil {
			return err
		}
		b := tx.Bucket(bucketNoticeFeed)
		for _, e := range edits {
			if err := b.Delete(e.del); err != nil {
				return fmt.Errorf("delete notice feed: %w", err)
			}
			if e.putK != nil {
				if err := b.Put(e.putK, e.putV); err != nil {
					return fmt.Errorf("put notice feed: %w", err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, wrapFeed(err)
	}
	return queued, nil
}

func wrapFeed(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("store: feed notices: %w", err)
}

// feedWalk calls fn with each feed record of every mediator who has room
// for more pending messages, oldest first, and the room left: fn reports
// whether the record was used up (so the walk may go on to the mediator's
// next record). feedWalk reports whether it called fn at all.
func feedWalk(tx kv.Tx, perRecipient int, fn func(mediator string, key []byte, seqs []uint64, room int) (bool, error)) (bool, error) {
	b := tx.Bucket(bucketNoticeFeed)
	if b == nil {
		return false, nil
	}
	called := false
	c := b.Cursor()
	for k, v := c.First(); k != nil; {
		mediator, _, err := decodeFeedRecord(k, v)
		if err != nil {
			return called, err
		}
		p := prefixOf(mediator)
		room := perRecipient - pendingTo(tx, p, perRecipient)
		if room < (perRecipient+1)/2 {
			room = 0 // refill once half the queue has gone, not per message
		}
		for ; room > 0 && hasPrefix(k, p); k, v = c.Next() {
			_, seqs, err := decodeFeedRecord(k, v)
			if err != nil {
				return called, err
			}
			called = true
			done, err := fn(mediator, k, seqs, room)
			if err != nil {
				return called, err
			}
			if !done {
				break
			}
			room -= len(seqs)
		}
		// On to the next mediator: seek past "mediator\x00\xff...".
		k, v = c.Seek(append([]byte(mediator), sep+1))
	}
	return called, nil
}

// pendingTo counts the messages pending to the recipient whose
// outbox_to prefix is p, up to limit.
func pendingTo(tx kv.Tx, p []byte, limit int) int {
	c := tx.Bucket(bucketOutboxTo).Cursor()
	n := 0
	for k, _ := c.Seek(p); n < limit && hasPrefix(k, p); k, _ = c.Next() {
		n++
	}
	return n
}

// feedOne queues the notice of the note with sequence seq, reporting
// whether it did.
func (db *DB) feedOne(tx kv.Tx, now time.Time, seq uint64, cases map[string]*casebot.Case) (bool, error) {
	k := be64(seq)
	v := tx.Bucket(bucketNotes).Get(k)
	if v == nil {
		return false, nil // deleted with its case
	}
	n, err := db.decodeNote(k, v)
	if err != nil {
		return false, err
	}
	c, ok := cases[n.CaseID]
	if !ok {
		c, err = db.getCase(tx, n.CaseID)
		if casebot.ErrorCode(err) == casebot.ENOTFOUND {
			c, err = nil, nil
		} else if err != nil {
			return false, err
		}
		cases[n.CaseID] = c
	}
	if c == nil {
		return false, nil
	}
	m := casebot.EmailNoteNotice(c, n)
	if m.To == "" {
		return false, nil
	}
	for _, cm := range casebot.CoMediatorCopies(m, c.CoMediators) {
		if _, err := db.enqueueOne(tx, now, cm); err != nil {
			return false, err
		}
	}
	return db.enqueueOne(tx, now, m)
}
