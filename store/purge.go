package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// A purge (SPEC §10) destroys a closed case's content for good: notes
// (bodies, emails, raw messages, attachments), party names and addresses,
// the title and free texts, the case's entries in every index (party email,
// name and word indexes; quarantine links; sent-mail Message-IDs; outbox
// messages about it not yet sent, and undeliverable ones; missed
// reminders), and the details and party addresses of its audit trail.
// It keeps the statistics record (casebot.Case.Purge) and a content-free
// audit trail, and records "case.purge". With an encryption key, the
// case's data key is destroyed after the commit: copies of the store from
// before the purge (backups) then hold only ciphertext of it.

// purgeCaseSteps delete, in the purge's transaction, what is stored per
// case under keys that start with its ID. A new kind of case content adds
// its line here (documents: purgeIndexed(their index, their data) or
// purgePrefix(their bucket)).
var purgeCaseSteps = []struct {
	what string
	run  func(db *DB, tx kv.Tx, id string) error
}{
	{"search postings", func(db *DB, tx kv.Tx, id string) error { return db.removeCasePostingsTx(tx, id) }}, // before the notes they come from
	{"note mediator index", func(_ *DB, tx kv.Tx, id string) error { return removeNoteMedTx(tx, id) }},      // before the notes too
	{"notes", purgeIndexed(bucketNoteN, bucketNotes)},
	{"documents", purgePrefix(bucketDocMeta)},
	{"document contents", purgePrefix(bucketDocData)},
	{"offers", purgePrefix(bucketOffers)},
	{"audit details", scrubAudit},
}

// purgeShared are the buckets shared by every case, without a per-case
// index: a purge scans them for entries that belong to its cases.
var purgeShared = []struct {
	what   string
	bucket []byte
	// owner returns the case an entry belongs to ("" for none).
	owner func(db *DB, k, v []byte) (string, error)
	// del removes the entry; nil deletes its key.
	del func(db *DB, tx kv.Tx, k, v []byte) error
}{
	{"outbox messages not yet sent", bucketOutbox, outOwner, removeOutEntry},
	{"undeliverable outbox messages", bucketDead, outOwner, nil},
	{"quarantine links", bucketMailQuar, quarOwner, nil},
	{"sent Message-IDs", bucketMsgID, func(_ *DB, _, v []byte) (string, error) { return string(v), nil }, nil},
	{"missed reminders", bucketSched, missedOwner, nil},
}

// purgeIndexed deletes a case's entries of index (case ID \x00 ... -> key
// in data) and the data records they name.
func purgeIndexed(index, data []byte) func(db *DB, tx kv.Tx, id string) error {
	return func(_ *DB, tx kv.Tx, id string) error {
		ib, rb := tx.Bucket(index), tx.Bucket(data)
		if ib == nil {
			return nil
		}
		keys, vals := prefixEntries(ib, prefixOf(id))
		for i, k := range keys {
			if rb != nil {
				if err := rb.Delete(vals[i]); err != nil {
					return fmt.Errorf("delete %s record: %w", data, err)
				}
			}
			if err := ib.Delete(k); err != nil {
				return fmt.Errorf("delete %s entry: %w", index, err)
			}
		}
		return nil
	}
}

// purgePrefix deletes a case's keys (case ID \x00 ...) of bucket.
func purgePrefix(bucket []byte) func(db *DB, tx kv.Tx, id string) error {
	return func(_ *DB, tx kv.Tx, id string) error {
		b := tx.Bucket(bucket)
		if b == nil {
			return nil
		}
		keys, _ := prefixEntries(b, prefixOf(id))
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return fmt.Errorf("delete %s entry: %w", bucket, err)
			}
		}
		return nil
	}
}

var _ = purgePrefix // for the next kind of per-case content (documents)

// prefixEntries copies out the keys and values of b under prefix (deleting
// while a cursor walks may skip keys).
func prefixEntries(b kv.Bucket, prefix []byte) (keys, vals [][]byte) {
	c := b.Cursor()
	for k, v := c.Seek(prefix); hasPrefix(k, prefix); k, v = c.Next() {
		keys, vals = append(keys, bytes.Clone(k)), append(vals, bytes.Clone(v))
	}
	return keys, vals
}

// scrubAudit rewrites the case's audit events without their details, and
// with a party's email address as actor replaced (casebot.Anonymize): who
// (a user), what and when stay.
func scrubAudit(db *DB, tx kv.Tx, id string) error {
	log := tx.Bucket(bucketAudit)
	keys, _ := prefixEntries(tx.Bucket(bucketAuditN), prefixOf(id))
	p := len(prefixOf(id))
	for _, k := range keys {
		seq := k[p:]
		v := log.Get(seq)
		if v == nil {
			continue
		}
		ev, err := db.decodeAudit(seq, v)
		if err != nil {
			return fmt.Errorf("decode audit event %x: %w", seq, err)
		}
		ev.Detail, ev.About, ev.Actor = "", casebot.About{}, casebot.Anonymize(ev.Actor)
		if err := log.Put(seq, appendAuditEvent(nil, &ev)); err != nil {
			return fmt.Errorf("put audit event: %w", err)
		}
	}
	return nil
}

func outOwner(db *DB, k, v []byte) (string, error) {
	m, err := db.decodeOut(k, v)
	if err != nil {
		return "", err
	}
	return m.CaseID, nil
}

func removeOutEntry(db *DB, tx kv.Tx, k, v []byte) error {
	m, err := db.decodeOut(k, v)
	if err != nil {
		return err
	}
	return db.removeOut(tx, m)
}

func quarOwner(db *DB, k, v []byte) (string, error) {
	q, err := db.decodeQuarantine(k, v)
	if err != nil {
		return "", err
	}
	if i := strings.IndexByte(q.Note, '#'); i > 0 && q.Note[:i] != q.CaseID {
		return q.Note[:i], nil // accepted into another case than it named
	}
	return q.CaseID, nil
}

func missedOwner(_ *DB, k, v []byte) (string, error) {
	if !bytes.HasPrefix(k, schedMissed) {
		return "", nil
	}
	var m casebot.MissedReminder
	if err := json.Unmarshal(v, &m); err != nil {
		return "", fmt.Errorf("decode missed reminder %q: %w", k, err)
	}
	return m.CaseID, nil
}

// sharedRef is an entry of a shared bucket that belongs to a case.
type sharedRef struct {
	step int // index in purgeShared
	key  []byte
}

// scanShared returns the entries of the shared buckets that belong to the
// cases in ids, by case.
func (db *DB) scanShared(tx kv.Tx, ids map[string]bool) (map[string][]sharedRef, error) {
	out := map[string][]sharedRef{}
	for i, s := range purgeShared {
		b := tx.Bucket(s.bucket)
		if b == nil {
			continue
		}
		err := b.ForEach(func(k, v []byte) error {
			if v == nil {
				return nil
			}
			id, err := s.owner(db, k, v)
			if err != nil {
				return err
			}
			if ids[id] {
				out[id] = append(out[id], sharedRef{step: i, key: bytes.Clone(k)})
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("scan %s: %w", s.what, err)
		}
	}
	return out, nil
}

// deleteShared deletes refs of case id that still belong to it.
func (db *DB) deleteShared(tx kv.Tx, id string, refs []sharedRef) error {
	for _, r := range refs {
		s := purgeShared[r.step]
		b := tx.Bucket(s.bucket)
		v := b.Get(r.key)
		if v == nil {
			continue
		}
		v = bytes.Clone(v)
		if owner, err := s.owner(db, r.key, v); err != nil {
			return err
		} else if owner != id {
			continue
		}
		var err error
		if s.del != nil {
			err = s.del(db, tx, r.key, v)
		} else {
			err = b.Delete(r.key)
		}
		if err != nil {
			return fmt.Errorf("delete %s: %w", s.what, err)
		}
	}
	return nil
}

// purgeTx destroys case id's content in tx (refs are its entries in the
// shared buckets) and records the purge. It returns CanPurge's refusal,
// with nothing written, for a case that may not be purged.
func (db *DB) purgeTx(tx kv.Tx, id, actor, detail string, refs []sharedRef, now time.Time) (*casebot.Case, error) {
	old, err := db.getCase(tx, id)
	if err != nil {
		return nil, err
	}
	if err := old.CanPurge(); err != nil {
		return nil, err
	}
	for _, s := range purgeCaseSteps {
		if err := s.run(db, tx, id); err != nil {
			return nil, fmt.Errorf("purge %s of %s: %w", s.what, id, err)
		}
	}
	if err := db.deleteShared(tx, id, refs); err != nil {
		return nil, fmt.Errorf("purge %s: %w", id, err)
	}
	c := cloneCase(old)
	c.Purge(now, actor)
	c.Updated = now
	if err := db.putCase(tx, old, c); err != nil {
		return nil, err
	}
	if db.keys != nil {
		if err := markKeyDestroyed(tx, id); err != nil {
			return nil, err
		}
	}
	if err := countPurgedTx(tx, now); err != nil { // report's purged cases
		return nil, err
	}
	if err := db.appendAudit(tx, casebot.AuditEvent{CaseID: id, At: now, Actor: actor, Action: "case.purge", Detail: detail}); err != nil {
		return nil, err
	}
	return c, nil
}

// purgeDetail is the content-free detail of a case.purge event.
func purgeDetail(c *casebot.Case, why string) string {
	return fmt.Sprintf("%s; %d notes, %d parties, %d deadlines, %d sessions destroyed", why, c.NoteCount, len(c.Parties), len(c.Deadlines), len(c.Sessions))
}

// timedUpdate runs fn in a write transaction and tells purgeTxHook how long
// it held the writer, commit included.
func (db *DB) timedUpdate(ctx context.Context, fn func(tx kv.Tx) error) error {
	start := time.Now()
	err := db.update(ctx, fn)
	if db.purgeTxHook != nil {
		db.purgeTxHook(time.Since(start))
	}
	return err
}

// PurgeCase destroys the content of case id now, at actor's request (the
// caller checks that actor is an admin), and returns what stays of it. It
// returns ENOTFOUND for a missing case and ECONFLICT, with nothing
// changed, for an open, held or already purged one. With an encryption
// key, the case's data key is destroyed once the purge has committed.
func (db *DB) PurgeCase(ctx context.Context, id, actor string) (*casebot.Case, error) {
	var out *casebot.Case
	var refusal error
	err := db.timedUpdate(ctx, func(tx kv.Tx) error {
		old, err := db.getCase(tx, id)
		if err != nil {
			return err
		}
		if refusal = old.CanPurge(); refusal != nil {
			return refusal
		}
		refs, err := db.scanShared(tx, map[string]bool{id: true})
		if err != nil {
			return err
		}
		out, err = db.purgeTx(tx, id, actor, purgeDetail(old, "purged on request"), refs[id], db.now())
		return err
	})
	if refusal != nil {
		return nil, refusal
	}
	if err != nil {
		return nil, fmt.Errorf("store: purge %s: %w", id, err)
	}
	if err := db.destroyKeys(id); err != nil {
		return nil, err
	}
	return out, nil
}

// destroyKeys removes the data keys of purged cases from the keyring. A
// crash before it leaves keys that the next Open removes (settleKeys).
func (db *DB) destroyKeys(ids ...string) error {
	if db.keys == nil || len(ids) == 0 {
		return nil
	}
	if err := db.keys.remove(ids...); err != nil {
		return fmt.Errorf("store: destroy data keys of purged cases (the next start retries): %w", err)
	}
	return nil
}

// purgeBatchWork bounds the work of one purge transaction: once it has run
// this long no further case joins the batch, so that with the commit the
// writer is held well under 100 ms and other writers go on between batches.
const purgeBatchWork = 25 * time.Millisecond

// PurgeExpired purges, as actor ("casebot"), every closed case that is not
// on hold and closed before closedBefore: the retention purge. It works in
// batches, each a transaction that stops taking cases after about 25 ms,
// and destroys each batch's data keys after its commit. It returns the
// IDs purged, in order, also when it stops early on an error or ctx.
func (db *DB) PurgeExpired(ctx context.Context, closedBefore time.Time, actor, why string) ([]string, error) {
	var due []string
	var refs map[string][]sharedRef
	err := db.view(ctx, func(tx kv.Tx) error {
		want := map[string]bool{}
		c := tx.Bucket(bucketIdxStatus).Cursor()
		for _, s := range casebot.Statuses {
			if !s.Closed() {
				continue
			}
			p := prefixOf(string(s))
			for k, _ := c.Seek(p); hasPrefix(k, p); k, _ = c.Next() {
				cs, err := getCaseHeader(tx, string(k[len(p):])) // dates and marks: nothing decrypted
				if err != nil {
					return err
				}
				if cs.CanPurge() == nil && !cs.Closed.IsZero() && cs.Closed.Before(closedBefore) {
					due = append(due, cs.ID)
					want[cs.ID] = true
				}
			}
		}
		if len(due) == 0 {
			return nil
		}
		var err error
		refs, err = db.scanShared(tx, want)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: retention purge: %w", err)
	}
	slices.Sort(due)
	var purged []string
	for len(due) > 0 {
		var batch []string
		err := db.timedUpdate(ctx, func(tx kv.Tx) error {
			batch = batch[:0]
			start, now := time.Now(), db.now()
			for _, id := range due {
				if len(batch) > 0 && time.Since(start) >= purgeBatchWork {
					break
				}
				old, err := db.getCase(tx, id)
				if casebot.ErrorCode(err) == casebot.ENOTFOUND || errors.Is(err, errKeyDestroyed) {
					batch = append(batch, "") // gone, or purged after this copy of the file was made
					continue
				} else if err != nil {
					return err
				}
				// Reopened, held or purged since the scan: skip it.
				if old.CanPurge() != nil || !old.Closed.Before(closedBefore) {
					batch = append(batch, "")
					continue
				}
				if _, err := db.purgeTx(tx, id, actor, purgeDetail(old, why), refs[id], now); err != nil {
					return err
				}
				batch = append(batch, id)
			}
			return nil
		})
		if err != nil {
			return purged, fmt.Errorf("store: retention purge: %w", err)
		}
		due = due[len(batch):]
		var done []string
		for _, id := range batch {
			if id != "" {
				done = append(done, id)
			}
		}
		purged = append(purged, done...)
		if err := db.destroyKeys(done...); err != nil {
			return purged, err
		}
	}
	return purged, nil
}
