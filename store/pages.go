package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// Indexes for list pages and reports (schema 5). Like the other indexes
// they are defined by caseEntries (through insightEntries), so writes,
// reindex and Check keep them without further code.
var (
	// bucketIdxUrgent: class \0 urgency -> the case's summary (what a list
	// line shows, encodeSummary), where class is "o" (open) or
	// "c" (closed) and urgency is 255-rank (1) | earliest open deadline (8)
	// | case ID: key order is list order, so a page is a cursor walk that
	// reads only the records it shows.
	bucketIdxUrgent = []byte("idx_urgent")
	// bucketIdxUrgentMed: mediator \0 class \0 urgency -> the summary.
	bucketIdxUrgentMed = []byte("idx_urgent_med")
	// bucketIdxClosed: closed time (8) | case ID -> a closed case's report
	// row (binary): a report's CSV reads only its period's range.
	bucketIdxClosed = []byte("idx_closed")
)

// urgency is the part of an urgency key after the class: what the list
// orders by, then the case ID.
func urgency(c *casebot.Case, sv []byte) []byte {
	k := make([]byte, 0, 9+len(c.ID))
	k = append(k, byte(255-int(sv[0])))
	k = append(k, sv[1:9]...)
	return append(k, c.ID...)
}

func class(s casebot.Status) string {
	if s.Closed() {
		return "c"
	}
	return "o"
}

// insightEntries adds the entries of the urgency and closed-case indexes
// of c (whose sort value is sv) through put.
func (db *DB) insightEntries(c *casebot.Case, sv []byte, put func(b, k []byte, v idxVal)) {
	u := urgency(c, sv)
	sum := summaryEntry(c)
	put(bucketIdxUrgent, append(prefixOf(class(c.Status)), u...), sum)
	// A co-mediator lists the case among their own, as its mediator does.
	for _, m := range append([]string{c.Mediator}, c.CoMediators...) {
		if m != "" {
			put(bucketIdxUrgentMed, append(prefixOf(m, class(c.Status)), u...), sum)
		}
	}
	if c.Status.Closed() {
		put(bucketIdxClosed, append(timeKey(closedAt(c)), c.ID...), idxVal{clear: encodeClosedRow(c)})
	}
}

// summaryEntry is the value of c's urgency entries: what a list line
// shows, so a page reads no case record. What names the dispute (the
// title, the next deadline's text) is sealed under the case's key, like
// the time indexes' entries.
func summaryEntry(c *casebot.Case) idxVal {
	s := c.Summary()
	var h, p enc
	h.str(s.Mediator)
	h.str(string(s.Priority))
	h.str(string(s.Status))
	appendUsers(&h, s.CoMediators)
	h.bool(s.Next != nil)
	p.str(s.Title)
	if s.Next != nil {
		h.uint(uint64(s.Next.N))
		h.time(s.Next.Due.UTC())
		p.str(s.Next.Text)
	}
	return idxVal{clear: h.b, secret: p.b, sealed: true, master: c.Purged != nil}
}

// decodeSummary reads an urgency entry of case id stored under key. A case
// whose data key is destroyed (a copy of the file from before its purge)
// lists without its title.
func (db *DB) decodeSummary(id string, key, v []byte) (casebot.CaseSummary, error) {
	var s casebot.CaseSummary
	err := db.decodeSummaryTo(&s, nil, "", id, key, v)
	return s, err
}

// decodeSummaryTo is decodeSummary into s, with the next deadline in next
// (a new one when nil) and a mediator equal to med sharing its string.
func (db *DB) decodeSummaryTo(s *casebot.CaseSummary, next *casebot.Deadline, med, id string, key, v []byte) error {
	sealed, err := decodeSummaryClear(s, next, med, id, key, v)
	if err != nil {
		return err
	}
	return db.openSummary(s, key, sealed)
}

// decodeSummaryClear reads the clear part of an urgency entry into s (ID,
// mediators, priority, status, the next deadline's number and due time)
// and returns its sealed part, which openSummary reads.
func decodeSummaryClear(s *casebot.CaseSummary, next *casebot.Deadline, med, id string, key, v []byte) (sealed []byte, err error) {
	clear, sealed, err := splitRef(key, v)
	if err != nil {
		return nil, err
	}
	d := dec{b: clear}
	*s = casebot.CaseSummary{ID: id, Mediator: d.strOr(med), Priority: enumOf(&d, casebot.Priorities), Status: enumOf(&d, casebot.Statuses)}
	s.CoMediators = decodeUsers(&d)
	if d.bool() {
		if next == nil {
			next = new(casebot.Deadline)
		}
		*next = casebot.Deadline{N: int(d.uint()), Due: d.time()}
		s.Next = next
	}
	if d.err != nil {
		return nil, fmt.Errorf("list entry of %s: %w", id, d.err)
	}
	return sealed, nil
}

// openSummary reads the sealed part of s's urgency entry: the title and
// the next deadline's text.
func (db *DB) openSummary(s *casebot.CaseSummary, key, sealed []byte) error {
	secret, err := db.openCase(s.ID, key, sealed)
	if errors.Is(err, errKeyDestroyed) {
		s.Title = "(cannot be read: the case was purged)"
		return nil
	} else if err != nil {
		return fmt.Errorf("list entry of %s: %w", s.ID, err)
	}
	d := dec{b: secret}
	s.Title = d.str()
	if s.Next != nil {
		s.Next.Text = d.str()
	}
	if d.err != nil {
		return fmt.Errorf("list entry of %s: %w", s.ID, d.err)
	}
	return nil
}

func encodeClosedRow(c *casebot.Case) []byte {
	e := enc{b: []byte{binFormat}}
	e.str(c.Type)
	e.str(string(c.Priority))
	e.str(c.Source)
	e.str(c.Mediator)
	e.time(c.Created.UTC())
	e.time(closedAt(c).UTC())
	e.str(string(c.Status))
	e.uint(uint64(tenthsToClose(c)))
	e.uint(uint64(heldSessions(c, closedAt(c))))
	return e.b
}

func decodeClosedRow(k, v []byte) (casebot.ClosedCase, error) {
	if len(k) < 9 || len(v) < 1 || v[0] != binFormat {
		return casebot.ClosedCase{}, fmt.Errorf("bad closed index entry %q", k)
	}
	d := dec{b: v[1:]}
	r := casebot.ClosedCase{ID: string(k[8:]), Type: d.str(), Priority: casebot.Priority(d.str()), Source: d.str(), Mediator: d.str(),
		Opened: d.time(), Closed: d.time(), Outcome: casebot.Status(d.str())}
	r.Days = float64(d.uint()) / 10
	r.Sessions = int(d.uint())
	if d.err != nil {
		return r, fmt.Errorf("closed index entry %q: %w", k, d.err)
	}
	return r, nil
}

// stateClasses returns the classes a list state shows, in list order.
func stateClasses(state string) ([]string, error) {
	switch state {
	case "", "open":
		return []string{"o"}, nil
	case "closed":
		return []string{"c"}, nil
	case "all":
		return []string{"o", "c"}, nil
	}
	return nil, casebot.Errorf(casebot.EINVALID, "%q is not a case state; use open, closed or all.", state)
}

// CasePage returns page page (1-based) of the cases f selects (f.Limit is
// ignored), casebot.ListPageSize a page, most urgent first: open cases
// before closed ones for "all", then priority, earliest open deadline and
// ID. A page past the end gives the last page. The order and the
// summaries come from the urgency index and the total from the counters:
// no case record is read.
func (db *DB) CasePage(ctx context.Context, f casebot.CaseFilter, page int) (casebot.CasePage, error) {
	classes, err := stateClasses(f.State)
	if err != nil {
		return casebot.CasePage{}, err
	}
	want := func(s casebot.Status) bool {
		return f.State == "all" || (f.State == "closed") == s.Closed()
	}
	var out casebot.CasePage
	if f.Mediator != "" {
		// The walk below starts where the transaction read at its start,
		// with room for a busy mediator's open cases.
		ctx = kv.WithReads(ctx, kv.Reads{Seeks: []kv.Seek{{Bucket: bucketIdxUrgentMed, Key: prefixOf(f.Mediator, classes[0]), Keys: 128}}})
	}
	err = db.view(ctx, func(tx kv.Tx) error {
		size := casebot.ListPageSize
		if f.Mediator != "" {
			// One user's cases, as mediator or co-mediator: counted in
			// their part of the index (the counters know lead mediators),
			// in the same walk that finds the page's entries.
			// It keeps the entries of the page asked for, or, when the
			// cases end before it, of the last page.
			want := max(page, 1) - 1
			var chunk, kept []urgencyEntry
			total := 0
			for _, cl := range classes {
				p := prefixOf(f.Mediator, cl)
				c := tx.Bucket(bucketIdxUrgentMed).Cursor()
				for k, v := c.Seek(p); hasPrefix(k, p); k, v = c.Next() {
					if total%size == 0 && kept == nil {
						if total/size > want {
							kept = chunk // the page asked for, complete
						} else {
							chunk = make([]urgencyEntry, 0, size)
						}
					}
					total++
					if kept == nil {
						chunk = append(chunk, urgencyEntry{k, v, len(p)})
					}
				}
			}
			if kept == nil {
				kept = chunk // the page asked for, or the last
			}
			pages := max(1, (total+size-1)/size)
			page = min(max(page, 1), pages)
			out = casebot.CasePage{Page: page, Pages: pages, Total: total}
			for _, e := range kept {
				s, err := db.urgencySummary(e.k, e.v, e.p)
				if err != nil {
					return err
				}
				out.Cases = append(out.Cases, s)
			}
			return nil
		}
		total, err := countCases(tx, "", want)
		if err != nil {
			return err
		}
		pages := max(1, (total+size-1)/size)
		page = min(max(page, 1), pages)
		out = casebot.CasePage{Page: page, Pages: pages, Total: total}
		skip := (page - 1) * size
		b := tx.Bucket(bucketIdxUrgent)
		for _, cl := range classes {
			p := prefixOf(cl)
			c := b.Cursor()
			for k, v := c.Seek(p); hasPrefix(k, p) && len(out.Cases) < size; k, v = c.Next() {
				if skip > 0 {
					skip--
					continue
				}
				s, err := db.urgencySummary(k, v, len(p))
				if err != nil {
					return err
				}
				out.Cases = append(out.Cases, s)
			}
		}
		return nil
	})
	if err != nil {
		return casebot.CasePage{}, fmt.Errorf("store: list page %d: %w", page, err)
	}
	return out, nil
}

// urgencyEntry is an urgency index entry whose class prefix is p bytes.
type urgencyEntry struct {
	k, v []byte
	p    int
}

// urgencySummary decodes the summary of an urgency index entry whose
// class prefix is p bytes long.
func (db *DB) urgencySummary(k, v []byte, p int) (casebot.CaseSummary, error) {
	if len(k) < p+9 {
		return casebot.CaseSummary{}, fmt.Errorf("bad urgency key %q", k)
	}
	return db.decodeSummary(string(k[p+9:]), k, v)
}
