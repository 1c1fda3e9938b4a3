package store

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"strings"
	"unicode"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"github.com/casebot/casebot"
)

// The search index (schema 6) finds the notes holding a word without
// reading any other note. It is written in the transaction of every note
// (AddNote, Ingest and AcceptMail through addNoteTx), over the note's text
// as search reads it (noteText: email subject, body and attachment names).
//
// bucketTerms: term (16) | created (8, timeKey) | note record (8, its
// note_data key) | case ID \0 N (4) -> "".
//
// A term is HMAC-SHA-256 of a word (lower-cased, see words) under a key
// derived with HKDF from the store's encryption key, cut to 16 bytes; the
// rest of the key points to the note (its record, case and number) and
// orders a term's postings newest first when read backwards. Notes of one
// commit share their time, and their records' keys grow in write order, so
// a term's new postings are appended at its end, whatever their cases.
//
// Threat model. Someone who has the db file (or a backup) but not the key
// sees, for each opaque 16-byte term, which notes carry it (case ID, note
// number and time, which the note records show in the clear anyway). No
// word, no word's count and no per-term count is stored: a term is only a
// keyed hash, so testing whether a word is in the index needs the key,
// and counting a term's postings only tells how often some unknown word
// occurs. What remains is the usual leakage of a deterministic index:
// the shape of the posting lists. An attacker who knows the language
// could match the largest lists to its most frequent words, so those
// words (stopWords, and words of one character) are not indexed at all:
// a query for them is answered by checking the candidate notes' text, or
// by a scan when no other word narrows it. Posting lists are not padded.
// Without an encryption key the notes themselves are stored readable, and
// the terms are keyed with a fixed key, which protects nothing.
var bucketTerms = []byte("search_terms")

// termLen is the length of a stored term.
const termLen = 16

// noKeyTerms keys the terms of a store without an encryption key.
var noKeyTerms = []byte("casebot search index without an encryption key")

// newTermKey derives the key of the index terms from the store's
// encryption key (nil: the fixed key).
func newTermKey(master []byte) []byte {
	if master == nil {
		return noKeyTerms
	}
	k, err := hkdf.Key(sha256.New, master, nil, "casebot search index terms v1", 32)
	if err != nil {
		panic("store: hkdf: " + err.Error()) // only for lengths over 255*32
	}
	return k
}

// stopWords are the most frequent English words, not indexed (see the
// threat model above): they would be the easiest terms to guess from
// their lists' lengths, and they narrow no search.
var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a an and are as at be but by for from had has have he her his i if in into is it its
		me my no not of on or our she so than that the their them then there they this to was we were what when which who
		will with you your`) {
		m[w] = true
	}
	return m
}()

// indexed reports whether a word gets a term in the index.
func indexed(w string) bool { return !stopWords[w] && utf8.RuneCountInString(w) > 1 }

// words calls fn with each word of text, lower-cased rune by rune, and its
// byte offset in text. A word is a run of letters, digits and marks. A
// word already in lower-case ASCII is passed as a part of text, without
// a copy.
func words(text string, fn func(w string, at int)) {
	var b []byte
	for i := 0; i < len(text); {
		// Skip to the start of a word.
		r, size := rune(text[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(text[i:])
		}
		if !isWordRune(r) {
			i += size
			continue
		}
		start, plain := i, true
		for i < len(text) {
			r, size = rune(text[i]), 1
			if r >= utf8.RuneSelf {
				r, size = utf8.DecodeRuneInString(text[i:])
				plain = false
			} else if 'A' <= r && r <= 'Z' {
				plain = false
			}
			if !isWordRune(r) {
				break
			}
			i += size
		}
		if plain {
			fn(text[start:i], start)
			continue
		}
		b = b[:0]
		for _, r := range text[start:i] {
			b = utf8.AppendRune(b, unicode.ToLower(r))
		}
		fn(string(b), start)
	}
}

// isWordRune reports whether r belongs to a word: a letter, digit or mark.
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// queryWords returns the distinct words of a query, in order.
func queryWords(query []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, q := range query {
		words(q, func(w string, _ int) {
			if !seen[w] {
				seen[w] = true
				out = append(out, w)
			}
		})
	}
	return out
}

// noteText is the text search reads of a note: its email subject, body
// and attachment names.
func noteText(n *casebot.Note) string {
	if n.Email == nil {
		return n.Body
	}
	var b strings.Builder
	if n.Email.Subject != "" {
		b.WriteString(n.Email.Subject)
		b.WriteByte('\n')
	}
	b.WriteString(n.Body)
	for _, a := range n.Email.Attachments {
		b.WriteByte('\n')
		b.WriteString(a.Name)
	}
	return b.String()
}

// termer hashes words into terms; not safe for concurrent use.
type termer struct {
	mac hash.Hash
	sum []byte
}

func (db *DB) newTermer() *termer { return &termer{mac: hmac.New(sha256.New, db.terms)} }

func (t *termer) term(w string) []byte {
	t.mac.Reset()
	t.mac.Write([]byte(w))
	t.sum = t.mac.Sum(t.sum[:0])
	return t.sum[:termLen]
}

// postingSuffix is the part of a posting key after the term, for note n
// stored under seq.
func postingSuffix(n *casebot.Note, seq uint64) []byte {
	return append(append(timeKey(n.Created), be64(seq)...), numberedKey(n.CaseID, n.N)...)
}

// noteTerms returns the posting keys of note n, stored under seq.
func (db *DB) noteTerms(t *termer, n *casebot.Note, seq uint64) [][]byte {
	suffix := postingSuffix(n, seq)
	seen := map[string]bool{}
	var keys [][]byte
	words(noteText(n), func(w string, _ int) {
		if !indexed(w) || seen[w] {
			return
		}
		seen[w] = true
		k := make([]byte, 0, termLen+len(suffix))
		k = append(k, t.term(w)...)
		keys = append(keys, append(k, suffix...))
	})
	return keys
}

// indexNoteTx adds the postings of note n (numbered, with its time),
// stored under seq, in tx.
func (db *DB) indexNoteTx(tx *bolt.Tx, n *casebot.Note, seq uint64) error {
	b := tx.Bucket(bucketTerms)
	b.FillPercent = appendFill // postings are mostly appended to their term's end
	for _, k := range db.noteTerms(db.newTermer(), n, seq) {
		if err := b.Put(k, []byte{}); err != nil {
			return fmt.Errorf("put search term: %w", err)
		}
	}
	return nil
}

// removeCasePostingsTx deletes the postings of every note of the case, in
// tx. Purge calls it before it removes the notes: the postings are found
// again from the notes' text, so nothing else needs to be kept.
func (db *DB) removeCasePostingsTx(tx *bolt.Tx, caseID string) error {
	b := tx.Bucket(bucketTerms)
	t := db.newTermer()
	return db.forEachNote(tx, prefixOf(caseID), func(n *casebot.Note, seq uint64) error {
		for _, k := range db.noteTerms(t, n, seq) {
			if err := b.Delete(k); err != nil {
				return fmt.Errorf("delete search term: %w", err)
			}
		}
		return nil
	})
}

// forEachNote calls fn with every stored note whose note_idx key starts
// with prefix (nil: all), decrypted, and its record's key.
func (db *DB) forEachNote(tx *bolt.Tx, prefix []byte, fn func(n *casebot.Note, seq uint64) error) error {
	notes := tx.Bucket(bucketNotes)
	c := tx.Bucket(bucketNoteN).Cursor()
	for k, seq := c.Seek(prefix); k != nil && (prefix == nil || hasPrefix(k, prefix)); k, seq = c.Next() {
		v := notes.Get(seq)
		if v == nil {
			return fmt.Errorf("note %q: record %x missing", k, seq)
		}
		n, err := db.decodeNote(seq, v)
		if err != nil {
			return err
		}
		if err := fn(n, u64(seq)); err != nil {
			return err
		}
	}
	return nil
}

// indexAllNotes builds the search index from every note (migration 6).
func (db *DB) indexAllNotes(tx *bolt.Tx) error {
	if tx.Bucket(bucketTerms) != nil {
		if err := tx.DeleteBucket(bucketTerms); err != nil {
			return fmt.Errorf("drop search index: %w", err)
		}
	}
	b, err := tx.CreateBucket(bucketTerms)
	if err != nil {
		return fmt.Errorf("create search index: %w", err)
	}
	b.FillPercent = appendFill
	t := db.newTermer()
	return db.forEachNote(tx, nil, func(n *casebot.Note, seq uint64) error {
		for _, k := range db.noteTerms(t, n, seq) {
			if err := b.Put(k, []byte{}); err != nil {
				return fmt.Errorf("put search term: %w", err)
			}
		}
		return nil
	})
}

// checkTerms returns the differences between the search index and the
// postings of every note.
func (db *DB) checkTerms(tx *bolt.Tx) ([]string, error) {
	want := map[string]bool{}
	t := db.newTermer()
	err := db.forEachNote(tx, nil, func(n *casebot.Note, seq uint64) error {
		for _, k := range db.noteTerms(t, n, seq) {
			want[string(k)] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var diffs []string
	err = tx.Bucket(bucketTerms).ForEach(func(k, _ []byte) error {
		if !want[string(k)] {
			diffs = append(diffs, fmt.Sprintf("search index has a stray posting %x", k))
		}
		delete(want, string(k))
		return nil
	})
	for k := range want {
		diffs = append(diffs, fmt.Sprintf("search index lacks a posting %x", k))
	}
	return diffs, err
}

// checkInsight returns the differences in the aggregates and the search
// index, for Check.
func checkInsight(tx *bolt.Tx, db *DB) ([]string, error) {
	diffs, err := checkAggregates(tx)
	if err != nil {
		return nil, err
	}
	more, err := db.checkTerms(tx)
	return append(diffs, more...), err
}

// postingNote splits a posting's suffix into its note record's key, its
// case ID (both aliasing the suffix) and its note number.
func postingNote(suffix []byte) (seq, caseID []byte, n int, err error) {
	if len(suffix) < 16+2+4 || suffix[len(suffix)-5] != sep {
		return nil, nil, 0, fmt.Errorf("bad search posting %x", suffix)
	}
	return suffix[8:16], suffix[16 : len(suffix)-5], int(binary.BigEndian.Uint32(suffix[len(suffix)-4:])), nil
}

// termCursor walks one term's postings backwards (newest first).
type termCursor struct {
	c    *bolt.Cursor
	term []byte
}

// suffix returns k's part after the term, nil when k is another term's.
func (tc *termCursor) suffix(k []byte) []byte {
	if !hasPrefix(k, tc.term) {
		return nil
	}
	return k[termLen:]
}

// last moves to the term's newest posting.
func (tc *termCursor) last() []byte {
	next := bytes.Clone(tc.term)
	for i := len(next) - 1; i >= 0; i-- {
		next[i]++
		if next[i] != 0 {
			break
		}
	}
	k, _ := tc.c.Seek(next)
	if k == nil {
		k, _ = tc.c.Last()
	} else {
		k, _ = tc.c.Prev()
	}
	return tc.suffix(k)
}

// seekLE moves to the newest posting whose suffix is at most target,
// from a position after it: a few steps back first (where the lists run
// together, as common words do, the target is usually right there), else
// a seek.
func (tc *termCursor) seekLE(target []byte) []byte {
	for i := 0; i < 8; i++ {
		k, _ := tc.c.Prev()
		s := tc.suffix(k)
		if s == nil {
			return nil
		}
		if bytes.Compare(s, target) <= 0 {
			return s
		}
	}
	want := append(bytes.Clone(tc.term), target...)
	k, _ := tc.c.Seek(want)
	if k != nil && bytes.Equal(k, want) {
		return k[termLen:]
	}
	if k == nil {
		k, _ = tc.c.Last()
	} else {
		k, _ = tc.c.Prev()
	}
	return tc.suffix(k)
}

func (tc *termCursor) prev() []byte {
	k, _ := tc.c.Prev()
	return tc.suffix(k)
}

// intersect calls fn with the suffixes present under every term, newest
// first, until fn returns false. It leapfrogs: each cursor jumps straight
// to the newest posting not newer than the others' (a Seek), so the
// rarest term bounds the work whatever the order of the terms.
func intersect(tx *bolt.Tx, terms [][]byte, fn func(suffix []byte) (bool, error)) error {
	cs := make([]termCursor, len(terms))
	cur := make([][]byte, len(terms))
	b := tx.Bucket(bucketTerms)
	for i, t := range terms {
		cs[i] = termCursor{c: b.Cursor(), term: t}
		if cur[i] = cs[i].last(); cur[i] == nil {
			return nil
		}
	}
	for {
		lo := cur[0]
		for _, s := range cur[1:] {
			if bytes.Compare(s, lo) < 0 {
				lo = s
			}
		}
		same := true
		for i := range cur {
			if !bytes.Equal(cur[i], lo) {
				same = false
				if cur[i] = cs[i].seekLE(lo); cur[i] == nil {
					return nil
				}
			}
		}
		if !same {
			continue
		}
		more, err := fn(lo)
		if err != nil || !more {
			return err
		}
		if cur[0] = cs[0].prev(); cur[0] == nil {
			return nil
		}
	}
}
