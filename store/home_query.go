package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// The queries of a user's Slack Home (casebot.HomeService): each reads an
// index the store keeps anyway (the urgency index's sealed summaries, the
// deadline and session time indexes) and opens only the entries of the
// user's own cases, so that a Home costs no case record.

// bucketIdxDeadlineMed: mediator \0 due (8) case ID \0 N (4) -> the
// clear part of the deadline's idx_deadline entry (IDs, priority, number,
// due time: nothing that names the dispute): the unmet deadlines of open
// cases by mediator and by co-mediator (schema 10). What follows the
// mediator is the deadline's key in idx_deadline, whose sealed part holds
// the texts, so a Home reads its user's deadlines and no one else's.
var bucketIdxDeadlineMed = []byte("idx_deadline_med")

// deadlineMedEntries adds, through put, the entries of idx_deadline_med of
// an unmet deadline of c whose idx_deadline key is key and clear part
// clear.
func deadlineMedEntries(c *casebot.Case, key, clear []byte, put func(b, k []byte, v idxVal)) {
	for _, m := range append([]string{c.Mediator}, c.CoMediators...) {
		if m != "" {
			put(bucketIdxDeadlineMed, append(prefixOf(m), key...), idxVal{clear: clear})
		}
	}
}

// deadlineMedRange returns user's prefix in idx_deadline_med and the keys
// that start and end (excluded) the entries due from from (zero: the
// first) up to to.
func deadlineMedRange(user string, from, to time.Time) (p, start, end []byte) {
	p = prefixOf(user)
	end = append(bytes.Clone(p), timeKey(to)...)
	start = p
	if !from.IsZero() {
		start = append(bytes.Clone(p), timeKey(from)...)
	}
	return p, start, end
}

// deadlineMedOwner returns the case an idx_deadline_med key names.
func deadlineMedOwner(k []byte) string {
	i := bytes.IndexByte(k, sep)
	if i < 0 || len(k) < i+1+8+1+4 {
		return ""
	}
	return string(k[i+1+8 : len(k)-5])
}

// fillDeadlineMed builds idx_deadline_med from idx_deadline's clear parts
// (schema 10): no case record is read.
func fillDeadlineMed(tx kv.Tx) error {
	if err := createBuckets(tx, bucketIdxDeadlineMed); err != nil {
		return err
	}
	med := tx.Bucket(bucketIdxDeadlineMed)
	return tx.Bucket(bucketIdxDeadline).ForEach(func(k, v []byte) error {
		clear, _, err := splitRef(k, v)
		if err != nil {
			return err
		}
		r, err := deadlineRefClear(clear)
		if err != nil {
			return fmt.Errorf("deadline entry %q: %w", k, err)
		}
		for _, m := range append([]string{r.Mediator}, r.CoMediators...) {
			if m == "" {
				continue
			}
			if err := med.Put(append(prefixOf(m), k...), clear); err != nil {
				return err
			}
		}
		return nil
	})
}

// OpenSummaries returns the summaries of user's open cases, as mediator or
// co-mediator, in list order (most urgent first: priority, earliest open
// deadline, ID), from the urgency index alone. pick, when not nil, is
// shown each summary's clear part (ID, mediators, priority, status, the
// next deadline's number and due time) and says whether to keep it and
// whether to open its sealed part (the title and the next deadline's
// text): a Home of 500 cases opens the hundred it can show. A summary not
// opened has an empty title and next deadline text. pick runs inside a
// read transaction and must not call the store.
func (db *DB) OpenSummaries(ctx context.Context, user string, pick func(s *casebot.CaseSummary) (keep, open bool)) ([]casebot.CaseSummary, error) {
	out := []casebot.CaseSummary{}
	if user == "" {
		return out, nil
	}
	err := db.view(ctx, func(tx kv.Tx) error {
		p := prefixOf(user, "o")
		c := tx.Bucket(bucketIdxUrgentMed).Cursor()
		// The next deadlines the summaries point to are allocated 64 at
		// a time, not one by one.
		var nexts []casebot.Deadline
		var s casebot.CaseSummary
		for k, v := c.Seek(p); hasPrefix(k, p); k, v = c.Next() {
			if len(k) < len(p)+9 {
				return fmt.Errorf("bad urgency key %q", k)
			}
			if len(nexts) == 0 {
				nexts = make([]casebot.Deadline, 64)
			}
			sealed, err := decodeSummaryClear(&s, &nexts[0], user, string(k[len(p)+9:]), k, v)
			if err != nil {
				return err
			}
			keep, open := true, true
			if pick != nil {
				keep, open = pick(&s)
			}
			if !keep {
				continue
			}
			if open {
				if err := db.openSummary(&s, k, sealed); err != nil {
					return err
				}
			}
			if s.Next != nil {
				nexts = nexts[1:]
			}
			if len(out) == cap(out) { // doubling from 64, not from 1
				out = append(make([]casebot.CaseSummary, 0, max(64, 2*len(out))), out...)
			}
			out = append(out, s)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: open cases of %s: %w", user, err)
	}
	return out, nil
}

// EachDeadlineOf calls fn with the unmet deadlines of the open cases user
// mediates or co-mediates with from <= due < to (a zero from: from the
// first), earliest first, until fn returns false, as their clear parts say
// them: case, mediators, priority, number and due time, without the
// case's title or the deadline's text (DeadlineTexts reads those for the
// few that are shown). It walks user's part of idx_deadline_med alone:
// nothing is opened, other users' deadlines are not read at all, and no
// list of them is built (a mediator's Home counts a thousand overdue
// deadlines and shows fifteen). An empty user stands for every case (an
// admin's overdue list): idx_deadline's clear parts. fn runs inside a
// read transaction and must not call the store.
func (db *DB) EachDeadlineOf(ctx context.Context, user string, from, to time.Time, fn func(casebot.DeadlineRef) bool) error {
	err := db.view(ctx, func(tx kv.Tx) error {
		if user == "" { // every case's: idx_deadline's clear parts
			c := tx.Bucket(bucketIdxDeadline).Cursor()
			k, v := c.First()
			if !from.IsZero() {
				k, v = c.Seek(timeKey(from))
			}
			for end := timeKey(to); k != nil && bytes.Compare(k[:8], end) < 0; k, v = c.Next() {
				clear, _, err := splitRef(k, v)
				if err != nil {
					return err
				}
				ref, err := deadlineRefClear(clear)
				if err != nil {
					return fmt.Errorf("decode deadline entry %q: %w", k, err)
				}
				if !ref.Deadline.Met && !fn(ref) {
					return nil
				}
			}
			return nil
		}
		p, start, end := deadlineMedRange(user, from, to)
		c := tx.Bucket(bucketIdxDeadlineMed).Cursor()
		for k, v := c.Seek(start); hasPrefix(k, p) && bytes.Compare(k, end) < 0; k, v = c.Next() {
			ref, err := deadlineRefClearOf(v, user)
			if err != nil {
				return fmt.Errorf("decode deadline entry %q: %w", k, err)
			}
			if !ref.Deadline.Met && !fn(ref) {
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: deadlines of %s: %w", user, err)
	}
	return nil
}

// EachDeadlineKeyOf calls fn with the case, number and due time of each
// unmet deadline of the open cases user mediates or co-mediates with
// from <= due < to, earliest first, until fn returns false: what the keys
// of user's part of idx_deadline_med say, no value decoded, so that a
// Home can count and rank a thousand overdue deadlines by its cases'
// priorities for the cost of a cursor walk. caseID aliases the key: it is
// valid only during the call. fn runs inside a read transaction and must
// not call the store.
func (db *DB) EachDeadlineKeyOf(ctx context.Context, user string, from, to time.Time, fn func(caseID []byte, n int, due time.Time) bool) error {
	if user == "" {
		return nil
	}
	err := db.view(ctx, func(tx kv.Tx) error {
		p, start, end := deadlineMedRange(user, from, to)
		c := tx.Bucket(bucketIdxDeadlineMed).Cursor()
		for k, _ := c.Seek(start); hasPrefix(k, p) && bytes.Compare(k, end) < 0; k, _ = c.Next() {
			// mediator \0 due (8) case ID \0 N (4)
			rest := k[len(p):]
			if len(rest) < 8+1+1+4 || rest[len(rest)-5] != sep {
				return fmt.Errorf("bad deadline key %q", k)
			}
			due := timeFromKey(rest[:8])
			n := int(binary.BigEndian.Uint32(rest[len(rest)-4:]))
			if !fn(rest[8:len(rest)-5], n, due) {
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: deadlines of %s: %w", user, err)
	}
	return nil
}

// DeadlineTexts fills in the case title and the deadline text of each of
// refs (as EachDeadlineOf gave them) from the deadline index; a ref that
// holds a title already (told by its case's summary) is left as it is. A
// deadline met or moved since, or of a case whose data key is destroyed,
// keeps empty texts.
func (db *DB) DeadlineTexts(ctx context.Context, refs []casebot.DeadlineRef) error {
	err := db.view(ctx, func(tx kv.Tx) error {
		idx := tx.Bucket(bucketIdxDeadline)
		var key []byte
		for i := range refs {
			r := &refs[i]
			if r.Title != "" {
				continue
			}
			key = appendTimeKey(key[:0], r.Deadline.Due)
			key = binary.BigEndian.AppendUint32(append(append(key, r.CaseID...), sep), uint32(r.Deadline.N))
			v := idx.Get(key)
			if v == nil {
				continue
			}
			_, sealed, err := splitRef(key, v)
			if err != nil {
				return err
			}
			if _, err := db.openDeadlineRef(r, key, sealed); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: deadline texts: %w", err)
	}
	return nil
}

// SessionsOf returns the sessions, not cancelled, of the open cases user
// mediates or co-mediates with from <= start < to, earliest first,
// through the session time index, opening only the entries of user's
// cases.
func (db *DB) SessionsOf(ctx context.Context, user string, from, to time.Time) ([]casebot.SessionRef, error) {
	var out []casebot.SessionRef
	err := db.view(ctx, func(tx kv.Tx) error {
		end := timeKey(to)
		c := tx.Bucket(bucketIdxSession).Cursor()
		for k, v := c.Seek(timeKey(from)); k != nil && string(k[:8]) < string(end); k, v = c.Next() {
			clear, _, err := splitRef(k, v)
			if err != nil {
				return err
			}
			r, err := sessionRefClear(clear)
			if err != nil {
				return fmt.Errorf("session entry %x: %w", k, err)
			}
			if r.Session.Cancelled || (r.Mediator != user && !slices.Contains(r.CoMediators, user)) {
				continue
			}
			ref, skip, err := db.sessionRef(k, v)
			if err != nil {
				return err
			}
			if !skip {
				out = append(out, ref)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: sessions of %s: %w", user, err)
	}
	return out, nil
}
