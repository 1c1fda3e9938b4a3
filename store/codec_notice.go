package store

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/casebot/casebot"
)

// Notices in outbox payloads: a notice and the digest it may carry,
// sealed with the message (appendOutPayload).

// noticeFormat starts a notice in an outbox payload; a later layout of
// the notice's fields takes the next value. Format 1 had no purge lists,
// session Moved times, agendas or shared caseloads in its digest, and no
// met deadlines or poll tally; format 2 no open offers counts in its
// digest. Both still decode, without them.
const (
	noticeFormat1 = 1
	noticeFormat2 = 2
	noticeFormat  = 3
)

func appendNotice(e *enc, n *casebot.Notice) {
	e.b = append(e.b, noticeFormat)
	e.uint(uint64(n.Kind))
	e.str(n.CaseID)
	e.str(n.CaseTitle)
	e.str(n.Zone)
	e.int(int64(n.N))
	e.str(n.From)
	e.str(n.Subject)
	e.str(n.Excerpt)
	e.str(n.Party)
	e.str(string(n.Role))
	e.str(n.Reason)
	e.time(n.At)
	e.str(n.Text)
	e.str(n.Title)
	e.int(int64(n.Duration))
	e.str(n.Where)
	e.int(int64(n.Offset))
	e.int(int64(n.DaysOverdue))
	e.bool(n.Digest != nil)
	if n.Digest != nil {
		appendDigest(e, n.Digest)
	}
	e.uint(uint64(len(n.Met)))
	for _, m := range n.Met {
		e.int(int64(m.N))
		e.str(m.Text)
	}
	e.bool(n.Poll != nil)
	if n.Poll != nil {
		appendPollTally(e, n.Poll)
	}
}

func decodeNotice(d *dec) *casebot.Notice {
	f := d.b[0]
	if f != noticeFormat && f != noticeFormat2 && f != noticeFormat1 {
		d.fail(fmt.Errorf("unknown notice format %d", f))
		return nil
	}
	d.ver, d.b = d.b[0], d.b[1:]
	n := &casebot.Notice{Kind: casebot.NoticeKind(d.uint()), CaseID: d.str(), CaseTitle: d.str(), Zone: d.str(), N: int(d.int()),
		From: d.str(), Subject: d.str(), Excerpt: d.str(), Party: d.str(), Role: casebot.Role(d.str()), Reason: d.str()}
	n.At, n.Text, n.Title, n.Duration, n.Where = d.time(), d.str(), d.str(), time.Duration(d.int()), d.str()
	n.Offset, n.DaysOverdue = time.Duration(d.int()), int(d.int())
	if d.bool() {
		n.Digest = decodeDigest(d, f >= noticeFormat2)
	}
	if f >= noticeFormat2 {
		if k := d.count(2); k > 0 {
			n.Met = make([]casebot.DeadlineMet, k)
			for i := range n.Met {
				n.Met[i] = casebot.DeadlineMet{N: int(d.int()), Text: d.str()}
			}
		}
	}
	if d.ver >= 2 && d.bool() {
		n.Poll = decodePollTally(d)
	}
	if d.err != nil {
		return nil
	}
	return n
}

func appendDigest(e *enc, g *casebot.Digest) {
	e.str(g.User)
	e.bool(g.Admin)
	e.time(g.At)
	e.str(g.Zone)
	e.time(g.Since)
	e.int(int64(g.OpenCases))
	for _, items := range [...][]casebot.DigestItem{g.Sessions, g.Deadlines, g.Overdue, g.Idle} {
		e.uint(uint64(len(items)))
		for i := range items {
			appendDigestItem(e, &items[i])
		}
	}
	e.uint(uint64(len(g.Emails)))
	for _, c := range g.Emails {
		e.str(c.CaseID)
		e.str(c.Title)
		e.str(string(c.Priority))
		e.int(int64(c.Count))
	}
	e.uint(uint64(len(g.Missed)))
	for _, m := range g.Missed {
		e.str(m.Key)
		e.str(m.User)
		e.str(m.CaseID)
		e.str(m.What)
		e.time(m.Fire)
	}
	e.int(int64(g.Quarantine))
	e.uint(uint64(len(g.Caseloads)))
	for _, c := range g.Caseloads {
		e.str(c.Mediator)
		e.int(int64(c.Open))
		e.uint(uint64(len(c.ByPriority)))
		for _, p := range slices.Sorted(maps.Keys(c.ByPriority)) {
			e.str(string(p))
			e.int(int64(c.ByPriority[p]))
		}
		e.uint(uint64(len(c.Shared)))
		for _, p := range slices.Sorted(maps.Keys(c.Shared)) {
			e.str(string(p))
			e.int(int64(c.Shared[p]))
		}
	}
	// The purge lists (notice format 2).
	for _, items := range [...][]casebot.DigestItem{g.Purged, g.PurgeSoon} {
		e.uint(uint64(len(items)))
		for i := range items {
			appendDigestItem(e, &items[i])
		}
	}
	// The open offers counts (notice format 3).
	e.uint(uint64(len(g.Offers)))
	for _, o := range g.Offers {
		e.str(o.CaseID)
		e.str(o.Title)
		e.str(string(o.Priority))
		e.int(int64(o.Open))
	}
}

func appendDigestItem(e *enc, it *casebot.DigestItem) {
	e.str(it.CaseID)
	e.str(it.Title)
	e.str(it.Mediator)
	e.str(string(it.Priority))
	e.int(int64(it.N))
	e.time(it.When)
	e.str(it.Text)
	e.bool(it.Session != nil)
	if s := it.Session; s != nil {
		e.int(int64(s.N))
		e.time(s.Start)
		e.int(int64(s.Duration))
		e.str(s.Title)
		e.str(s.Where)
		e.int(int64(s.Sequence))
		e.bool(s.Cancelled)
		e.time(s.Created)
		e.time(s.Moved)
		e.uint(uint64(len(s.Agenda)))
		for _, a := range s.Agenda {
			e.str(a)
		}
		e.time(s.AgendaChanged)
	}
}

func decodeDigest(d *dec, purgeLists bool) *casebot.Digest {
	g := &casebot.Digest{User: d.str(), Admin: d.bool(), At: d.time(), Zone: d.str(), Since: d.time(), OpenCases: int(d.int())}
	for _, items := range [...]*[]casebot.DigestItem{&g.Sessions, &g.Deadlines, &g.Overdue, &g.Idle} {
		if n := d.count(8); n > 0 {
			*items = make([]casebot.DigestItem, n)
			for i := range *items {
				decodeDigestItem(d, &(*items)[i])
			}
		}
	}
	if n := d.count(4); n > 0 {
		g.Emails = make([]casebot.EmailCount, n)
		for i := range g.Emails {
			g.Emails[i] = casebot.EmailCount{CaseID: d.str(), Title: d.str(), Priority: casebot.Priority(d.str()), Count: int(d.int())}
		}
	}
	if n := d.count(5); n > 0 {
		g.Missed = make([]casebot.MissedReminder, n)
		for i := range g.Missed {
			g.Missed[i] = casebot.MissedReminder{Key: d.str(), User: d.str(), CaseID: d.str(), What: d.str(), Fire: d.time()}
		}
	}
	g.Quarantine = int(d.int())
	if n := d.count(3); n > 0 {
		g.Caseloads = make([]casebot.Caseload, n)
		for i := range g.Caseloads {
			c := &g.Caseloads[i]
			c.Mediator, c.Open = d.str(), int(d.int())
			if k := d.count(2); k > 0 {
				c.ByPriority = make(map[casebot.Priority]int, k)
				for range k {
					p := casebot.Priority(d.str())
					c.ByPriority[p] = int(d.int())
				}
			}
			if d.ver < 2 {
				continue
			}
			if k := d.count(2); k > 0 {
				c.Shared = make(map[casebot.Priority]int, k)
				for range k {
					p := casebot.Priority(d.str())
					c.Shared[p] = int(d.int())
				}
			}
		}
	}
	if purgeLists {
		for _, items := range [...]*[]casebot.DigestItem{&g.Purged, &g.PurgeSoon} {
			if n := d.count(8); n > 0 {
				*items = make([]casebot.DigestItem, n)
				for i := range *items {
					decodeDigestItem(d, &(*items)[i])
				}
			}
		}
		if d.ver >= noticeFormat {
			if n := d.count(4); n > 0 {
				g.Offers = make([]casebot.OfferCount, n)
				for i := range g.Offers {
					g.Offers[i] = casebot.OfferCount{CaseID: d.str(), Title: d.str(), Priority: casebot.Priority(d.str()), Open: int(d.int())}
				}
			}
		}
	}
	return g
}

func decodeDigestItem(d *dec, it *casebot.DigestItem) {
	*it = casebot.DigestItem{CaseID: d.str(), Title: d.str(), Mediator: d.str(), Priority: casebot.Priority(d.str()), N: int(d.int()),
		When: d.time(), Text: d.str()}
	if d.bool() {
		it.Session = &casebot.Session{N: int(d.int()), Start: d.time(), Duration: time.Duration(d.int()), Title: d.str(), Where: d.str(),
			Sequence: int(d.int()), Cancelled: d.bool(), Created: d.time()}
		if d.ver >= 2 {
			it.Session.Moved = d.time()
			if n := d.count(1); n > 0 {
				it.Session.Agenda = make([]string, n)
				for i := range it.Session.Agenda {
					it.Session.Agenda[i] = d.str()
				}
			}
			it.Session.AgendaChanged = d.time()
		}
	}
}
