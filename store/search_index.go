package store

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"hash"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// The search index (schema 6) finds the notes holding a word without
// reading any other note. It is written in the transaction of every note
// (AddNote, Ingest and AcceptMail through addNoteTx), over the note's text
// as search reads it (noteText: email subject, body and attachment names).
//
// bucketTerms: term (16) | created (8, timeKey) | last note record (8) ->
// a block of postings (postings.go): the notes of one time that hold the
// term, each as its record's key (note_data), case and number.
//
// A term is HMAC-SHA-256 of a word (lower-cased, see words) under the
// index key of the domain "search index" (indexkey.go: HKDF from the
// store's encryption key), cut to 16 bytes. Read
// backwards, a term's blocks give its notes newest first (then in reverse
// order of writing). Notes of one commit share their time and their
// records' keys grow in write order, so a commit appends one block per
// term at the term's end, whatever the cases: an ingest batch of 512
// emails writes a few hundred blocks, not one key per word per email.
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

// stopWords are the most frequent English words, not indexed (see the
// threat model above): they would be the easiest terms to guess from
// their lists' lengths, and they narrow no search.
var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a an and are as at be but by for from had has have he her his i if in into is it its
		me my no not of on or our she so than that the their them then there they this to was we were what when which who
		will with you your re fw fwd`) {
		m[w] = true
	}
	return m
}()

// indexed reports whether a word gets a term in the index.
func indexed(w string) bool { return !stopWords[w] && utf8.RuneCountInString(w) > 1 }

// indexedBytes is indexed for a word in bytes (the map lookup does not
// copy it).
func indexedBytes(w []byte) bool { return !stopWords[string(w)] && utf8.RuneCount(w) > 1 }

// words calls fn with each word of text, lower-cased rune by rune, and its
// byte offset in text. A word is a run of letters, digits and marks. A
// word already in lower-case ASCII is passed as a part of text, without
// a copy.
func words(text string, fn func(w string, at int)) {
	wordsWhile(text, func(w string, at int) bool {
		fn(w, at)
		return true
	})
}

// wordsWhile is words until fn returns false.
func wordsWhile(text string, fn func(w string, at int) bool) {
	wordBytes(text, nil, func(w []byte, plain bool, start int) bool {
		if plain {
			return fn(text[start:start+len(w)], start)
		}
		return fn(string(w), start)
	})
}

// wordBytes calls fn with each word of text as words reads it, in buf
// (reused: valid during the call), whether it is text's own bytes
// (lower-case ASCII), and its offset, until fn returns false. It returns
// buf for reuse.
func wordBytes(text string, buf []byte, fn func(w []byte, plain bool, at int) bool) []byte {
	for i := 0; i < len(text); {
		// Skip to the start of a word.
		if c := text[i]; c < utf8.RuneSelf {
			if !asciiWord[c] {
				i++
				continue
			}
		} else if r, size := utf8.DecodeRuneInString(text[i:]); !isWordRune(r) {
			i += size
			continue
		}
		start, plain := i, true
		for i < len(text) {
			if c := text[i]; c < utf8.RuneSelf {
				if !asciiWord[c] {
					break
				}
				if 'A' <= c && c <= 'Z' {
					plain = false
				}
				i++
				continue
			}
			r, size := utf8.DecodeRuneInString(text[i:])
			if !isWordRune(r) {
				break
			}
			plain = false
			i += size
		}
		buf = buf[:0]
		if plain {
			buf = append(buf, text[start:i]...)
		} else {
			for _, r := range text[start:i] {
				buf = utf8.AppendRune(buf, unicode.ToLower(r))
			}
		}
		if !fn(buf, plain, start) {
			break
		}
	}
	return buf
}

// asciiWord holds the ASCII bytes isWordRune reports.
var asciiWord = func() (t [utf8.RuneSelf]bool) {
	for c := range utf8.RuneSelf {
		t[c] = isWordRune(rune(c))
	}
	return t
}()

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
	buf []byte
	key *byte // the first byte of the key it was made with
}

// termers keeps termers for reuse: a new HMAC computes its key's pads.
var termers sync.Pool

// newTermer returns a termer of the store's term key; putTermer gives it
// back.
func (db *DB) newTermer() *termer {
	if t, ok := termers.Get().(*termer); ok && t.key == &db.searchKey[0] {
		return t
	}
	return &termer{mac: hmac.New(sha256.New, db.searchKey), key: &db.searchKey[0]}
}

func putTermer(t *termer) { termers.Put(t) }

func (t *termer) term(w string) []byte {
	t.mac.Reset()
	t.mac.Write([]byte(w))
	t.sum = t.mac.Sum(t.sum[:0])
	return t.sum[:termLen]
}

func (t *termer) termBytes(w []byte) [termLen]byte {
	t.mac.Reset()
	t.mac.Write(w)
	t.sum = t.mac.Sum(t.sum[:0])
	return [termLen]byte(t.sum[:termLen])
}

// noteTerms returns the distinct terms of note n's indexed words (those of
// noteText), reading its parts in place.
func (db *DB) noteTerms(t *termer, n *casebot.Note) [][termLen]byte {
	terms := make([][termLen]byte, 0, 32)
	add := func(w []byte, _ bool, _ int) bool {
		if !indexedBytes(w) {
			return true
		}
		term := t.termBytes(w)
		if !slices.Contains(terms, term) { // a note has a few dozen words: a slice beats a map
			terms = append(terms, term)
		}
		return true
	}
	t.buf = wordBytes(n.Body, t.buf, add)
	if n.Email != nil {
		t.buf = wordBytes(n.Email.Subject, t.buf, add)
		for _, a := range n.Email.Attachments {
			t.buf = wordBytes(a.Name, t.buf, add)
		}
	}
	return terms
}

// indexNoteTx adds the postings of note n (numbered, with its time),
// stored under seq, to pb, or when pb is nil writes them now in tx.
func (db *DB) indexNoteTx(tx kv.Tx, pb *postingBatch, n *casebot.Note, seq uint64) error {
	write := pb == nil
	if write {
		pb = newPostingBatch(0)
	}
	p := newPosting(n, seq)
	terms := pb.ahead
	pb.ahead = nil
	if terms == nil {
		t := db.newTermer()
		terms = db.noteTerms(t, n)
		putTermer(t)
	}
	for _, term := range terms {
		pb.add(term, p)
	}
	if write {
		return pb.write(tx)
	}
	return nil
}

// removeCasePostingsTx deletes the postings of every note of the case, in
// tx. Purge calls it before it removes the notes: the postings are found
// again from the notes' text, so nothing else needs to be kept.
func (db *DB) removeCasePostingsTx(tx kv.Tx, caseID string) error {
	t := db.newTermer()
	return db.forEachNote(tx, prefixOf(caseID), func(n *casebot.Note, seq uint64) error {
		p := newPosting(n, seq)
		for _, term := range db.noteTerms(t, n) {
			if err := removePosting(tx, term[:], p); err != nil {
				return err
			}
		}
		return nil
	})
}

// forEachNote calls fn with every stored note whose note_idx key starts
// with prefix (nil: all), decrypted, and its record's key.
func (db *DB) forEachNote(tx kv.Tx, prefix []byte, fn func(n *casebot.Note, seq uint64) error) error {
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

// indexAllNotes builds the search index from every note (migration 6),
// a batch of blocks at a time.
func (db *DB) indexAllNotes(tx kv.Tx) error {
	if tx.Bucket(bucketTerms) != nil {
		if err := tx.DeleteBucket(bucketTerms); err != nil {
			return fmt.Errorf("drop search index: %w", err)
		}
	}
	if _, err := tx.CreateBucket(bucketTerms); err != nil {
		return fmt.Errorf("create search index: %w", err)
	}
	t := db.newTermer()
	const reindexBatch = 1 << 16
	pb := newPostingBatch(reindexBatch)
	err := db.forEachNote(tx, nil, func(n *casebot.Note, seq uint64) error {
		p := newPosting(n, seq)
		for _, term := range db.noteTerms(t, n) {
			pb.add(term, p)
		}
		if pb.n >= reindexBatch {
			if err := pb.write(tx); err != nil {
				return err
			}
			pb = newPostingBatch(reindexBatch)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return pb.write(tx)
}

// checkTerms returns the differences between the search index and the
// postings of every note.
func (db *DB) checkTerms(tx kv.Tx) ([]string, error) {
	want := map[string]bool{}
	t := db.newTermer()
	err := db.forEachNote(tx, nil, func(n *casebot.Note, seq uint64) error {
		p := newPosting(n, seq)
		for _, term := range db.noteTerms(t, n) {
			want[p.id(term[:])] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var diffs []string
	err = forEachPosting(tx, func(term []byte, p posting) error {
		id := p.id(term)
		if !want[id] {
			diffs = append(diffs, fmt.Sprintf("search index has a stray posting %x", id))
		}
		delete(want, id)
		return nil
	}, func(msg string) { diffs = append(diffs, msg) })
	for k := range want {
		diffs = append(diffs, fmt.Sprintf("search index lacks a posting %x", k))
	}
	return diffs, err
}

// checkInsight returns the differences in the aggregates and the search
// index, for Check.
func checkInsight(tx kv.Tx, db *DB) ([]string, error) {
	diffs, err := checkAggregates(tx)
	if err != nil {
		return nil, err
	}
	more, err := db.checkTerms(tx)
	if err != nil {
		return nil, err
	}
	diffs = append(diffs, more...)
	more, err = checkNoteMed(tx)
	return append(diffs, more...), err
}
