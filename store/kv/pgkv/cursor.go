package pgkv

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/casebot/casebot/store/kv"
)

// overlay is a bucket's writes in one transaction; a deleted key stays
// as a tombstone that hides the database's row. Keys written in order are
// appended to es, which stays sorted; a key that would go into its middle
// waits in pend (found through at) until something walks the overlay in
// order (sorted): an intake commit writes a thousand de-duplication keys
// in hash order, and inserting each into a sorted slice moved half of it,
// pointers and all, every time.
type overlay struct {
	es   []entry
	pend []entry
	at   map[string]int // key -> index in pend
}

type entry struct {
	key, value []byte
	del        bool
	// flushed is set once the entry is sent to the database ahead of the
	// commit (flush.go); a later write of the key makes a new entry.
	flushed bool
	// fresh marks a PutNew of a key the transaction had not written: it
	// is inserted without ON CONFLICT.
	fresh bool
}

func cmpEntry(e entry, k []byte) int { return bytes.Compare(e.key, k) }

// sorted returns every entry in key order, merging the pending ones into
// es first.
func (o *overlay) sorted() []entry {
	if len(o.pend) == 0 {
		return o.es
	}
	slices.SortFunc(o.pend, func(a, b entry) int { return bytes.Compare(a.key, b.key) })
	out := make([]entry, 0, len(o.es)+len(o.pend))
	i, j := 0, 0
	for i < len(o.es) && j < len(o.pend) { // their keys are distinct (lookup)
		if bytes.Compare(o.es[i].key, o.pend[j].key) < 0 {
			out = append(out, o.es[i])
			i++
		} else {
			out = append(out, o.pend[j])
			j++
		}
	}
	out = append(append(out, o.es[i:]...), o.pend[j:]...)
	clear(o.pend)
	o.es, o.pend = out, o.pend[:0]
	clear(o.at)
	return o.es
}

// lookup returns the entry of key, when the overlay holds one.
func (o *overlay) lookup(key []byte) (*entry, bool) {
	if len(o.pend) > 0 {
		if i, ok := o.at[string(key)]; ok {
			return &o.pend[i], true
		}
	}
	if i, ok := o.search(key); ok {
		return &o.es[i], true
	}
	return nil, false
}

// find returns the index of key in the sorted entries, or where it would
// go.
func (o *overlay) find(key []byte) (int, bool) {
	o.sorted()
	return o.search(key)
}

// search is find in es alone.
func (o *overlay) search(key []byte) (int, bool) {
	if n := len(o.es); n > 0 {
		// Appends are the common case (sequence keys).
		switch c := bytes.Compare(o.es[n-1].key, key); {
		case c < 0:
			return n, false
		case c == 0:
			return n - 1, true
		}
	}
	return slices.BinarySearchFunc(o.es, key, cmpEntry)
}

func (o *overlay) set(key, value []byte, del bool) {
	if e, ok := o.lookup(key); ok {
		*e = entry{key: key, value: value, del: del}
		return
	}
	o.add(entry{key: key, value: value, del: del})
}

// setNew is set for a PutNew: a key the transaction already wrote (or
// deleted, whose row may still be in the database until the delete is
// sent) is upserted as Put's; only a key it never touched is fresh.
func (o *overlay) setNew(key, value []byte) {
	if e, ok := o.lookup(key); ok {
		*e = entry{key: key, value: value}
		return
	}
	o.add(entry{key: key, value: value, fresh: true})
}

// add adds the entry of a key the overlay does not hold: at the end of es
// when it sorts last, else to pend.
func (o *overlay) add(e entry) {
	if n := len(o.es); n == 0 || bytes.Compare(o.es[n-1].key, e.key) < 0 {
		o.es = append(o.es, e)
		return
	}
	if o.at == nil {
		o.at = map[string]int{}
	}
	o.at[string(e.key)] = len(o.pend)
	o.pend = append(o.pend, e)
}

// pageKeys and pageBytes bound one page of rows a cursor reads: at most
// pageKeys keys, and no more rows past the first than fit in pageBytes of
// values, so that a page of raw messages stays small.
const (
	pageKeys  = 256
	pageBytes = 4 << 20
)

// firstPageKeys is the page of a cursor's first read after it moved to a
// key (First, Last, Seek): most such reads look up a few keys under one
// prefix (a case's notes, documents or audit trail), and a full page would
// carry a bucket's next 256 values for nothing. Each further page of the
// same walk doubles, up to pageKeys.
const firstPageKeys = 16

// pageSQL returns the query of one page: keys after (or before, desc) $2,
// $2 compared with op ("" for no bound), at most $4 of them, cut where the
// values pass $3 bytes; n is the count before the cut.
func pageSQL(op string, desc bool) string {
	order := "key"
	if desc {
		order = "key DESC"
	}
	where := "bucket = $1"
	if op != "" {
		where += " AND key " + op + " $2"
	} else {
		where += " AND $2::bytea IS NOT NULL"
	}
	return fmt.Sprintf(`SELECT key, value, n FROM (
	SELECT key, value, sum(octet_length(value)) OVER (ORDER BY %[1]s ROWS UNBOUNDED PRECEDING) - octet_length(value) AS before, count(*) OVER () AS n
	FROM (SELECT key, value FROM kv WHERE %[2]s ORDER BY %[1]s LIMIT $4) p
) t WHERE before < $3 ORDER BY %[1]s`, order, where)
}

var (
	pageAfterSQL   = pageSQL(">", false)
	pageFromSQL    = pageSQL(">=", false)
	pageAllAscSQL  = pageSQL("", false)
	pageBeforeSQL  = pageSQL("<", true)
	pageToSQL      = pageSQL("<=", true)
	pageAllDescSQL = pageSQL("", true)
)

type row struct{ k, v []byte }

// page is a run of the database's rows: exactly the bucket's keys between
// lo and hi (each possibly infinite, inclusive or not), ascending.
type page struct {
	ok             bool
	rows           []row
	lo, hi         []byte
	loInf, hiInf   bool
	loIncl, hiIncl bool
}

// Cursor is a kv.Cursor over the merged view of a bucket's overlay and
// its rows in the database. It keeps its position as a key, so Next is the
// smallest key after the current one in the view as it is when called,
// whatever the caller put or deleted meanwhile.
type Cursor struct {
	b     *Bucket
	pos   []byte
	state int // before the first key, at pos, or after the last
	page  page
	// grow counts the pages read since the cursor last moved to a key.
	grow int
}

const (
	before = iota
	at
	after
)

var _ kv.Cursor = (*Cursor)(nil)

// First implements kv.Cursor.
func (c *Cursor) First() ([]byte, []byte) { c.grow = 0; return c.land(c.next(nil, true, true), true) }

// Last implements kv.Cursor.
func (c *Cursor) Last() ([]byte, []byte) { c.grow = 0; return c.land(c.prev(nil, true, true), false) }

// Seek implements kv.Cursor.
func (c *Cursor) Seek(seek []byte) ([]byte, []byte) {
	c.grow = 0
	return c.land(c.next(seek, len(seek) == 0, true), true)
}

// Next implements kv.Cursor.
func (c *Cursor) Next() ([]byte, []byte) {
	switch c.state {
	case before:
		return c.First()
	case at:
		return c.land(c.next(c.pos, false, false), true)
	}
	return nil, nil
}

// Prev implements kv.Cursor.
func (c *Cursor) Prev() ([]byte, []byte) {
	switch c.state {
	case after:
		return c.Last()
	case at:
		return c.land(c.prev(c.pos, false, false), false)
	}
	return nil, nil
}

func (c *Cursor) land(r row, forward bool) ([]byte, []byte) {
	switch {
	case r.k != nil:
		c.pos, c.state = r.k, at
	case forward:
		c.state = after
	default:
		c.state = before
	}
	return r.k, r.v
}

// next returns the smallest live key after from (at or after, when incl;
// the first key when inf).
func (c *Cursor) next(from []byte, inf, incl bool) row {
	b := c.b
	for b.tx.err == nil {
		es := b.over.sorted()
		oi := 0
		if !inf {
			var found bool
			oi, found = b.over.find(from)
			if found && !incl {
				oi++
			}
		}
		var d row
		if !b.st.wiped {
			d = c.dbNext(from, inf, incl)
			if b.tx.err != nil {
				break
			}
		}
		if oi < len(es) && (d.k == nil || bytes.Compare(es[oi].key, d.k) <= 0) {
			e := es[oi]
			if e.del {
				from, inf, incl = e.key, false, false
				continue
			}
			return row{e.key, e.value}
		}
		return d
	}
	return row{}
}

// prev returns the largest live key before from (at or before, when
// incl; the last key when inf).
func (c *Cursor) prev(from []byte, inf, incl bool) row {
	b := c.b
	for b.tx.err == nil {
		es := b.over.sorted()
		oi := len(es) - 1
		if !inf {
			i, found := b.over.find(from)
			if found && incl {
				oi = i
			} else {
				oi = i - 1
			}
		}
		var d row
		if !b.st.wiped {
			d = c.dbPrev(from, inf, incl)
			if b.tx.err != nil {
				break
			}
		}
		if oi >= 0 && (d.k == nil || bytes.Compare(es[oi].key, d.k) >= 0) {
			e := es[oi]
			if e.del {
				from, inf, incl = e.key, false, false
				continue
			}
			return row{e.key, e.value}
		}
		return d
	}
	return row{}
}

// dbNext returns the database's first key after from, from the cached
// page when it holds the answer, else from a new page.
func (c *Cursor) dbNext(from []byte, inf, incl bool) row {
	c.adopt(from, inf, incl)
	for range 2 {
		p := &c.page
		if p.ok && p.coversFrom(from, inf, incl) {
			i := 0
			if !inf {
				var found bool
				i, found = slices.BinarySearchFunc(p.rows, from, cmpRow)
				if found && !incl {
					i++
				}
			}
			if i < len(p.rows) {
				return p.rows[i]
			}
			if p.hiInf {
				return row{}
			}
		}
		if !c.fetch(from, inf, incl, false) {
			break
		}
	}
	return row{}
}

// dbPrev returns the database's last key before from.
func (c *Cursor) dbPrev(from []byte, inf, incl bool) row {
	for range 2 {
		p := &c.page
		if p.ok && p.coversTo(from, inf, incl) {
			i := len(p.rows) - 1
			if !inf {
				j, found := slices.BinarySearchFunc(p.rows, from, cmpRow)
				if found && incl {
					i = j
				} else {
					i = j - 1
				}
			}
			if i >= 0 {
				return p.rows[i]
			}
			if p.loInf {
				return row{}
			}
		}
		if !c.fetch(from, inf, incl, true) {
			break
		}
	}
	return row{}
}

func cmpRow(r row, k []byte) int { return bytes.Compare(r.k, k) }

// adopt makes a page the transaction read at its start (kv.Reads' Seeks)
// the cursor's page when its own does not cover from and that one does,
// so that the walk from there costs no round trip.
func (c *Cursor) adopt(from []byte, inf, incl bool) {
	if len(c.b.pages) == 0 || c.page.ok && c.page.coversFrom(from, inf, incl) {
		return
	}
	for _, p := range c.b.pages {
		if p.coversFrom(from, inf, incl) {
			c.page = p
			c.grow = max(c.grow, 1)
			return
		}
	}
}

// coversFrom reports whether the page holds every key from from onwards
// up to its first row after from.
func (p *page) coversFrom(from []byte, inf, incl bool) bool {
	if inf || p.loInf {
		return p.loInf
	}
	c := bytes.Compare(from, p.lo)
	return c > 0 || c == 0 && (p.loIncl || !incl)
}

// coversTo is coversFrom downwards.
func (p *page) coversTo(to []byte, inf, incl bool) bool {
	if inf || p.hiInf {
		return p.hiInf
	}
	c := bytes.Compare(to, p.hi)
	return c < 0 || c == 0 && (p.hiIncl || !incl)
}

// fetch reads the page of rows after from (before it, desc) into c.page;
// false on a failure of the database, recorded in the transaction.
func (c *Cursor) fetch(from []byte, inf, incl, desc bool) bool {
	t := c.b.tx
	var q string
	switch {
	case inf && desc:
		q = pageAllDescSQL
	case inf:
		q = pageAllAscSQL
	case desc && incl:
		q = pageToSQL
	case desc:
		q = pageBeforeSQL
	case incl:
		q = pageFromSQL
	default:
		q = pageAfterSQL
	}
	arg := from
	if arg == nil {
		arg = empty
	}
	limit := pageKeys
	if c.grow < 5 {
		limit = firstPageKeys << c.grow // 16, 32, … 256
	}
	c.grow++
	t.trip("page", c.b.name)
	rows, err := t.conn.Query(t.ctx, q, c.b.name, arg, pageBytes, limit)
	if err != nil {
		t.fail(err)
		return false
	}
	p, err := readPage(rows, from, inf, incl, desc, limit)
	if err != nil {
		t.fail(err)
		return false
	}
	c.page = p
	return true
}

// readPage reads the rows of a page query (at most limit of them, from
// from, descending when desc) into a page.
func readPage(rows pgx.Rows, from []byte, inf, incl, desc bool, limit int) (page, error) {
	var got []row
	var k, v []byte
	var n int64
	_, err := pgx.ForEachRow(rows, []any{&k, &v, &n}, func() error {
		if v == nil {
			v = empty
		}
		got = append(got, row{k, v})
		k, v = nil, nil
		return nil
	})
	if err != nil {
		return page{}, err
	}
	whole := len(got) == 0 || int64(len(got)) == n && n < int64(limit)
	p := page{ok: true, rows: got}
	if desc {
		slices.Reverse(p.rows)
		p.hi, p.hiInf, p.hiIncl = from, inf, incl
		if whole {
			p.loInf = true
		} else {
			p.lo, p.loIncl = p.rows[0].k, true
		}
	} else {
		p.lo, p.loInf, p.loIncl = from, inf, incl
		if whole {
			p.hiInf = true
		} else {
			p.hi, p.hiIncl = p.rows[len(p.rows)-1].k, true
		}
	}
	return p, nil
}
