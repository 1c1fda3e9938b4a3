package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/casebot/casebot"
)

// idxKey names one index entry: its bucket and key.
type idxKey struct{ bucket, key string }

// caseEntries returns every index entry a case record implies. It is the one
// definition of the indexes: writes apply the difference between the entries
// of the old and new record, and Check compares the stored indexes with it.
func caseEntries(c *casebot.Case) (map[idxKey][]byte, error) {
	e := make(map[idxKey][]byte)
	if c == nil {
		return e, nil
	}
	put := func(b []byte, k []byte, v []byte) {
		if v == nil {
			v = []byte{}
		}
		e[idxKey{string(b), string(k)}] = v
	}
	sv := sortValue(c)
	if c.Mediator != "" {
		put(bucketIdxMediator, keyOf(c.Mediator, c.ID), sv)
	}
	put(bucketIdxStatus, keyOf(string(c.Status), c.ID), sv)
	insightEntries(c, sv, put)
	for _, p := range c.Parties {
		if p.Email != "" {
			put(bucketIdxEmail, keyOf(strings.ToLower(p.Email), c.ID), nil)
		}
		name := casebot.NormalizeName(p.Name)
		if name == "" {
			continue
		}
		put(bucketIdxName, keyOf(name, c.ID), nil)
		for _, w := range strings.Fields(name) {
			put(bucketIdxWord, keyOf(w, c.ID, name), nil)
		}
	}
	if !c.Open() {
		return e, nil
	}
	for _, d := range c.Deadlines {
		if d.Met {
			continue
		}
		v, err := json.Marshal(casebot.DeadlineRef{CaseID: c.ID, Mediator: c.Mediator, Priority: c.Priority, Title: c.Title, Deadline: d})
		if err != nil {
			return nil, fmt.Errorf("encode deadline ref: %w", err)
		}
		put(bucketIdxDeadline, append(timeKey(d.Due), numberedKey(c.ID, d.N)...), v)
	}
	for _, s := range c.Sessions {
		if s.Cancelled {
			continue
		}
		v, err := json.Marshal(casebot.SessionRef{CaseID: c.ID, Mediator: c.Mediator, Title: c.Title, Session: s})
		if err != nil {
			return nil, fmt.Errorf("encode session ref: %w", err)
		}
		put(bucketIdxSession, append(timeKey(s.Start), numberedKey(c.ID, s.N)...), v)
	}
	return e, nil
}

// applyIndexes moves the indexes from what old implies to what c implies.
// old is nil for a new case.
func applyIndexes(tx *bolt.Tx, old, c *casebot.Case) error {
	before, err := caseEntries(old)
	if err != nil {
		return err
	}
	after, err := caseEntries(c)
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
		if ov, ok := before[k]; ok && bytes.Equal(ov, v) {
			continue
		}
		if err := tx.Bucket([]byte(k.bucket)).Put([]byte(k.key), v); err != nil {
			return fmt.Errorf("put %s entry: %w", k.bucket, err)
		}
	}
	return nil
}

// reindex rebuilds every index from the case records.
func reindex(tx *bolt.Tx) error {
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
		c, err := decodeCase(k, v)
		if err != nil {
			return fmt.Errorf("store: reindex: %w", err)
		}
		if err := applyIndexes(tx, nil, c); err != nil {
			return fmt.Errorf("store: reindex %s: %w", c.ID, err)
		}
		return nil
	})
}

// Check verifies, like `bbolt check` does for pages, that every index equals
// what a rebuild from the case records would give. It returns nil when they
// agree, else an error listing up to ten differences.
func (db *DB) Check(ctx context.Context) error {
	return db.view(ctx, func(tx *bolt.Tx) error {
		want := make(map[idxKey][]byte)
		err := tx.Bucket(bucketCases).ForEach(func(k, v []byte) error {
			c, err := decodeCase(k, v)
			if err != nil {
				return err
			}
			e, err := caseEntries(c)
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
			err := tx.Bucket(name).ForEach(func(k, v []byte) error {
				ik := idxKey{string(name), string(k)}
				wv, ok := want[ik]
				switch {
				case !ok:
					diffs = append(diffs, fmt.Sprintf("%s has stray key %q", name, k))
				case !bytes.Equal(wv, v):
					diffs = append(diffs, fmt.Sprintf("%s key %q has value %q, want %q", name, k, v, wv))
				}
				delete(want, ik)
				return nil
			})
			if err != nil {
				return err
			}
		}
		for k := range want {
			diffs = append(diffs, fmt.Sprintf("%s lacks key %q", k.bucket, k.key))
		}
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
		return fmt.Errorf("store: check: %d index differences: %w", n, errors.New(strings.Join(diffs, "; ")))
	})
}
