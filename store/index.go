package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// idxKey names one index entry: its bucket and key.
type idxKey struct{ bucket, key string }

// idxVal is an index entry's value: clear bytes and, for the deadline and
// session time indexes (timeref.go), a part naming case content that is
// sealed under the case's data key when written. Entries are compared by
// what they say, not by their ciphertext, whose nonce is new each write.
type idxVal struct {
	clear, secret []byte
	sealed        bool
	// master seals under the master key: the entry of a purged case,
	// whose data key is destroyed and which names nothing.
	master bool
}

func (a idxVal) equal(b idxVal) bool {
	return a.sealed == b.sealed && bytes.Equal(a.clear, b.clear) && bytes.Equal(a.secret, b.secret)
}

// caseEntries returns every index entry a case record implies. It is the one
// definition of the indexes: writes apply the difference between the entries
// of the old and new record, and Check compares the stored indexes with it.
// For a case read without its content (its data key destroyed: headerOnly)
// it returns the entries its clear part implies, mediator and status.
func (db *DB) caseEntries(c *casebot.Case, headerOnly bool) (map[idxKey]idxVal, error) {
	e := make(map[idxKey]idxVal)
	if c == nil {
		return e, nil
	}
	put := func(b []byte, k []byte, v idxVal) {
		if v.clear == nil {
			v.clear = []byte{}
		}
		e[idxKey{string(b), string(k)}] = v
	}
	sv := idxVal{clear: sortValue(c)}
	if c.Mediator != "" {
		put(bucketIdxMediator, keyOf(c.Mediator, c.ID), sv)
	}
	for _, u := range c.CoMediators {
		put(bucketIdxCoMed, keyOf(u, c.ID), sv)
	}
	put(bucketIdxStatus, keyOf(string(c.Status), c.ID), sv)
	if headerOnly {
		return e, nil
	}
	db.insightEntries(c, sv.clear, put)
	for _, pe := range db.partyEntries(c) {
		put(pe.bucket, pe.key, idxVal{})
	}
	if !c.Open() {
		return e, nil
	}
	if p := c.Poll; p != nil && !p.Reminded {
		put(bucketIdxPoll, append(timeKey(p.ReminderAt()), c.ID...), idxVal{})
	}
	for _, d := range c.Deadlines {
		if d.Met {
			continue
		}
		clear, secret := deadlineRefParts(&casebot.DeadlineRef{CaseID: c.ID, Mediator: c.Mediator, CoMediators: c.CoMediators, Priority: c.Priority, Title: c.Title, Deadline: d})
		k := append(timeKey(d.Due), numberedKey(c.ID, d.N)...)
		put(bucketIdxDeadline, k, idxVal{clear: clear, secret: secret, sealed: true})
		deadlineMedEntries(c, k, clear, put)
	}
	for _, s := range c.Sessions {
		if s.Cancelled {
			continue
		}
		clear, secret := sessionRefParts(&casebot.SessionRef{CaseID: c.ID, Mediator: c.Mediator, CoMediators: c.CoMediators, Title: c.Title, Session: s})
		put(bucketIdxSession, append(timeKey(s.Start), numberedKey(c.ID, s.N)...), idxVal{clear: clear, secret: secret, sealed: true})
	}
	return e, nil
}

// storedValue returns what an index value is stored as: the sealed ones
// framed with their secret part sealed under case id's data key in tx.
func (db *DB) storedValue(tx kv.Tx, id string, key []byte, v idxVal) ([]byte, error) {
	if !v.sealed {
		return v.clear, nil
	}
	sl := db.seal
	if !v.master {
		var err error
		if sl, err = db.caseSealer(tx, id); err != nil {
			return nil, err
		}
	}
	return appendFrame2(make([]byte, 0, frameSize(sl, v.clear, v.secret)), sl, key, v.clear, v.secret), nil
}

// readValue reverses storedValue for an entry of case id.
func (db *DB) readValue(id string, key, v []byte, sealed bool) (idxVal, error) {
	if !sealed {
		return idxVal{clear: v}, nil
	}
	clear, secret, err := db.openRef(id, key, v)
	return idxVal{clear: clear, secret: secret, sealed: true}, err
}

// applyIndexes moves the indexes from what old implies to what c implies.
// old is nil for a new case.
func (db *DB) applyIndexes(tx kv.Tx, old, c *casebot.Case) error {
	before, err := db.caseEntries(old, false)
	if err != nil {
		return err
	}
	after, err := db.caseEntries(c, false)
	if err != nil {
		return err
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			if err := tx.Bucket([]byte(k.bucket)).Delete([]byte(k.key)); err != nil {
				return fmt.Errorf("delete %s entry: %w", k.bucket, err)
			}
		}
	}
	for k, v := range after {
		if ov, ok := before[k]; ok && ov.equal(v) {
			continue
		}
		sv, err := db.storedValue(tx, c.ID, []byte(k.key), v)
		if err != nil {
			return err
		}
		if err := tx.Bucket([]byte(k.bucket)).Put([]byte(k.key), sv); err != nil {
			return fmt.Errorf("put %s entry: %w", k.bucket, err)
		}
	}
	return nil
}

// readCaseForIndex reads a case for reindex and Check: whole, or, when its
// data key is destroyed or missing, its clear part only (headerOnly).
func (db *DB) readCaseForIndex(tx kv.Tx, k, v []byte) (c *casebot.Case, headerOnly bool, err error) {
	if db.caseKeyMissing(tx, string(k)) {
		c, _, err = decodeCaseHeader(k, v)
		return c, true, err
	}
	c, err = db.decodeCase(k, v)
	if errors.Is(err, errKeyDestroyed) {
		c, _, err = decodeCaseHeader(k, v)
		return c, true, err
	}
	return c, false, err
}

// reindex rebuilds every index from the case records.
func (db *DB) reindex(tx kv.Tx) error {
	for _, name := range indexBuckets {
		if tx.Bucket(name) != nil {
			if err := tx.DeleteBucket(name); err != nil {
				return fmt.Errorf("store: reindex: drop %s: %w", name, err)
			}
		}
		if _, err := tx.CreateBucket(name); err != nil {
			return fmt.Errorf("store: reindex: create %s: %w", name, err)
		}
	}
	return tx.Bucket(bucketCases).ForEach(func(k, v []byte) error {
		c, headerOnly, err := db.readCaseForIndex(tx, k, v)
		if err != nil {
			return fmt.Errorf("store: reindex: %w", err)
		}
		e, err := db.caseEntries(c, headerOnly)
		if err != nil {
			return fmt.Errorf("store: reindex %s: %w", c.ID, err)
		}
		for ek, ev := range e {
			sv, err := db.storedValue(tx, c.ID, []byte(ek.key), ev)
			if err != nil {
				return fmt.Errorf("store: reindex %s: %w", c.ID, err)
			}
			if err := tx.Bucket([]byte(ek.bucket)).Put([]byte(ek.key), sv); err != nil {
				return fmt.Errorf("store: reindex %s: %w", c.ID, err)
			}
		}
		return nil
	})
}

// Check verifies, like `bbolt check` does for pages, that every index equals
// what a rebuild from the case records would give and, with an encryption
// key, that the keyring holds the data key of every case whose content uses
// one. The entries of a case whose data key is destroyed (a copy of the
// file from before its purge) are left out of the comparison but the
// missing key is reported. It returns nil when all is well, else an error
// listing up to ten problems.
func (db *DB) Check(ctx context.Context) error {
	return db.view(ctx, func(tx kv.Tx) error {
		want := make(map[idxKey]idxVal)
		unreadable := map[string]bool{}
		err := tx.Bucket(bucketCases).ForEach(func(k, v []byte) error {
			c, headerOnly, err := db.readCaseForIndex(tx, k, v)
			if err != nil {
				return err
			}
			if headerOnly {
				unreadable[c.ID] = true
			}
			e, err := db.caseEntries(c, headerOnly)
			if err != nil {
				return err
			}
			for ek, ev := range e {
				want[ek] = ev
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("store: check: %w", err)
		}
		var diffs []string
		for _, name := range indexBuckets {
			sealed := bytes.Equal(name, bucketIdxDeadline) || bytes.Equal(name, bucketIdxSession) ||
				bytes.Equal(name, bucketIdxUrgent) || bytes.Equal(name, bucketIdxUrgentMed)
			err := tx.Bucket(name).ForEach(func(k, v []byte) error {
				ik := idxKey{string(name), string(k)}
				wv, ok := want[ik]
				delete(want, ik)
				if !ok && unreadable[db.indexOwner(name, k)] {
					return nil
				}
				if !ok {
					diffs = append(diffs, fmt.Sprintf("%s has stray key %q", name, k))
					return nil
				}
				got, err := db.readValue(db.indexOwner(name, k), k, v, sealed)
				switch {
				case err != nil:
					diffs = append(diffs, fmt.Sprintf("%s key %q: %v", name, k, err))
				case !got.equal(wv):
					diffs = append(diffs, fmt.Sprintf("%s key %q has value %q, want %q", name, k, got.clear, wv.clear))
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		for k := range want {
			diffs = append(diffs, fmt.Sprintf("%s lacks key %q", k.bucket, k.key))
		}
		keys, err := db.checkKeys(tx)
		if err != nil {
			return fmt.Errorf("store: check data keys: %w", err)
		}
		diffs = append(diffs, keys...)
		more, err := checkInsight(tx, db)
		if err != nil {
			return err
		}
		diffs = append(diffs, more...)
		if len(diffs) == 0 {
			return nil
		}
		n := len(diffs)
		if n > 10 {
			diffs = diffs[:10]
		}
		return fmt.Errorf("store: check: %d problems: %w", n, errors.New(strings.Join(diffs, "; ")))
	})
}

// indexOwner returns the case an index entry belongs to ("" when its key
// does not say).
func (db *DB) indexOwner(bucket, k []byte) string {
	switch {
	case bytes.Equal(bucket, bucketIdxDeadline), bytes.Equal(bucket, bucketIdxSession):
		if len(k) < 8+1+4 {
			return ""
		}
		return string(k[8 : len(k)-5])
	case bytes.Equal(bucket, bucketIdxDeadlineMed):
		return deadlineMedOwner(k)
	case bytes.Equal(bucket, bucketIdxUrgent), bytes.Equal(bucket, bucketIdxUrgentMed):
		// [mediator \x00] class \x00 urgency (9) case ID
		if bytes.Equal(bucket, bucketIdxUrgentMed) {
			i := bytes.IndexByte(k, sep)
			if i < 0 {
				return ""
			}
			k = k[i+1:]
		}
		if len(k) <= 2+9 {
			return ""
		}
		return string(k[2+9:])
	case bytes.Equal(bucket, bucketIdxEmail), bytes.Equal(bucket, bucketIdxName), bytes.Equal(bucket, bucketIdxWord):
		if db.hashedTerms() {
			if len(k) <= termHashLen+1 {
				return ""
			}
			return string(k[termHashLen+1:])
		}
		parts := strings.Split(string(k), string(rune(sep)))
		if len(parts) < 2 {
			return ""
		}
		return parts[1]
	}
	i := bytes.IndexByte(k, sep)
	if i < 0 {
		return ""
	}
	return string(k[i+1:])
}
