package scheduler

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
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
	cases, err := s.visibleOpen(ctx, user)
	if err != nil {
		return casebot.Home{}, err
	}
	loc := s.Zone(ctx, user)
	h := casebot.Home{Digest: casebot.Digest{User: user, Admin: s.admins[user], At: now, Zone: loc.String(), Since: since, OpenCases: len(cases)},
		Cases: make([]casebot.HomeCase, 0, len(cases))}
	mine := make(map[string]casebot.CaseSummary, len(cases))
	var first time.Time // the earliest open deadline of any of them
	for _, c := range cases {
		mine[c.ID] = c
		h.Cases = append(h.Cases, homeCase(c))
		if c.Next != nil && (first.IsZero() || c.Next.Due.Before(first)) {
			first = c.Next.Due
		}
	}
	fail := func(err error) (casebot.Home, error) {
		return casebot.Home{}, fmt.Errorf("scheduler: home of %s: %w", user, err)
	}
	if h.Admin {
		if err := s.adminDigest(ctx, &h.Digest, now, false); err != nil {
			return fail(err)
		}
		// Every case's overdue deadlines, counted from the index's clear
		// parts; only the most urgent are opened.
		refs, err := st.DeadlinesOf(ctx, "", time.Time{}, now.Add(time.Nanosecond))
		if err != nil {
			return fail(err)
		}
		h.OverdueTotal = len(refs)
		top, err := mostUrgent(ctx, st, refs, func(r casebot.DeadlineRef) casebot.Priority { return r.Priority })
		if err != nil {
			return fail(err)
		}
		for _, r := range top {
			h.Overdue = append(h.Overdue, casebot.DigestItem{CaseID: r.CaseID, Title: r.Title, Mediator: r.Mediator, Priority: r.Priority,
				N: r.Deadline.N, When: r.Deadline.Due, Text: r.Deadline.Text})
		}
	}
	if len(cases) == 0 {
		return h, nil
	}
	// Every unmet deadline of these cases is due at or after the earliest
	// of their next deadlines: the walk starts there. Texts are read only
	// for the deadlines shown: the next 7 days' and the most urgent
	// overdue ones.
	if !first.IsZero() && !first.After(now.Add(upcomingWindow)) {
		refs, err := st.DeadlinesOf(ctx, user, first, now.Add(upcomingWindow+time.Nanosecond))
		if err != nil {
			return fail(err)
		}
		var overdue, upcoming []casebot.DeadlineRef
		for _, r := range refs {
			switch _, ok := mine[r.CaseID]; {
			case !ok:
			case r.Deadline.Due.After(now):
				upcoming = append(upcoming, r)
			case !h.Admin: // an admin's overdue list is every case's
				overdue = append(overdue, r)
			}
		}
		if !h.Admin {
			h.OverdueTotal = len(overdue)
			overdue = topUrgent(overdue, func(r casebot.DeadlineRef) casebot.Priority { return mine[r.CaseID].Priority })
		}
		shown := append(overdue, upcoming...)
		if err := st.DeadlineTexts(ctx, shown); err != nil {
			return fail(err)
		}
		for i, r := range shown {
			c := mine[r.CaseID]
			it := casebot.DigestItem{CaseID: c.ID, Title: c.Title, Mediator: c.Mediator, Priority: c.Priority, N: r.Deadline.N, When: r.Deadline.Due, Text: r.Deadline.Text}
			if i < len(overdue) {
				h.Overdue = append(h.Overdue, it)
			} else {
				h.Deadlines = append(h.Deadlines, it)
			}
		}
	}
	dayStart, dayEnd := dayOf(now, loc)
	sessions, err := st.SessionsOf(ctx, user, dayStart, dayEnd)
	if err != nil {
		return fail(err)
	}
	for _, r := range sessions {
		c, ok := mine[r.CaseID]
		if !ok {
			continue
		}
		ss := r.Session
		h.Sessions = append(h.Sessions, casebot.DigestItem{CaseID: c.ID, Title: c.Title, Mediator: c.Mediator, Priority: c.Priority,
			N: ss.N, When: ss.Start, Session: &ss})
	}
	notes, err := s.notesSince(ctx, since, now)
	if err != nil {
		return fail(err)
	}
	if h.Emails, err = s.emailCounts(ctx, since, notes, func(id string) (casebot.CaseSummary, bool) {
		c, ok := mine[id]
		return c, ok
	}); err != nil {
		return fail(err)
	}
	for _, items := range [][]casebot.DigestItem{h.Sessions, h.Deadlines, h.Overdue} {
		slices.SortFunc(items, byUrgency)
	}
	return h, nil
}

// topUrgent returns the casebot.HomeOverdueShown most urgent of refs
// (priority, as prio says it, then the earliest, then case and number),
// most urgent first.
func topUrgent(refs []casebot.DeadlineRef, prio func(casebot.DeadlineRef) casebot.Priority) []casebot.DeadlineRef {
	type urgency struct {
		rank int
		i    int
	}
	order := make([]urgency, len(refs))
	for i, r := range refs {
		order[i] = urgency{prio(r).Rank(), i}
	}
	slices.SortFunc(order, func(a, b urgency) int {
		ra, rb := &refs[a.i], &refs[b.i]
		return cmp.Or(b.rank-a.rank, ra.Deadline.Due.Compare(rb.Deadline.Due), strings.Compare(ra.CaseID, rb.CaseID), ra.Deadline.N-rb.Deadline.N)
	})
	out := make([]casebot.DeadlineRef, 0, min(len(order), casebot.HomeOverdueShown))
	for _, u := range order[:min(len(order), casebot.HomeOverdueShown)] {
		out = append(out, refs[u.i])
	}
	return out
}

// mostUrgent is topUrgent with the texts read (DeadlineTexts).
func mostUrgent(ctx context.Context, st Store, refs []casebot.DeadlineRef, prio func(casebot.DeadlineRef) casebot.Priority) ([]casebot.DeadlineRef, error) {
	top := topUrgent(refs, prio)
	if err := st.DeadlineTexts(ctx, top); err != nil {
		return nil, err
	}
	return top, nil
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
	cases, err := s.cfg.Store.OpenSummaries(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("scheduler: open cases of %s: %w", user, err)
	}
	actor := casebot.Actor{ID: user, Admin: s.admins[user]}
	return slices.DeleteFunc(cases, func(c casebot.CaseSummary) bool {
		return c.Status.Closed() || !actor.CanSee(&casebot.Case{ID: c.ID, Mediator: c.Mediator, CoMediators: c.CoMediators})
	}), nil
}

func homeCase(c casebot.CaseSummary) casebot.HomeCase {
	h := casebot.HomeCase{ID: c.ID, Title: c.Title, Priority: c.Priority, Status: c.Status}
	if c.Next != nil {
		h.Next = *c.Next
	}
	return h
}
