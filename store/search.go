package store

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"sync"
	"unicode/utf8"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// Search returns the notes that hold every word of the query (whole words,
// case aside, in the note's body, email subject or attachment names) from
// the cases the actor may see (casebot.Actor.CanSee), newest first (notes
// of one time in reverse order of writing), at most limit (0: no limit).
//
// It reads only the postings of the query's indexed words (search_index.go),
// intersected newest first, and stops at limit; of the cases it meets it
// decodes only those of notes that match, and it decrypts only those
// notes, checking their text (a term is a hash, and stop words are not
// indexed). For a non-admin the candidates are the cases the mediator
// and co-mediator indexes list under them (they must list every case a
// non-admin may see), found by searchMine. A query of stop words only falls back to a scan of
// the visible cases' notes. EINVALID when the query has no word.
func (db *DB) Search(ctx context.Context, query []string, actor casebot.Actor, limit int) ([]casebot.NoteHit, error) {
	ws := queryWords(query)
	if len(ws) == 0 {
		return nil, casebot.Errorf(casebot.EINVALID, "Search needs at least one word.")
	}
	if actor.ID == "" {
		return nil, nil
	}
	var terms [][]byte
	t := db.newTermer()
	for _, w := range ws {
		if indexed(w) {
			terms = append(terms, slices.Clone(t.term(w)))
		}
	}
	putTermer(t)
	if len(terms) == 0 {
		return db.searchScan(ctx, ws, actor.CanSee, limit)
	}
	var hits []casebot.NoteHit
	err := db.view(ctx, func(tx kv.Tx) error {
		mine := newCandidates(tx, actor)
		seen := map[string]bool{} // case ID -> visible, for a non-admin
		notes := tx.Bucket(bucketNotes)
		visit := func(p *posting) (bool, error) {
			idb, num, seq := p.caseID, p.n, p.pos[8:]
			if !actor.Admin { // Actor.CanSee: admins see every case
				vis, ok := seen[string(idb)]
				if !ok {
					c, err := getCaseHeader(tx, string(idb)) // who may see it is in the clear
					if err != nil {
						return false, err
					}
					vis = actor.CanSee(c)
					seen[string(idb)] = vis
				}
				if !vis {
					return true, nil
				}
			}
			v := notes.Get(seq)
			if v == nil {
				return false, fmt.Errorf("note %s/%d: record %x missing", idb, num, seq)
			}
			note, err := db.decodeNote(seq, v)
			if errors.Is(err, errKeyDestroyed) {
				return true, nil // purged after this copy of the store was made
			} else if err != nil {
				return false, err
			}
			if note.CaseID != string(idb) || note.N != num {
				return false, fmt.Errorf("search posting of %s/%d points to note %s/%d", idb, num, note.CaseID, note.N)
			}
			if snip, ok := matchAll(noteText(note), ws); ok {
				hits = append(hits, casebot.NoteHit{Note: note, Snippet: snip})
			}
			return limit <= 0 || len(hits) < limit, nil
		}
		if mine != nil {
			return searchMine(ctx, tx, terms, mine, actor.ID, visit)
		}
		n := 0
		return intersect(tx, terms, func(p *posting) (bool, error) {
			if n++; n%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return false, err
				}
			}
			return visit(p)
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: search: %w", err)
	}
	return hits, nil
}

// searchMine calls visit with the postings of the notes of user's cases
// (mine) that every term holds, newest first, until visit returns false.
// Two walks give that same sequence, and it takes whichever gets there
// first, in turns: the terms' postings, skipping those of other cases (a
// rare word: few postings), and the user's own notes in idx_note_med,
// asking each term whether it holds the note (a common word among many
// cases: few of the user's notes). Each walk skips what the other has
// given, so its work is at most about twice the cheaper walk's, whether
// the user has 5 cases or 5,000.
func searchMine(ctx context.Context, tx kv.Tx, terms [][]byte, mine *candidates, user string, visit func(p *posting) (bool, error)) error {
	byTerms := newIntersection(tx, terms)
	defer byTerms.release()
	p := prefixOf(user)
	own := tx.Bucket(bucketIdxNoteMed).Cursor()
	ownK, ownV := lastUnder(own, p)
	tcs := make([]kv.Cursor, len(terms))
	for i := range tcs {
		tcs[i] = tx.Bucket(bucketTerms).Cursor()
	}
	var (
		bound   [16]byte // what was given last: the walks go on below it
		bounded bool
		buf     = getPostingBuf()
	)
	defer func() { putPostingBuf(buf) }()
	for n := 0; ; n++ {
		if n%64 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		for range searchPostingSteps {
			q, more, err := byTerms.next()
			if err != nil || !more {
				return err // no posting left: no note left
			}
			if !mine.has(q.caseID) {
				continue
			}
			bound, bounded = q.pos, true
			if more, err := visit(q); err != nil || !more {
				return err
			}
		}
		if !hasPrefix(ownK, p) {
			return nil // none of the user's notes left
		}
		if bounded && bytes.Compare(ownK[len(p):], bound[:]) >= 0 { // given already
			ownK, ownV = own.Seek(append(slices.Clip(p), bound[:]...))
			if ownK == nil {
				ownK, ownV = own.Last()
			} else {
				ownK, ownV = own.Prev()
			}
		}
		if !hasPrefix(ownK, p) {
			return nil // none of the user's notes left
		}
		e, err := noteMedEntry(p, ownK, ownV)
		if err != nil {
			return err
		}
		all := true
		for i, t := range terms {
			if all, buf, err = holds(tcs[i], t, e.pos, buf); err != nil {
				return err
			} else if !all {
				break
			}
		}
		ownK, ownV = own.Prev()
		if !all {
			continue
		}
		bound, bounded = e.pos, true
		if more, err := visit(&e); err != nil || !more {
			return err
		}
		if err := byTerms.skipTo(bound); err != nil {
			return err
		}
	}
}

// searchPostingSteps is how many postings searchMine reads per note of
// the user's it checks: a posting costs about a sixteenth of a note's
// seeks. A variable for the tests (0: the user's notes alone).
var searchPostingSteps = 16

// lastUnder moves c to the last key with prefix p (nil: none).
func lastUnder(c kv.Cursor, p []byte) ([]byte, []byte) {
	end := slices.Clone(p)
	end[len(end)-1]++ // p ends with sep, below 0xff
	k, v := c.Seek(end)
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	if !hasPrefix(k, p) {
		return nil, nil
	}
	return k, v
}

// candidates are the cases a non-admin may see: those the mediator index
// lists under them. The first lookups are point reads (a rare word meets
// few cases); past candidateGets the whole list is read into a set of the
// IDs' hashes. A hash that collides only lets a case through to the
// visibility check every posting passes anyway (Actor.CanSee on the case).
type candidates struct {
	idxs []kv.Bucket // the mediator index, then the co-mediator index
	p    []byte
	gets int
	set  map[uint64]struct{}
	seed maphash.Seed
	// last is the case asked about last (valid in the transaction) and
	// lastHas the answer: a case's notes often stand together in a
	// term's postings.
	last    []byte
	lastHas bool
	key     []byte // a reused index key
}

// candidateGets is how many point reads come before the set (a variable
// for the tests).
var candidateGets = 16

// newCandidates returns the candidates of a non-admin, nil for an admin.
func newCandidates(tx kv.Tx, a casebot.Actor) *candidates {
	if a.Admin {
		return nil
	}
	return &candidates{idxs: []kv.Bucket{tx.Bucket(bucketIdxMediator), tx.Bucket(bucketIdxCoMed)}, p: prefixOf(a.ID)}
}

func (c *candidates) has(id []byte) bool {
	if c.last != nil && bytes.Equal(id, c.last) {
		return c.lastHas
	}
	c.last, c.lastHas = id, c.lookup(id)
	return c.lastHas
}

func (c *candidates) lookup(id []byte) bool {
	if c.set != nil {
		_, ok := c.set[maphash.Bytes(c.seed, id)]
		return ok
	}
	if c.gets++; c.gets <= candidateGets {
		c.key = append(append(c.key[:0], c.p...), id...)
		for _, idx := range c.idxs {
			if idx.Get(c.key) != nil {
				return true
			}
		}
		return false
	}
	c.seed = maphash.MakeSeed()
	var hs []uint64
	for _, idx := range c.idxs {
		cur := idx.Cursor()
		for k, _ := cur.Seek(c.p); hasPrefix(k, c.p); k, _ = cur.Next() {
			hs = append(hs, maphash.Bytes(c.seed, k[len(c.p):]))
		}
	}
	c.set = make(map[uint64]struct{}, len(hs))
	for _, h := range hs {
		c.set[h] = struct{}{}
	}
	_, ok := c.set[maphash.Bytes(c.seed, id)]
	return ok
}

// searchScan is Search by reading every visible case's notes: the answer
// for queries of stop words only, and the tests' oracle for the index.
// ws are query words (queryWords).
func (db *DB) searchScan(ctx context.Context, ws []string, visible func(*casebot.Case) bool, limit int) ([]casebot.NoteHit, error) {
	type hit struct {
		casebot.NoteHit
		seq uint64
	}
	var hits []hit
	err := db.view(ctx, func(tx kv.Tx) error {
		return tx.Bucket(bucketCases).ForEach(func(k, v []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			c, _, err := decodeCaseHeader(k, v) // what visible needs; nothing decrypted
			if err != nil {
				return err
			}
			if c.NoteCount == 0 || !visible(c) {
				return nil
			}
			return db.forEachNote(tx, prefixOf(c.ID), func(n *casebot.Note, seq uint64) error {
				if snip, ok := matchAll(noteText(n), ws); ok {
					hits = append(hits, hit{casebot.NoteHit{Note: n, Snippet: snip}, seq})
				}
				return nil
			})
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: search: %w", err)
	}
	// Newest first; notes of one time in reverse order of writing.
	slices.SortFunc(hits, func(a, b hit) int {
		if c := b.Note.Created.Compare(a.Note.Created); c != 0 {
			return c
		}
		return cmp.Compare(b.seq, a.seq)
	})
	if limit > 0 && len(hits) > limit {
		hits = hits[:limit]
	}
	out := make([]casebot.NoteHit, len(hits))
	for i, h := range hits {
		out[i] = h.NoteHit
	}
	return out, nil
}

// matchAll reports whether text holds every word of ws (lower-case, as
// words reads them) and returns about 80 characters around the first
// place one of them stands.
func matchAll(text string, ws []string) (string, bool) {
	first, ok, done := matchASCII(text, ws)
	if !done {
		return matchWords(text, ws)
	}
	if !ok {
		return "", false
	}
	return snippet(text, first, 80), true
}

// lowerBufs keeps matchASCII's lower-cased copies for reuse.
var lowerBufs = sync.Pool{New: func() any { return new([]byte) }}

// matchASCII is matchAll for a text all in ASCII (most notes are): each
// word is found by a substring search in a lower-cased copy of the text,
// which has the same offsets, at a place where a word of text starts and
// ends. It returns the offset of the first of the words in text and
// whether all were found; done is false when the text is not all ASCII
// (matchWords then reads it word by word).
func matchASCII(text string, ws []string) (first int, ok, done bool) {
	bp := lowerBufs.Get().(*[]byte)
	defer lowerBufs.Put(bp)
	if cap(*bp) < len(text) {
		*bp = make([]byte, len(text))
	}
	lower := (*bp)[:len(text)]
	for i := range lower {
		c := text[i]
		if c >= utf8.RuneSelf {
			return 0, false, false
		}
		lower[i] = asciiLower[c]
	}
	first = -1
	for _, q := range ws {
		at := indexWord(lower, q)
		if at < 0 {
			return 0, false, true // a word beyond ASCII is never in ASCII text
		}
		if first < 0 || at < first {
			first = at
		}
	}
	return first, true, true
}

// asciiLower maps each ASCII byte to its lower case.
var asciiLower = func() (t [utf8.RuneSelf]byte) {
	for c := range t {
		t[c] = byte(c)
		if 'A' <= c && c <= 'Z' {
			t[c] += 'a' - 'A'
		}
	}
	return t
}()

// indexWord returns the offset of the first word of s (lower-case ASCII)
// equal to q, or -1.
func indexWord(s []byte, q string) int {
	var qa [64]byte
	qb := append(qa[:0], q...)
	for off := 0; off < len(s); {
		i := bytes.Index(s[off:], qb)
		if i < 0 || q == "" {
			return -1
		}
		i += off
		end := i + len(q)
		if (i == 0 || !asciiWord[s[i-1]]) && (end == len(s) || !asciiWord[s[end]]) {
			return i
		}
		off = i + 1
	}
	return -1
}

// matchWords is matchAll reading text word by word (wordBytes), as far
// as where the last of ws is first found.
func matchWords(text string, ws []string) (string, bool) {
	var found uint64 // bit i: ws[i] seen (a query has few words; past 64 a map)
	var more map[string]bool
	if len(ws) > 64 {
		more = make(map[string]bool, len(ws)-64)
		for _, w := range ws[64:] {
			more[w] = false
		}
	}
	first, n := -1, 0
	var lower [64]byte // words beyond lower-case ASCII, lower-cased (they rarely need more)
	wordBytes(text, lower[:0], func(w []byte, _ bool, at int) bool {
		for i, q := range ws[:min(len(ws), 64)] {
			if string(w) == q {
				if first < 0 {
					first = at
				}
				if found&(1<<i) == 0 {
					found |= 1 << i
					n++
				}
				return n < len(ws)
			}
		}
		if seen, ok := more[string(w)]; ok {
			if first < 0 {
				first = at
			}
			if !seen {
				more[string(w)] = true
				n++
			}
		}
		return n < len(ws)
	})
	if n < len(ws) {
		return "", false
	}
	return snippet(text, first, 80), true
}
