package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// bucketIdxNoteMed lists the notes of each mediator's and co-mediator's
// cases newest last (schema 12), for the search of a non-admin:
//
//	mediator \0 created (8, timeKey) record key (8) -> case ID \0 N (4)
//
// The key after the mediator is a search posting's position (posting.pos),
// so the entries of one mediator run in the order of every term's
// postings. A mediator's common word is found by walking their own notes
// and asking each term whether it holds the note, instead of walking the
// term's postings past every other mediator's notes (searchMine). Nothing
// in it names the dispute: case IDs, note numbers and times, which the
// note records show in the clear anyway.
//
// It is kept in the transaction of every note (addNoteTx), of every change
// to a case's mediator or co-mediators (putCase: the case's entries move),
// and of a purge (removed with the notes); migration 12 builds it and
// Check compares it with the notes.
var bucketIdxNoteMed = []byte("idx_note_med")

// noteMedLen is the length of the part of an idx_note_med key after the
// mediator's prefix.
const noteMedLen = 16

// noteMediators returns the people whose search sees c's notes through
// the mediator and co-mediator indexes, each once.
func noteMediators(c *casebot.Case) []string {
	if c == nil {
		return nil
	}
	var out []string
	for _, m := range append([]string{c.Mediator}, c.CoMediators...) {
		if m != "" && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// noteMedKey is the entry key of mediator m for the note at pos.
func noteMedKey(m string, pos [16]byte) []byte {
	return append(prefixOf(m), pos[:]...)
}

// putNoteMedTx adds the entries of note n, new and stored under seq, of
// case c.
func putNoteMedTx(tx kv.Tx, c *casebot.Case, n *casebot.Note, seq uint64) error {
	p := newPosting(n, seq)
	b := tx.Bucket(bucketIdxNoteMed)
	for _, m := range noteMediators(c) {
		if err := b.PutNew(noteMedKey(m, p.pos), numberedKey(c.ID, n.N)); err != nil {
			return fmt.Errorf("put note mediator entry: %w", err)
		}
	}
	return nil
}

// moveNoteMedTx moves the entries of c's notes from the people of old to
// those of c when they differ (a reassignment, a co-mediator added or
// removed). It reads each note's clear header: nothing is decrypted.
func moveNoteMedTx(tx kv.Tx, old, c *casebot.Case) error {
	if old == nil || c == nil || c.NoteCount == 0 {
		return nil
	}
	was, now := noteMediators(old), noteMediators(c)
	var gone, added []string
	for _, m := range was {
		if !slices.Contains(now, m) {
			gone = append(gone, m)
		}
	}
	for _, m := range now {
		if !slices.Contains(was, m) {
			added = append(added, m)
		}
	}
	if len(gone) == 0 && len(added) == 0 {
		return nil
	}
	b := tx.Bucket(bucketIdxNoteMed)
	return forEachNoteMeta(tx, c.ID, func(n *casebot.Note, seq uint64) error {
		pos := newPosting(n, seq).pos
		for _, m := range gone {
			if err := b.Delete(noteMedKey(m, pos)); err != nil {
				return fmt.Errorf("delete note mediator entry: %w", err)
			}
		}
		for _, m := range added {
			if err := b.Put(noteMedKey(m, pos), numberedKey(c.ID, n.N)); err != nil {
				return fmt.Errorf("put note mediator entry: %w", err)
			}
		}
		return nil
	})
}

// removeNoteMedTx deletes the entries of every note of the case (purge,
// before the notes go).
func removeNoteMedTx(tx kv.Tx, id string) error {
	c, err := getCaseHeader(tx, id)
	if err != nil {
		return err
	}
	b := tx.Bucket(bucketIdxNoteMed)
	ms := noteMediators(c)
	return forEachNoteMeta(tx, id, func(n *casebot.Note, seq uint64) error {
		pos := newPosting(n, seq).pos
		for _, m := range ms {
			if err := b.Delete(noteMedKey(m, pos)); err != nil {
				return fmt.Errorf("delete note mediator entry: %w", err)
			}
		}
		return nil
	})
}

// forEachNoteMeta calls fn with the clear header of every note of the
// case and its record's key, in note order. The keys are collected first:
// fn may write to the buckets it reads.
func forEachNoteMeta(tx kv.Tx, id string, fn func(n *casebot.Note, seq uint64) error) error {
	var seqs [][]byte
	p := prefixOf(id)
	c := tx.Bucket(bucketNoteN).Cursor()
	for k, seq := c.Seek(p); hasPrefix(k, p); k, seq = c.Next() {
		seqs = append(seqs, bytes.Clone(seq))
	}
	notes := tx.Bucket(bucketNotes)
	for _, seq := range seqs {
		v := notes.Get(seq)
		if v == nil {
			return fmt.Errorf("note record %x of %s missing", seq, id)
		}
		n, _, err := decodeNoteMeta(seq, v)
		if err != nil {
			return err
		}
		if err := fn(n, u64(seq)); err != nil {
			return err
		}
	}
	return nil
}

// wantNoteMed returns the entries idx_note_med must hold, from the notes
// and the case records.
func wantNoteMed(tx kv.Tx) (map[string]string, error) {
	want := map[string]string{}
	var c *casebot.Case
	notes := tx.Bucket(bucketNotes)
	cur := tx.Bucket(bucketNoteN).Cursor()
	for k, seq := cur.First(); k != nil; k, seq = cur.Next() {
		if len(k) < 5 {
			return nil, fmt.Errorf("bad note index key %q", k)
		}
		id := string(k[:len(k)-5])
		if c == nil || c.ID != id {
			var err error
			if c, err = getCaseHeader(tx, id); err != nil {
				return nil, fmt.Errorf("note %q: %w", k, err)
			}
		}
		v := notes.Get(seq)
		if v == nil {
			return nil, fmt.Errorf("note %q: record %x missing", k, seq)
		}
		n, _, err := decodeNoteMeta(seq, v)
		if err != nil {
			return nil, err
		}
		pos := newPosting(n, u64(seq)).pos
		for _, m := range noteMediators(c) {
			want[string(noteMedKey(m, pos))] = string(numberedKey(id, n.N))
		}
	}
	return want, nil
}

// fillNoteMed builds idx_note_med (migration 12).
func fillNoteMed(tx kv.Tx) error {
	if err := createBuckets(tx, bucketIdxNoteMed); err != nil {
		return err
	}
	want, err := wantNoteMed(tx)
	if err != nil {
		return fmt.Errorf("index notes by mediator: %w", err)
	}
	b := tx.Bucket(bucketIdxNoteMed)
	for _, k := range sortedKeys(want) {
		if err := b.Put([]byte(k), []byte(want[k])); err != nil {
			return fmt.Errorf("put note mediator entry: %w", err)
		}
	}
	return nil
}

// checkNoteMed returns the differences between idx_note_med and the notes.
func checkNoteMed(tx kv.Tx) ([]string, error) {
	want, err := wantNoteMed(tx)
	if err != nil {
		return nil, err
	}
	var diffs []string
	err = tx.Bucket(bucketIdxNoteMed).ForEach(func(k, v []byte) error {
		if w, ok := want[string(k)]; !ok || w != string(v) {
			diffs = append(diffs, fmt.Sprintf("note mediator index has a stray entry %q", k))
		}
		delete(want, string(k))
		return nil
	})
	for _, k := range sortedKeys(want) {
		diffs = append(diffs, fmt.Sprintf("note mediator index lacks %q", k))
	}
	return diffs, err
}

// noteMedEntry reads an idx_note_med entry after the mediator's prefix p:
// the note's posting (its case ID aliasing v).
func noteMedEntry(p, k, v []byte) (posting, error) {
	var e posting
	if len(k) != len(p)+noteMedLen || len(v) < 5 || v[len(v)-5] != sep {
		return e, fmt.Errorf("bad note mediator entry %q", k)
	}
	copy(e.pos[:], k[len(p):])
	e.caseID, e.n = v[:len(v)-5], int(binary.BigEndian.Uint32(v[len(v)-4:]))
	return e, nil
}
