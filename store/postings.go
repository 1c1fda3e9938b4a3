package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// Posting blocks. A term's postings are stored in blocks keyed by
// term | time | the last posting's note record key; a block holds notes of
// that one time, in ascending order of their record keys, and the blocks of
// a term never overlap. Its value: the count, then per posting the record
// key (uvarint, a delta from the previous one after the first), the case
// ID and the note number.

// maxBlock caps a block, so that reading one posting decodes few others.
const maxBlock = 128

// posting is one note holding a term: pos orders postings (the note's
// time, then its record key), and case and n name the note. caseID may
// alias a bbolt value: valid only inside its transaction.
type posting struct {
	pos    [16]byte
	caseID []byte
	n      int
}

func newPosting(n *casebot.Note, seq uint64) posting {
	var p posting
	copy(p.pos[:8], timeKey(n.Created))
	binary.BigEndian.PutUint64(p.pos[8:], seq)
	p.caseID, p.n = []byte(n.CaseID), n.N
	return p
}

func (p posting) seq() uint64 { return u64(p.pos[8:]) }

// id names a posting of a term uniquely, for Check.
func (p posting) id(term []byte) string {
	return string(term) + string(p.pos[:]) + string(numberedKey(string(p.caseID), p.n))
}

func blockKey(term []byte, last [16]byte) []byte {
	return append(append(make([]byte, 0, termLen+16), term...), last[:]...)
}

// encodeBlock writes postings of one time, ascending.
func encodeBlock(ps []posting) []byte {
	e := enc{}
	e.uint(uint64(len(ps)))
	prev := uint64(0)
	for _, p := range ps {
		e.uint(p.seq() - prev)
		prev = p.seq()
		e.bytes(p.caseID)
		e.uint(uint64(p.n))
	}
	return e.b
}

// decodeBlock reads the block stored under key k into dst; the case IDs
// alias v.
func decodeBlock(k, v []byte, dst []posting) ([]posting, error) {
	if len(k) != termLen+16 {
		return nil, fmt.Errorf("bad search block key %x", k)
	}
	// Searches decode many blocks: the fields are read in place, one byte
	// at a time when they fit in one (most do), rather than through dec.
	cnt, b, ok := uvarintNext(v)
	if !ok || cnt > uint64(len(b)/3) {
		return nil, fmt.Errorf("search block %x: %w", k, errShort)
	}
	n := int(cnt)
	if cap(dst) < n {
		dst = make([]posting, 0, n)
	}
	dst = dst[:n]
	created := [8]byte(k[termLen : termLen+8])
	seq := uint64(0)
	for i := range dst {
		p := &dst[i]
		// The record key's delta, the case ID's length and (most often) the
		// note number are below 0x80: one byte each.
		var delta, idLen, num uint64
		if len(b) >= 3 && b[0]|b[1] < 0x80 {
			delta, idLen, b = uint64(b[0]), uint64(b[1]), b[2:]
		} else if delta, b, ok = uvarintNext(b); ok {
			idLen, b, ok = uvarintNext(b)
		}
		if !ok || idLen >= uint64(len(b)) {
			return nil, fmt.Errorf("search block %x: %w", k, errShort)
		}
		p.caseID, b = b[:idLen:idLen], b[idLen:]
		if b[0] < 0x80 {
			num, b = uint64(b[0]), b[1:]
		} else if num, b, ok = uvarintNext(b); !ok {
			return nil, fmt.Errorf("search block %x: %w", k, errShort)
		}
		seq += delta
		*(*[8]byte)(p.pos[:8]) = created
		binary.BigEndian.PutUint64(p.pos[8:], seq)
		p.n = int(num)
	}
	if len(dst) == 0 || !bytes.Equal(dst[len(dst)-1].pos[:], k[termLen:]) {
		return nil, fmt.Errorf("search block %x does not end with its key", k)
	}
	return dst, nil
}

// uvarintNext reads a uvarint from the front of b and returns the rest.
func uvarintNext(b []byte) (uint64, []byte, bool) {
	if len(b) > 0 && b[0] < 0x80 {
		return uint64(b[0]), b[1:], true
	}
	return uvarintLong(b)
}

// uvarintLong is uvarintNext's path for a value of two bytes or more,
// apart so that uvarintNext is inlined.
func uvarintLong(b []byte) (uint64, []byte, bool) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, b, false
	}
	return v, b[n:], true
}

// postingBatch collects the postings of one transaction by term and writes
// them as blocks. The postings are kept in one slice, each term's chained
// from its latest back (heads): a batch of a thousand notes adds fifteen
// thousand postings, and a slice of them per term grew, and was garbage,
// fifteen thousand times.
type postingBatch struct {
	heads map[[termLen]byte]int32 // a term's latest posting in ps
	ps    []chainedPosting
	n     int
	// ahead, when set, are the terms of the next note indexed into the
	// batch, hashed ahead of the transaction (PrepareMail); indexing takes
	// and clears them.
	ahead [][termLen]byte
}

// chainedPosting is a posting with the index in ps of its term's
// previous one (-1 for none).
type chainedPosting struct {
	posting
	prev int32
}

// newPostingBatch returns an empty batch with room for about size
// postings.
func newPostingBatch(size int) *postingBatch {
	// Most of a batch's terms are common words: a map for a quarter of
	// its postings grows at most once or twice.
	return &postingBatch{heads: make(map[[termLen]byte]int32, size/4), ps: make([]chainedPosting, 0, size)}
}

func (pb *postingBatch) add(term [termLen]byte, p posting) {
	prev, ok := pb.heads[term]
	if !ok {
		prev = -1
	}
	pb.heads[term] = int32(len(pb.ps))
	pb.ps = append(pb.ps, chainedPosting{p, prev})
	pb.n++
}

// write puts the batch's blocks: per term, its postings in order, cut at
// every change of time and every maxBlock postings. A block's key ends
// with its last posting's position, a note's own, and the batch's notes
// are not in the index yet (new notes, or every note into an emptied
// index): its keys are new, put with PutNew.
func (pb *postingBatch) write(tx kv.Tx) error {
	b := tx.Bucket(bucketTerms)
	b.AppendMostly() // blocks are mostly appended at their term's end
	keys := slices.Collect(maps.Keys(pb.heads))
	slices.SortFunc(keys, func(a, b [termLen]byte) int { return bytes.Compare(a[:], b[:]) })
	var ps []posting
	for _, term := range keys {
		// The chain runs from the latest back: reversed, it is in the
		// order added, which is mostly the order of position already.
		ps = ps[:0]
		for i := pb.heads[term]; i >= 0; i = pb.ps[i].prev {
			ps = append(ps, pb.ps[i].posting)
		}
		slices.Reverse(ps)
		byPos := func(a, b posting) int { return bytes.Compare(a.pos[:], b.pos[:]) }
		if !slices.IsSortedFunc(ps, byPos) {
			slices.SortFunc(ps, byPos)
		}
		for rest := ps; len(rest) > 0; {
			n := 1
			for n < len(rest) && n < maxBlock && bytes.Equal(rest[n].pos[:8], rest[0].pos[:8]) {
				n++
			}
			if err := b.PutNew(blockKey(term[:], rest[n-1].pos), encodeBlock(rest[:n])); err != nil {
				return fmt.Errorf("put search block: %w", err)
			}
			rest = rest[n:]
		}
	}
	return nil
}

// removePosting deletes p from the term's block that holds it.
func removePosting(tx kv.Tx, term []byte, p posting) error {
	b := tx.Bucket(bucketTerms)
	c := b.Cursor()
	k, v := c.Seek(blockKey(term, p.pos))
	if !hasPrefix(k, term) || !bytes.Equal(k[termLen:termLen+8], p.pos[:8]) {
		return nil // not indexed (a note older than the index would be re-read by Check)
	}
	ps, err := decodeBlock(k, v, nil)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(ps, func(q posting) bool { return q.pos == p.pos })
	if i < 0 {
		return nil
	}
	ps = slices.Delete(slices.Clone(ps), i, i+1)
	for j := range ps {
		ps[j].caseID = bytes.Clone(ps[j].caseID) // v is gone after the delete
	}
	key := bytes.Clone(k)
	if err := b.Delete(key); err != nil {
		return fmt.Errorf("delete search block: %w", err)
	}
	if len(ps) == 0 {
		return nil
	}
	if err := b.Put(blockKey(term, ps[len(ps)-1].pos), encodeBlock(ps)); err != nil {
		return fmt.Errorf("put search block: %w", err)
	}
	return nil
}

// forEachPosting calls fn with every posting of the index; bad reports a
// block that cannot be read.
func forEachPosting(tx kv.Tx, fn func(term []byte, p posting) error, bad func(string)) error {
	var buf []posting
	return tx.Bucket(bucketTerms).ForEach(func(k, v []byte) error {
		ps, err := decodeBlock(k, v, buf)
		if err != nil {
			bad(err.Error())
			return nil
		}
		buf = ps
		for _, p := range ps {
			if !bytes.Equal(p.pos[:8], k[termLen:termLen+8]) {
				bad(fmt.Sprintf("search block %x holds a posting of another time", k))
			}
			if err := fn(k[:termLen], p); err != nil {
				return err
			}
		}
		return nil
	})
}

// termCursor walks one term's postings backwards (newest first).
type termCursor struct {
	c     kv.Cursor
	term  []byte
	block []posting
	i     int
}

// postingBufs keeps slices of postings for reuse across searches: a
// search decodes blocks into a few of them (one per term cursor), and
// allocating them afresh (6 KiB each) was a third of what a search
// allocated. What they alias is never read after release.
var postingBufs = sync.Pool{New: func() any { s := make([]posting, 0, maxBlock); return &s }}

func getPostingBuf() []posting { return (*postingBufs.Get().(*[]posting))[:0] }

func putPostingBuf(s []posting) {
	if cap(s) > 0 {
		postingBufs.Put(&s)
	}
}

// load decodes the block at k (nil, another term's: false) and moves to
// its last posting.
func (tc *termCursor) load(k, v []byte) (bool, error) {
	if !hasPrefix(k, tc.term) {
		return false, nil
	}
	if tc.block == nil {
		tc.block = getPostingBuf()
	}
	var err error
	if tc.block, err = decodeBlock(k, v, tc.block); err != nil {
		return false, err
	}
	tc.i = len(tc.block) - 1
	return true, nil
}

func (tc *termCursor) cur() *posting { return &tc.block[tc.i] }

// last moves to the term's newest posting.
func (tc *termCursor) last() (bool, error) {
	next := bytes.Clone(tc.term)
	for i := len(next) - 1; i >= 0; i-- {
		next[i]++
		if next[i] != 0 {
			break
		}
	}
	k, _ := tc.c.Seek(next)
	var v []byte
	if k == nil {
		k, v = tc.c.Last()
	} else {
		k, v = tc.c.Prev()
	}
	return tc.load(k, v)
}

func (tc *termCursor) prev() (bool, error) {
	if tc.i > 0 {
		tc.i--
		return true, nil
	}
	return tc.load(tc.c.Prev())
}

// seekLE moves back to the newest posting at or before target: within the
// block, to the one before it (where lists run together, as common words
// do, the target is there), else by a seek.
func (tc *termCursor) seekLE(target [16]byte) (bool, error) {
	le := func() bool { // within the block, the last posting <= target
		j := sort.Search(tc.i+1, func(j int) bool { return bytes.Compare(tc.block[j].pos[:], target[:]) > 0 })
		if j == 0 {
			return false
		}
		tc.i = j - 1
		return true
	}
	if le() {
		return true, nil
	}
	if ok, err := tc.load(tc.c.Prev()); !ok || err != nil {
		return false, err
	}
	if le() {
		return true, nil
	}
	// Far back: the first block ending at or after the target holds it or
	// follows the block that does.
	k, v := tc.c.Seek(blockKey(tc.term, target))
	if ok, err := tc.load(k, v); err != nil {
		return false, err
	} else if ok && le() {
		return true, nil
	}
	if k == nil {
		k, v = tc.c.Last()
	} else {
		k, v = tc.c.Prev()
	}
	return tc.load(k, v)
}

// intersect calls fn with the postings present under every term, newest
// first, until fn returns false (intersection.next).
func intersect(tx kv.Tx, terms [][]byte, fn func(p *posting) (bool, error)) error {
	in := newIntersection(tx, terms)
	defer in.release()
	for {
		p, ok, err := in.next()
		if !ok || err != nil {
			return err
		}
		if more, err := fn(p); err != nil || !more {
			return err
		}
	}
}

// intersection walks the postings present under every term, newest
// first. It leapfrogs: each cursor jumps straight to the newest posting
// not newer than the others', so the rarest term bounds the work whatever
// the order of the terms.
type intersection struct {
	cs      []termCursor
	started bool
	done    bool
	// advance: the cursors stand on the posting next returned last.
	advance bool
}

func newIntersection(tx kv.Tx, terms [][]byte) *intersection {
	b := tx.Bucket(bucketTerms)
	in := &intersection{cs: make([]termCursor, len(terms))}
	for i, t := range terms {
		in.cs[i] = termCursor{c: b.Cursor(), term: t}
	}
	return in
}

// release gives the cursors' buffers back for reuse: the intersection
// is not used after.
func (in *intersection) release() {
	for i := range in.cs {
		putPostingBuf(in.cs[i].block)
		in.cs[i].block = nil
	}
}

// next returns the next posting (valid until the following call), or
// false when there is none.
func (in *intersection) next() (*posting, bool, error) {
	if in.done {
		return nil, false, nil
	}
	if !in.started {
		in.started = true
		for i := range in.cs {
			if ok, err := in.cs[i].last(); !ok || err != nil {
				in.done = true
				return nil, false, err
			}
		}
	}
	if in.advance {
		in.advance = false
		if ok, err := in.cs[0].prev(); !ok || err != nil {
			in.done = true
			return nil, false, err
		}
	}
	for {
		lo := in.cs[0].cur().pos
		for i := range in.cs[1:] {
			if p := in.cs[i+1].cur().pos; bytes.Compare(p[:], lo[:]) < 0 {
				lo = p
			}
		}
		same := true
		for i := range in.cs {
			if in.cs[i].cur().pos != lo {
				same = false
				if ok, err := in.cs[i].seekLE(lo); !ok || err != nil {
					in.done = true
					return nil, false, err
				}
			}
		}
		if same {
			in.advance = true
			return in.cs[0].cur(), true, nil
		}
	}
}

// skipTo moves the walk past every posting not older than bound: next
// returns postings older than bound only.
func (in *intersection) skipTo(bound [16]byte) error {
	target, ok := before(bound)
	if !ok {
		in.done = true
		return nil
	}
	if !in.started {
		if _, _, err := in.next(); err != nil || in.done {
			return err
		}
		in.advance = false // the posting it stands on was not given
	}
	if p := in.cs[0].cur().pos; in.advance && bytes.Compare(p[:], target[:]) <= 0 {
		return nil // the walk is past bound already
	}
	in.advance = false
	for i := range in.cs {
		if p := in.cs[i].cur().pos; bytes.Compare(p[:], target[:]) <= 0 {
			continue
		}
		if ok, err := in.cs[i].seekLE(target); !ok || err != nil {
			in.done = true
			return err
		}
	}
	return nil
}

// before returns the position just before pos (false: there is none).
func before(pos [16]byte) ([16]byte, bool) {
	for i := len(pos) - 1; i >= 0; i-- {
		if pos[i] > 0 {
			pos[i]--
			return pos, true
		}
		pos[i] = 0xff
	}
	return pos, false
}

// holds reports whether the term's postings hold the note at pos, with a
// seek of c (a cursor of the terms bucket) to the block that would.
func holds(c kv.Cursor, term []byte, pos [16]byte, buf []posting) (bool, []posting, error) {
	k, v := c.Seek(blockKey(term, pos))
	if !hasPrefix(k, term) || len(k) != termLen+16 || !bytes.Equal(k[termLen:termLen+8], pos[:8]) {
		return false, buf, nil
	}
	if bytes.Equal(k[termLen:], pos[:]) { // the block's last posting
		return true, buf, nil
	}
	ps, err := decodeBlock(k, v, buf)
	if err != nil {
		return false, buf, err
	}
	for i := range ps {
		if ps[i].pos == pos {
			return true, ps, nil
		}
	}
	return false, ps, nil
}
