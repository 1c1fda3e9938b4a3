package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// bucketSched holds the scheduler's state. It is created by the first
// scheduler write, so stores from before it need no migration.
//
//	scanned_to                 -> time key: end of the last committed reminder scan
//	digest \x00 user           -> JSON casebot.DigestMark
//	missed \x00 user \x00 key  -> JSON casebot.MissedReminder, until a digest lists it
var bucketSched = []byte("schedule")

// farFuture ends open time ranges; timeKey is exact until 2262.
var farFuture = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)

var (
	schedScannedTo = []byte("scanned_to")
	schedDigest    = prefixOf("digest")
	schedMissed    = prefixOf("missed")
)

// ScheduleState returns the scheduler's persistent state: the end of the
// last reminder scan (zero before the first) and every user's digest mark.
func (db *DB) ScheduleState(ctx context.Context) (casebot.ScheduleState, error) {
	st := casebot.ScheduleState{Digests: map[string]casebot.DigestMark{}}
	err := db.view(ctx, func(tx kv.Tx) error {
		b := tx.Bucket(bucketSched)
		if b == nil {
			return nil
		}
		st.ScannedTo = scannedTo(b)
		c := b.Cursor()
		for k, v := c.Seek(schedDigest); hasPrefix(k, schedDigest); k, v = c.Next() {
			var m casebot.DigestMark
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("decode digest mark %q: %w", k, err)
			}
			st.Digests[string(k[len(schedDigest):])] = m
		}
		return nil
	})
	if err != nil {
		return casebot.ScheduleState{}, fmt.Errorf("store: schedule state: %w", err)
	}
	return st, nil
}

func scannedTo(b kv.Bucket) time.Time {
	v := b.Get(schedScannedTo)
	if len(v) != 8 {
		return time.Time{}
	}
	return timeFromKey(v)
}

// timeFromKey decodes timeKey.
func timeFromKey(k []byte) time.Time {
	v := u64(k)
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(v^(1<<63))).UTC()
}

// CommitReminders commits one step of the reminder scan in one transaction:
// it queues the messages of every reminder whose item is still pending as
// the reminder says (see casebot.Reminder; an email only while its
// recipient is a party of the case), skipping messages whose Key was
// already queued or sent; it records the missed reminders not already
// queued or sent; and it moves the scan mark to b.To. It returns how many
// messages it queued, or an ECONFLICT error (nothing written) when the
// stored mark is not b.From.
func (db *DB) CommitReminders(ctx context.Context, b casebot.ReminderBatch) (int, error) {
	var queued int
	err := db.update(ctx, func(tx kv.Tx) error {
		queued = 0
		sb, err := tx.CreateBucketIfNotExists(bucketSched)
		if err != nil {
			return fmt.Errorf("create schedule bucket: %w", err)
		}
		if got := sb.Get(schedScannedTo); !bytes.Equal(got, timeKey(b.From)) && !(got == nil && b.From.IsZero()) {
			return casebot.Errorf(casebot.ECONFLICT, "the scheduler's scan mark is %s, not %s", scannedTo(sb).Format(time.RFC3339Nano), b.From.Format(time.RFC3339Nano))
		}
		seen := map[string]bool{}
		var msgs []casebot.OutMessage
		for _, r := range b.Reminders {
			ok, err := pending(tx, r)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			for _, m := range r.Msgs {
				if m.Key != "" && (seen[m.Key] || db.known(tx, m.Key)) {
					continue
				}
				if m.Kind == casebot.OutEmail && tx.Bucket(bucketIdxEmail).Get(db.emailIndexKey(m.To, r.CaseID)) == nil {
					continue // no longer a party
				}
				seen[m.Key] = true
				msgs = append(msgs, m)
			}
		}
		if err := db.enqueueTx(tx, db.now(), msgs); err != nil {
			return err
		}
		queued = len(msgs)
		for _, m := range b.Missed {
			if db.known(tx, m.Key) {
				continue
			}
			if err := putMissed(sb, m); err != nil {
				return err
			}
		}
		return sb.Put(schedScannedTo, timeKey(b.To))
	})
	if err != nil {
		return 0, fmt.Errorf("store: commit reminders: %w", err)
	}
	return queued, nil
}

// pending reports whether the deadline or session r is about is still in
// the time index exactly as r saw it: that index holds only unmet deadlines
// and live sessions of open cases, keyed by due or start time.
func pending(tx kv.Tx, r casebot.Reminder) (bool, error) {
	switch {
	case r.Deadline > 0:
		return tx.Bucket(bucketIdxDeadline).Get(append(timeKey(r.Due), numberedKey(r.CaseID, r.Deadline)...)) != nil, nil
	case r.Session > 0:
		v := tx.Bucket(bucketIdxSession).Get(append(timeKey(r.Due), numberedKey(r.CaseID, r.Session)...))
		if v == nil {
			return false, nil
		}
		clear, _, err := splitRef(nil, v)
		if err != nil {
			return false, fmt.Errorf("decode session entry of %s: %w", r.CaseID, err)
		}
		ref, err := sessionRefClear(clear)
		if err != nil {
			return false, fmt.Errorf("decode session entry of %s: %w", r.CaseID, err)
		}
		return ref.Session.Sequence == r.Sequence, nil
	}
	return true, nil // not about an item: nothing to check
}

// known reports whether an outbox key is queued or was sent.
func (db *DB) known(tx kv.Tx, key string) bool {
	if key == "" {
		return false
	}
	k := db.outKey(key)
	return tx.Bucket(bucketOutboxKey).Get(k) != nil || tx.Bucket(bucketSent).Get(k) != nil
}

func putMissed(sb kv.Bucket, m casebot.MissedReminder) error {
	v, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode missed reminder: %w", err)
	}
	if err := sb.Put(append(append([]byte(nil), schedMissed...), keyOf(m.User, m.Key)...), v); err != nil {
		return fmt.Errorf("put missed reminder: %w", err)
	}
	return nil
}

// Missed returns the reminders and digests missed for user that no digest
// has listed yet, in fire order.
func (db *DB) Missed(ctx context.Context, user string) ([]casebot.MissedReminder, error) {
	var out []casebot.MissedReminder
	err := db.view(ctx, func(tx kv.Tx) error {
		b := tx.Bucket(bucketSched)
		if b == nil {
			return nil
		}
		p := append(append([]byte(nil), schedMissed...), prefixOf(user)...)
		c := b.Cursor()
		for k, v := c.Seek(p); hasPrefix(k, p); k, v = c.Next() {
			var m casebot.MissedReminder
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("decode missed reminder %q: %w", k, err)
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: missed reminders of %s: %w", user, err)
	}
	sortMissed(out)
	return out, nil
}

func sortMissed(ms []casebot.MissedReminder) {
	for i := 1; i < len(ms); i++ { // insertion sort: short lists, stable
		for j := i; j > 0 && ms[j].Fire.Before(ms[j-1].Fire); j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
}

// CommitDigest records one digest fire of a user in one transaction: it
// queues d.Msg unless its Key was already queued or sent, clears the missed
// entries the digest listed, records newly missed digests and moves the
// user's mark (Handled to d.Fire; Sent to now when a message was queued).
// It returns whether the message was queued; false when there was none or
// that digest was already queued or sent (then only the mark moves).
func (db *DB) CommitDigest(ctx context.Context, d casebot.DigestCommit) (bool, error) {
	var queued bool
	err := db.update(ctx, func(tx kv.Tx) error {
		queued = false
		sb, err := tx.CreateBucketIfNotExists(bucketSched)
		if err != nil {
			return fmt.Errorf("create schedule bucket: %w", err)
		}
		msg, clear := d.Msg, d.Clear
		if msg != nil && db.known(tx, msg.Key) {
			// Queued before (with its mark): only make sure the mark moved.
			msg, clear = nil, nil
		}
		mk := append(append([]byte(nil), schedDigest...), d.User...)
		var mark casebot.DigestMark
		if v := sb.Get(mk); v != nil {
			if err := json.Unmarshal(v, &mark); err != nil {
				return fmt.Errorf("decode digest mark of %s: %w", d.User, err)
			}
		}
		if d.Fire.After(mark.Handled) {
			mark.Handled = d.Fire
		}
		now := db.now()
		if msg != nil {
			if err := db.enqueueTx(tx, now, []casebot.OutMessage{*msg}); err != nil {
				return err
			}
			mark.Sent, queued = now, true
		}
		for _, k := range clear {
			if err := sb.Delete(append(append([]byte(nil), schedMissed...), keyOf(d.User, k)...)); err != nil {
				return fmt.Errorf("clear missed reminder: %w", err)
			}
		}
		for _, m := range d.Missed {
			if err := putMissed(sb, m); err != nil {
				return err
			}
		}
		v, err := json.Marshal(mark)
		if err != nil {
			return fmt.Errorf("encode digest mark: %w", err)
		}
		return sb.Put(mk, v)
	})
	if err != nil {
		return false, fmt.Errorf("store: commit digest of %s: %w", d.User, err)
	}
	return queued, nil
}

// NotesSince returns the metadata (never bodies: nothing is decrypted) of
// the notes created at or after since, oldest first. Notes are stored in
// write order, so it reads only that tail of the notes.
func (db *DB) NotesSince(ctx context.Context, since time.Time) ([]casebot.NoteMeta, error) {
	out, _, err := db.NotesAfter(ctx, 0, since)
	return out, err
}

// NotesAfter returns the metadata (never bodies) of the notes stored after
// the one numbered after in the store's write order (0: from the first)
// and created at or after since, oldest first, and the number of the
// newest note (after, when there is none): a caller keeping recent notes
// reads only what came since its last call.
func (db *DB) NotesAfter(ctx context.Context, after uint64, since time.Time) ([]casebot.NoteMeta, uint64, error) {
	var out []casebot.NoteMeta
	last := after
	err := db.view(ctx, func(tx kv.Tx) error {
		c := tx.Bucket(bucketNotes).Cursor()
		k, v := c.Last()
		if k != nil && u64(k) > last {
			last = u64(k)
		}
		for ; k != nil && u64(k) > after; k, v = c.Prev() {
			nh, _, err := decodeNoteMeta(k, v)
			if err != nil {
				return err
			}
			if nh.Created.Before(since) {
				break
			}
			out = append(out, casebot.NoteMeta{CaseID: nh.CaseID, N: nh.N, Author: nh.Author, Source: nh.Source, Private: nh.Private, Created: nh.Created})
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("store: notes after %d: %w", after, err)
	}
	slices.Reverse(out)
	return out, last, nil
}

// EachDeadlineFrom calls fn with the unmet deadlines of open cases due at or
// after from, earliest first, until fn returns false. It reads the deadline
// index only, from one seek: finding the next due time costs O(log n).
// fn runs inside a read transaction and must not call the store.
func (db *DB) EachDeadlineFrom(ctx context.Context, from time.Time, fn func(casebot.DeadlineRef) bool) error {
	err := db.view(ctx, func(tx kv.Tx) error {
		return db.deadlineRange(tx, from, farFuture, nil, fn)
	})
	if err != nil {
		return fmt.Errorf("store: deadlines from %s: %w", from.Format(time.RFC3339), err)
	}
	return nil
}

// EachSessionFrom calls fn with the live sessions of open cases starting at
// or after from, earliest first, until fn returns false; like EachDeadlineFrom.
func (db *DB) EachSessionFrom(ctx context.Context, from time.Time, fn func(casebot.SessionRef) bool) error {
	err := db.view(ctx, func(tx kv.Tx) error {
		c := tx.Bucket(bucketIdxSession).Cursor()
		for k, v := c.Seek(timeKey(from)); k != nil; k, v = c.Next() {
			ref, skip, err := db.sessionRef(k, v)
			if err != nil {
				return err
			}
			if skip {
				continue
			}
			if !fn(ref) {
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: sessions from %s: %w", from.Format(time.RFC3339), err)
	}
	return nil
}

// ImportCases stores complete cases as they are (IDs, timestamps, deadlines
// and sessions included) with their indexes and a "case.import" audit event,
// in one transaction: for moving a caseload in from another system and for
// large test fixtures. It returns an ECONFLICT error, with nothing stored,
// when an ID exists already, and an EINVALID error for an invalid case.
func (db *DB) ImportCases(ctx context.Context, cases []*casebot.Case, actor string) error {
	for _, c := range cases {
		if err := c.Validate(); err != nil {
			return fmt.Errorf("store: import %s: %w", c.ID, err)
		}
		if !casebot.CaseIDPattern.MatchString(c.ID) {
			return fmt.Errorf("store: import: %w", casebot.Errorf(casebot.EINVALID, "%q is not a case ID", c.ID))
		}
	}
	err := db.update(ctx, func(tx kv.Tx) error {
		now := db.now()
		for _, in := range cases {
			if tx.Bucket(bucketCases).Get([]byte(in.ID)) != nil {
				return casebot.Errorf(casebot.ECONFLICT, "case %s exists already", in.ID)
			}
			c := cloneCase(in)
			if c.Token == "" {
				c.Token = newToken()
			}
			if c.Created.IsZero() {
				c.Created = now
			}
			if c.Updated.IsZero() {
				c.Updated = c.Created
			}
			if c.Activity.IsZero() {
				c.Activity = c.Updated
			}
			if err := db.putCase(tx, nil, c); err != nil {
				return err
			}
			if err := db.appendAudit(tx, casebot.AuditEvent{CaseID: c.ID, At: now, Actor: actor, Action: "case.import", About: casebot.About{Text: casebot.Headline(c.Title)}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: import cases: %w", err)
	}
	return nil
}
