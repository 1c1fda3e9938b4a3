package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// Enqueue adds messages to the persistent outbox. It is idempotent on Key: a
// message whose Key is pending or was already delivered is dropped. Created
// and NextTry default to now. Concurrent calls share commits.
func (db *DB) Enqueue(ctx context.Context, msgs ...casebot.OutMessage) error {
	if len(msgs) == 0 {
		return nil
	}
	if err := db.batch(ctx, func(tx kv.Tx) error { return db.enqueueTx(tx, db.now(), msgs) }); err != nil {
		return fmt.Errorf("store: enqueue: %w", err)
	}
	return nil
}

// enqueueTx stores msgs in tx, skipping known keys. It copies each message
// and never changes msgs, so a rerun Batch sees the same input.
func (db *DB) enqueueTx(tx kv.Tx, now time.Time, msgs []casebot.OutMessage) error {
	for _, in := range msgs {
		if _, err := db.enqueueOne(tx, now, in); err != nil {
			return err
		}
	}
	return nil
}

// enqueueOne stores m (a copy) in tx unless its key is pending or sent,
// and reports whether it did.
func (db *DB) enqueueOne(tx kv.Tx, now time.Time, m casebot.OutMessage) (bool, error) {
	var key []byte
	if m.Key != "" {
		key = db.outKey(m.Key)
		if tx.Bucket(bucketOutboxKey).Get(key) != nil || tx.Bucket(bucketSent).Get(key) != nil {
			return false, nil
		}
	}
	ob := appendBucket(tx, bucketOutbox)
	id, err := ob.NextSequence()
	if err != nil {
		return false, fmt.Errorf("outbox sequence: %w", err)
	}
	m.ID = id
	if m.Created.IsZero() {
		m.Created = now
	}
	if m.NextTry.IsZero() {
		m.NextTry = m.Created
	}
	m.Attempts, m.LastError = 0, ""
	k := be64(id)
	v, err := db.encodeOut(tx, k, &m)
	if err != nil {
		return false, err
	}
	if err := ob.Put(k, v); err != nil {
		return false, fmt.Errorf("put outbox message %d: %w", id, err)
	}
	if key != nil {
		if err := tx.Bucket(bucketOutboxKey).Put(key, k); err != nil {
			return false, fmt.Errorf("put outbox key: %w", err)
		}
	}
	rcpt := db.outTo(m.To)
	to := make([]byte, 0, len(rcpt)+9)
	to = append(append(append(to, rcpt...), sep), k...)
	if err := tx.Bucket(bucketOutboxTo).Put(to, []byte{}); err != nil {
		return false, fmt.Errorf("put outbox recipient: %w", err)
	}
	if m.MessageID != "" && m.CaseID != "" {
		if err := tx.Bucket(bucketMsgID).Put([]byte(m.MessageID), []byte(m.CaseID)); err != nil {
			return false, fmt.Errorf("put message id: %w", err)
		}
	}
	return true, nil
}

// putOut writes m.
func (db *DB) putOut(tx kv.Tx, m *casebot.OutMessage) error {
	k := be64(m.ID)
	v, err := db.encodeOut(tx, k, m)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketOutbox).Put(k, v); err != nil {
		return fmt.Errorf("put outbox message %d: %w", m.ID, err)
	}
	return nil
}

func (db *DB) getOut(tx kv.Tx, id uint64) (*casebot.OutMessage, error) {
	k := be64(id)
	v := tx.Bucket(bucketOutbox).Get(k)
	if v == nil {
		return nil, fmt.Errorf("%w%.0w", notFound("no outbox message %d", id), casebot.ErrNotFound)
	}
	return db.decodeOut(k, v)
}

// heads calls fn with each recipient's oldest pending message, the only
// one that may go out next: later messages wait behind it to keep order.
func (db *DB) heads(tx kv.Tx, fn func(m *casebot.OutMessage)) error {
	c := tx.Bucket(bucketOutboxTo).Cursor()
	for k, _ := c.First(); k != nil; {
		if len(k) < 9 {
			return fmt.Errorf("bad outbox recipient key %q", k)
		}
		to := k[:len(k)-9]
		m, err := db.getOut(tx, u64(k[len(k)-8:]))
		if err != nil {
			return err
		}
		fn(m)
		// Skip the recipient's later messages: seek past "to\x00\xff...".
		k, _ = c.Seek(append(append([]byte(nil), to...), sep+1))
	}
	return nil
}

// OutboxDue returns, for each recipient, its oldest pending message if that
// one is due (NextTry <= now), ordered by ID, at most limit (0: no limit).
// With kinds, only messages of those kinds count: the others wait for a
// daemon that can deliver them (e.g. Slack notices while Slack is off).
func (db *DB) OutboxDue(ctx context.Context, now time.Time, limit int, kinds ...string) ([]casebot.OutMessage, error) {
	var out []casebot.OutMessage
	err := db.view(ctx, func(tx kv.Tx) error {
		return db.heads(tx, func(m *casebot.OutMessage) {
			if !m.NextTry.After(now) && ofKind(m, kinds) {
				out = append(out, *m)
			}
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: outbox due: %w", err)
	}
	slices.SortFunc(out, func(a, b casebot.OutMessage) int { return cmp.Compare(a.ID, b.ID) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// OutboxDone removes a delivered message and remembers its key as sent, so
// enqueuing it again is a no-op. It returns ENOTFOUND for an unknown ID.
func (db *DB) OutboxDone(ctx context.Context, id uint64) error {
	err := db.update(ctx, func(tx kv.Tx) error {
		m, err := db.getOut(tx, id)
		if err != nil {
			return err
		}
		return db.removeOut(tx, m)
	})
	if err != nil {
		return fmt.Errorf("store: outbox done %d: %w", id, err)
	}
	return nil
}

// OutboxDead sets aside a message that can never be delivered (a deleted
// Slack user, a rejected address): it leaves the queue, so it stops blocking
// its recipient's later messages, and is kept in outbox_dead with the reason
// as LastError. Its key counts as sent. It returns ENOTFOUND for an unknown ID.
func (db *DB) OutboxDead(ctx context.Context, id uint64, reason string) error {
	err := db.update(ctx, func(tx kv.Tx) error {
		m, err := db.getOut(tx, id)
		if err != nil {
			return err
		}
		if err := db.removeOut(tx, m); err != nil {
			return err
		}
		m.LastError = reason
		k := be64(id)
		v, err := db.encodeOut(tx, k, m)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketDead).Put(k, v)
	})
	if err != nil {
		return fmt.Errorf("store: outbox dead %d: %w", id, err)
	}
	return nil
}

// removeOut deletes m from the queue and its indexes and marks its key sent.
func (db *DB) removeOut(tx kv.Tx, m *casebot.OutMessage) error {
	k := be64(m.ID)
	if err := tx.Bucket(bucketOutbox).Delete(k); err != nil {
		return fmt.Errorf("delete outbox message: %w", err)
	}
	if b := tx.Bucket(bucketInFlight); b != nil {
		if err := b.Delete(k); err != nil {
			return fmt.Errorf("delete in-flight mark: %w", err)
		}
	}
	if err := tx.Bucket(bucketOutboxTo).Delete(append(append(db.outTo(m.To), sep), k...)); err != nil {
		return fmt.Errorf("delete outbox recipient: %w", err)
	}
	if m.Key == "" {
		return nil
	}
	key := db.outKey(m.Key)
	if err := tx.Bucket(bucketOutboxKey).Delete(key); err != nil {
		return fmt.Errorf("delete outbox key: %w", err)
	}
	if m.Kind == casebot.OutHome {
		return nil // a Home refresh is due after its slot: its key never comes again
	}
	if err := tx.Bucket(bucketSent).Put(key, timeKey(db.now())); err != nil {
		return fmt.Errorf("put sent key: %w", err)
	}
	return nil
}

// bucketInFlight marks the outbox messages an attempt to deliver has begun
// for, until the message is done or dead: ID -> start of the first attempt.
// It is created by the first OutboxBegin, so older files need no migration.
var bucketInFlight = []byte("outbox_inflight")

// OutboxBegin records, before a delivery attempt, that message id is in
// flight, and reports whether an earlier attempt had already begun. A
// begun message whose outcome is still open was being sent when the daemon
// crashed, or its last attempt failed in a way that does not prove it did
// not arrive: the caller should ask the remote side before sending again.
// The mark goes with OutboxDone and OutboxDead (not OutboxRetry). It
// returns ENOTFOUND for an unknown ID. Concurrent calls share commits.
func (db *DB) OutboxBegin(ctx context.Context, id uint64) (resumed bool, err error) {
	err = db.batch(ctx, func(tx kv.Tx) error {
		resumed = false
		k := be64(id)
		if tx.Bucket(bucketOutbox).Get(k) == nil {
			return notFound("no outbox message %d", id)
		}
		b, err := tx.CreateBucketIfNotExists(bucketInFlight)
		if err != nil {
			return fmt.Errorf("create in-flight bucket: %w", err)
		}
		if b.Get(k) != nil {
			resumed = true
			return nil
		}
		return b.Put(k, timeKey(db.now()))
	})
	if err != nil {
		return false, fmt.Errorf("store: outbox begin %d: %w", id, err)
	}
	return resumed, nil
}

// OutboxRetry records a failed attempt: Attempts+1, NextTry = next and the
// error text. It returns ENOTFOUND for an unknown ID.
func (db *DB) OutboxRetry(ctx context.Context, id uint64, next time.Time, lastErr string) error {
	err := db.update(ctx, func(tx kv.Tx) error {
		old, err := db.getOut(tx, id)
		if err != nil {
			return err
		}
		m := *old
		m.Attempts++
		m.NextTry = next
		m.LastError = lastErr
		return db.putOut(tx, &m)
	})
	if err != nil {
		return fmt.Errorf("store: outbox retry %d: %w", id, err)
	}
	return nil
}

// OutboxDepth returns the number of pending messages.
func (db *DB) OutboxDepth(ctx context.Context) (int, error) {
	var n int
	err := db.view(ctx, func(tx kv.Tx) error {
		n = tx.Bucket(bucketOutbox).KeyN()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: outbox depth: %w", err)
	}
	return n, nil
}

// OutboxNext returns the earliest NextTry of the messages that may go out
// next (each recipient's oldest; a message queued behind a failing one waits
// for it), and false when the outbox is empty. A worker sleeping until then
// never wakes to find nothing due.
func (db *DB) OutboxNext(ctx context.Context, kinds ...string) (time.Time, bool, error) {
	var next time.Time
	var ok bool
	err := db.view(ctx, func(tx kv.Tx) error {
		return db.heads(tx, func(m *casebot.OutMessage) {
			if ofKind(m, kinds) && (!ok || m.NextTry.Before(next)) {
				next, ok = m.NextTry, true
			}
		})
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("store: outbox next: %w", err)
	}
	return next, ok, nil
}

// CaseForMessageID returns the case of an email casebot sent with the given
// Message-ID (as queued in the outbox), for threading replies; ENOTFOUND
// when casebot never sent it.
func (db *DB) CaseForMessageID(ctx context.Context, messageID string) (string, error) {
	var id string
	err := db.view(ctx, func(tx kv.Tx) error {
		v := tx.Bucket(bucketMsgID).Get([]byte(messageID))
		if v == nil {
			return notFound("no email with Message-ID %s was sent", messageID)
		}
		id = string(v)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("store: message id: %w", err)
	}
	return id, nil
}

// ofKind reports whether m is of one of kinds; every message is when kinds
// is empty.
func ofKind(m *casebot.OutMessage, kinds []string) bool {
	return len(kinds) == 0 || slices.Contains(kinds, m.Kind)
}

// OutboxDeadCount returns how many messages were set aside as undeliverable.
func (db *DB) OutboxDeadCount(ctx context.Context) (int, error) {
	var n int
	err := db.view(ctx, func(tx kv.Tx) error {
		n = tx.Bucket(bucketDead).KeyN()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: outbox dead count: %w", err)
	}
	return n, nil
}

// outKey is the outbox_key and sent key of a message key. Message keys
// name what a message is about, party addresses included
// ("session/<case>/…/ann@example.com"), and sent keys are kept for good,
// also after a purge: they are stored hashed, under the index key with an
// encryption key (termKey, domain "outbox key"), with SHA-256 without.
func (db *DB) outKey(key string) []byte {
	if db.hashedTerms() {
		return db.termKey("outbox key", key)
	}
	sum := sha256.Sum256([]byte(key))
	return sum[:]
}

// outTo is a recipient's part of its outbox_to keys: with an encryption
// key an email address (a party's) is hashed (termKey, domain "outbox
// recipient"); Slack user IDs, and everything without a key, stay as they
// are.
func (db *DB) outTo(to string) []byte {
	if db.hashedTerms() && strings.Contains(to, "@") {
		return db.termKey("outbox recipient", to)
	}
	return []byte(to)
}
