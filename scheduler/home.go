package scheduler

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/casebot/casebot"
)

var _ casebot.HomeService = (*Scheduler)(nil)

// HomeNow returns user's Slack Home at now in their zone: overdue
// deadlines, today's sessions, the next 7 days' deadlines and party emails
// since their last digest, as the digest command counts them (a Home
// shows no idle cases or missed reminders), for admins the quarantine and
// caseload balance, and their open cases most urgent first. It reads the
// store's indexes (the urgency index's summaries, the deadline and session
// time indexes), never a whole case record, so that a busy mediator's Home
// costs what their list page does. Every case and item on it is one of
// the user's open cases and passes the access rule
// (casebot.Actor.CanSee). It changes nothing.
func (s *Scheduler) HomeNow(ctx context.Context, user string, now time.Time) (casebot.Home, error) {
	st := s.cfg.Store
	state, err := st.ScheduleState(ctx)
	if err != nil {
		return casebot.Home{}, fmt.Errorf("scheduler: home of %s: %w", user, err)
	}
	since := state.Digests[user].Sent
	if since.IsZero() {
		since = now.Add(-day)
	}
	// The notes are read first: the cases with party emails since are
	// among those whose titles the Home shows.
	notes, err := s.notesSince(ctx, since, now)
	if err != nil {
		return casebot.Home{}, fmt.Errorf("scheduler: home of %s: %w", user, err)
	}
	emailed := map[string]bool{}
	for _, n := range notes {
		if n.Source == casebot.SourceEmail && !n.Created.Before(since) {
			emailed[n.CaseID] = true
		}
	}
	// Of the user's open cases, only those the Home can show are opened
	// (title, next deadline's text) and kept whole: the first
	// casebot.HomeCasesShown, those whose next deadline is due in the
	// next 7 days (shown with its text) and those with party emails. The
	// others are counted and ranked by their clear parts, which refs
	// keep (all of them, in the list's order).
	actor := casebot.Actor{ID: user, Admin: s.admins[user]}
	soonEnd := now.Add(upcomingWindow)
	sc := getHomeScratch()
	defer sc.release()
	refs := sc.refs
	var first time.Time // the earliest open deadline of any of them
	opened := int32(0)
	cases, err := s.cfg.Store.OpenSummaries(ctx, user, func(c *casebot.CaseSummary) (bool, bool) {
		if !visible(actor, c) {
			return false, false
		}
		r := homeRef{id: c.ID, mediator: c.Mediator, priority: c.Priority, rank: int8(c.Priority.Rank()), opened: -1}
		if len(refs) < casebot.HomeCasesShown || emailed[c.ID] || (c.Next != nil && c.Next.Due.After(now) && !c.Next.Due.After(soonEnd)) {
			r.opened, opened = opened, opened+1
		}
		if c.Next != nil && (first.IsZero() || c.Next.Due.Before(first)) {
			first = c.Next.Due
		}
		refs = append(refs, r)
		return r.opened >= 0, r.opened >= 0
	})
	sc.refs = refs
	if err != nil {
		return casebot.Home{}, fmt.Errorf("scheduler: open cases of %s: %w", user, err)
	}
	// summary returns refs[i]'s whole summary, nil when not opened.
	summary := func(i int) *casebot.CaseSummary {
		if o := refs[i].opened; o >= 0 {
			return &cases[o]
		}
		return nil
	}
	loc := s.Zone(ctx, user)
	h := casebot.Home{Digest: casebot.Digest{User: user, Admin: s.admins[user], At: now, Zone: loc.String(), Since: since, OpenCases: len(refs)},
		Cases: make([]casebot.HomeCase, 0, min(len(refs), casebot.HomeCasesShown))}
	// The first casebot.HomeCasesShown cases are the first opened.
	for i := range min(len(refs), casebot.HomeCasesShown) {
		h.Cases = append(h.Cases, homeCase(cases[i]))
	}
	// mine finds a case among refs by ID, for the deadlines, sessions and
	// emails, which are shown only for the user's own open cases.
	mine := sc.mine
	for i := range refs {
		mine[refs[i].id] = i
	}
	fail := func(err error) (casebot.Home, error) {
		return casebot.Home{}, fmt.Errorf("scheduler: home of %s: %w", user, err)
	}
	if h.Admin {
		if err := s.adminCounts(ctx, &h.Digest); err != nil {
			return fail(err)
		}
		// Every case's overdue deadlines, counted from the index's clear
		// parts; only the most urgent are kept and opened.
		var top urgentTop
		if err := st.EachDeadlineOf(ctx, "", time.Time{}, now.Add(time.Nanosecond), func(r casebot.DeadlineRef) bool {
			top.offer(r, r.Priority.Rank())
			return true
		}); err != nil {
			return fail(err)
		}
		h.OverdueTotal = top.total
		shown := top.appendRefs(nil)
		if err := st.DeadlineTexts(ctx, shown); err != nil {
			return fail(err)
		}
		for _, r := range shown {
			h.Overdue = append(h.Overdue, casebot.DigestItem{CaseID: r.CaseID, Title: r.Title, Mediator: r.Mediator, Priority: r.Priority,
				N: r.Deadline.N, When: r.Deadline.Due, Text: r.Deadline.Text})
		}
	}
	if len(refs) == 0 {
		return h, nil
	}
	// Every unmet deadline of these cases is due at or after the earliest
	// of their next deadlines: the walk starts there. Texts are read only
	// for the deadlines shown: the next 7 days' and the most urgent
	// overdue ones.
	if !first.IsZero() && !first.After(now.Add(upcomingWindow)) {
		// shown: the upcoming deadlines as they come, then the most
		// urgent overdue ones. The index's keys say all the walk needs
		// (case, number, due time; the priority is the case's): nothing
		// is decoded but the texts of those shown.
		top := urgentTop{top: sc.top}
		soon := sc.soon
		if err := st.EachDeadlineKeyOf(ctx, user, first, now.Add(upcomingWindow+time.Nanosecond), func(id []byte, n int, at time.Time) bool {
			i, ok := mine[string(id)]
			switch {
			case !ok:
			case at.After(now):
				soon = append(soon, due{int32(i), int32(n), at.UnixNano()})
			case !h.Admin: // an admin's overdue list is every case's
				// Most are less urgent than the fifteen kept: counted
				// before a ref is made of them.
				if rank := int(refs[i].rank); !top.skips(rank, at, refs[i].id, n) {
					top.offer(casebot.DeadlineRef{CaseID: refs[i].id, Deadline: casebot.Deadline{N: n, Due: at}}, rank)
				}
			}
			return true
		}); err != nil {
			return fail(err)
		}
		sc.soon, sc.top = soon, top.top
		// Most urgent first, as the Home lists them (byUrgency).
		slices.SortFunc(soon, func(a, b due) int {
			ra, rb := &refs[a.ci], &refs[b.ci]
			return cmp.Or(int(rb.rank)-int(ra.rank), cmp.Compare(a.at, b.at), strings.Compare(ra.id, rb.id), int(a.n-b.n))
		})
		upcoming := len(soon)
		shown := slices.Grow(sc.shown, upcoming+len(top.top))
		for _, d := range soon {
			shown = append(shown, casebot.DeadlineRef{CaseID: refs[d.ci].id, Deadline: casebot.Deadline{N: int(d.n), Due: time.Unix(0, d.at).UTC()}})
		}
		if !h.Admin {
			h.OverdueTotal = top.total
			shown = top.appendRefs(shown)
		}
		// A case's next deadline is told by its summary, when opened; the
		// others' texts are read from the deadline index.
		for i := range shown {
			r := &shown[i]
			if c := summary(mine[r.CaseID]); c != nil && nextOf(c, r.Deadline.N, r.Deadline.Due) {
				r.Title, r.Deadline.Text = c.Title, c.Next.Text
			}
		}
		sc.shown = shown
		if err := st.DeadlineTexts(ctx, shown); err != nil { // the others'
			return fail(err)
		}
		if upcoming > 0 {
			h.Deadlines = make([]casebot.DigestItem, 0, upcoming)
		}
		for i, r := range shown {
			c := &refs[mine[r.CaseID]]
			title := r.Title // the entry's, for a summary not opened
			if sum := summary(mine[r.CaseID]); sum != nil {
				title = sum.Title
			}
			it := casebot.DigestItem{CaseID: c.id, Title: title, Mediator: c.mediator, Priority: c.priority, N: r.Deadline.N, When: r.Deadline.Due, Text: r.Deadline.Text}
			if i < upcoming {
				h.Deadlines = append(h.Deadlines, it)
			} else {
				h.Overdue = append(h.Overdue, it)
			}
		}
	}
	dayStart, dayEnd := dayOf(now, loc)
	sessions, err := st.SessionsOf(ctx, user, dayStart, dayEnd)
	if err != nil {
		return fail(err)
	}
	for _, r := range sessions {
		i, ok := mine[r.CaseID]
		if !ok {
			continue
		}
		c, ss := &refs[i], r.Session
		title := r.Title // the entry's, for a summary not opened
		if sum := summary(i); sum != nil {
			title = sum.Title
		}
		h.Sessions = append(h.Sessions, casebot.DigestItem{CaseID: c.id, Title: title, Mediator: c.mediator, Priority: c.priority,
			N: ss.N, When: ss.Start, Session: &ss})
	}
	if h.Emails, err = s.emailCounts(ctx, since, notes, func(id string) (casebot.CaseSummary, bool) {
		i, ok := mine[id]
		if !ok {
			return casebot.CaseSummary{}, false
		}
		if sum := summary(i); sum != nil { // every case emailed is opened
			return *sum, true
		}
		return casebot.CaseSummary{ID: refs[i].id, Mediator: refs[i].mediator, Priority: refs[i].priority}, true
	}); err != nil {
		return fail(err)
	}
	// The deadlines are listed in this order already (soon and top
	// rank them so); the sessions come in time order.
	slices.SortFunc(h.Sessions, byUrgency)
	return h, nil
}

// homeScratch is what HomeNow works with and drops: kept for the next
// Home (a busy mediator's ranks hundreds of cases and a thousand
// deadlines, two hundred kilobytes a Home). Nothing in it outlives a call:
// what the Home shows is copied out.
type homeScratch struct {
	refs  []homeRef
	mine  map[string]int // case ID -> index in refs
	soon  []due
	shown []casebot.DeadlineRef
	top   []rankedRef
}

// due is an upcoming deadline of the case refs[ci].
type due struct {
	ci, n int32
	at    int64
}

var homeScratches = sync.Pool{New: func() any { return &homeScratch{mine: map[string]int{}} }}

func getHomeScratch() *homeScratch { return homeScratches.Get().(*homeScratch) }

// maxKeptScratch is the most cases a scratch is kept for: one of a huge
// caseload is left to the collector rather than held.
const maxKeptScratch = 4096

// release empties the scratch (no case ID or text stays behind in it) and
// keeps it for the next Home.
func (sc *homeScratch) release() {
	if cap(sc.refs) > maxKeptScratch || cap(sc.shown) > maxKeptScratch {
		return
	}
	clear(sc.refs[:cap(sc.refs)])
	clear(sc.shown[:cap(sc.shown)])
	clear(sc.top[:cap(sc.top)])
	clear(sc.mine)
	sc.refs, sc.soon, sc.shown, sc.top = sc.refs[:0], sc.soon[:0], sc.shown[:0], sc.top[:0]
	homeScratches.Put(sc)
}

// homeRef is one of a Home's cases as its summary's clear part tells it;
// opened is its index among the summaries opened, -1 when not opened.
type homeRef struct {
	id, mediator string
	priority     casebot.Priority
	rank         int8 // the priority's, computed once
	opened       int32
}

// urgentTop keeps the casebot.HomeOverdueShown most urgent of the
// deadlines offered to it (priority, then the earliest, then case and
// number) and counts them all, so that a Home with a thousand overdue
// deadlines holds fifteen of them, not a sorted list of all.
type urgentTop struct {
	total int
	top   []rankedRef // most urgent first
}

type rankedRef struct {
	rank int // the priority's rank
	ref  casebot.DeadlineRef
}

func moreUrgent(a, b *rankedRef) int {
	ra, rb := &a.ref, &b.ref
	return cmp.Or(b.rank-a.rank, ra.Deadline.Due.Compare(rb.Deadline.Due), strings.Compare(ra.CaseID, rb.CaseID), ra.Deadline.N-rb.Deadline.N)
}

// skips counts deadline n of case id, due at, of a case whose priority's
// rank is rank, and reports true when it is less urgent than every one
// kept (offer would not keep it); false counts nothing: offer it then.
func (u *urgentTop) skips(rank int, at time.Time, id string, n int) bool {
	if len(u.top) < casebot.HomeOverdueShown {
		return false
	}
	last := &u.top[len(u.top)-1]
	// moreUrgent(last, it) < 0, without making a ref of it.
	if cmp.Or(rank-last.rank, last.ref.Deadline.Due.Compare(at), strings.Compare(last.ref.CaseID, id), last.ref.Deadline.N-n) < 0 {
		u.total++
		return true
	}
	return false
}

// offer counts r, of a case whose priority's rank is rank, and keeps it
// if it is among the most urgent so far.
func (u *urgentTop) offer(r casebot.DeadlineRef, rank int) {
	u.total++
	x := rankedRef{rank, r}
	full := len(u.top) == casebot.HomeOverdueShown
	if full && moreUrgent(&u.top[len(u.top)-1], &x) < 0 {
		return
	}
	i, _ := slices.BinarySearchFunc(u.top, x, func(e, t rankedRef) int { return moreUrgent(&e, &t) })
	if full {
		u.top = u.top[:len(u.top)-1]
	}
	u.top = slices.Insert(u.top, i, x)
}

// appendRefs appends the deadlines kept to refs, most urgent first.
func (u *urgentTop) appendRefs(refs []casebot.DeadlineRef) []casebot.DeadlineRef {
	for i := range u.top {
		refs = append(refs, u.top[i].ref)
	}
	return refs
}

// OpenCases returns user's open cases whose ID or title contains query,
// most urgent first, at most limit (0: all).
func (s *Scheduler) OpenCases(ctx context.Context, user, query string, limit int) ([]casebot.HomeCase, error) {
	cases, err := s.visibleOpen(ctx, user)
	if err != nil {
		return nil, err
	}
	q := strings.ToLower(strings.TrimSpace(query))
	var out []casebot.HomeCase
	for _, c := range cases {
		if q != "" && !strings.Contains(strings.ToLower(c.ID), q) && !strings.Contains(strings.ToLower(c.Title), q) {
			continue
		}
		out = append(out, homeCase(c))
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out, nil
}

// visibleOpen reads the summaries of user's open cases (as mediator or
// co-mediator) from the store's list index, most urgent first, and keeps
// those the access rule lets them see.
func (s *Scheduler) visibleOpen(ctx context.Context, user string) ([]casebot.CaseSummary, error) {
	if user == "" {
		return []casebot.CaseSummary{}, nil
	}
	actor := casebot.Actor{ID: user, Admin: s.admins[user]}
	cases, err := s.cfg.Store.OpenSummaries(ctx, user, func(c *casebot.CaseSummary) (bool, bool) {
		ok := visible(actor, c)
		return ok, ok
	})
	if err != nil {
		return nil, fmt.Errorf("scheduler: open cases of %s: %w", user, err)
	}
	return cases, nil
}

// visible reports whether c is open and actor may see it (the access
// rule, casebot.Actor.CanSee).
func visible(actor casebot.Actor, c *casebot.CaseSummary) bool {
	return !c.Status.Closed() && actor.CanSee(&casebot.Case{ID: c.ID, Mediator: c.Mediator, CoMediators: c.CoMediators})
}

// nextOf reports whether deadline n due at due is c's next deadline as
// its opened summary tells it, text and all.
func nextOf(c *casebot.CaseSummary, n int, due time.Time) bool {
	return c.Title != "" && c.Next != nil && c.Next.N == n && c.Next.Due.Equal(due)
}

func homeCase(c casebot.CaseSummary) casebot.HomeCase {
	h := casebot.HomeCase{ID: c.ID, Title: c.Title, Priority: c.Priority, Status: c.Status}
	if c.Next != nil {
		h.Next = *c.Next
	}
	return h
}
