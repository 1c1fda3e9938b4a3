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

// HomeNow returns user's Slack Home at now in their zone: the digest the
// digest command would show (party emails since their last digest) and
// their open cases, most urgent first. Every case and item on it passes
// the access rule (casebot.Actor.CanSee). It changes nothing.
func (s *Scheduler) HomeNow(ctx context.Context, user string, now time.Time) (casebot.Home, error) {
	st, err := s.cfg.Store.ScheduleState(ctx)
	if err != nil {
		return casebot.Home{}, fmt.Errorf("scheduler: home of %s: %w", user, err)
	}
	since := st.Digests[user].Sent
	if since.IsZero() {
		since = now.Add(-day)
	}
	cases, err := s.visibleOpen(ctx, user)
	if err != nil {
		return casebot.Home{}, err
	}
	d, err := s.buildDigest(ctx, user, now, s.Zone(ctx, user), since, nil, cases)
	if err != nil {
		return casebot.Home{}, err
	}
	h := casebot.Home{Digest: d, Cases: make([]casebot.HomeCase, 0, len(cases))}
	if !d.Admin {
		// A mediator's digest items all come from their own cases; keep
		// that true whatever the digest gathers in future.
		seen := make(map[string]bool, len(cases))
		for _, c := range cases {
			seen[c.ID] = true
		}
		keep := func(items []casebot.DigestItem) []casebot.DigestItem {
			return slices.DeleteFunc(items, func(it casebot.DigestItem) bool { return !seen[it.CaseID] })
		}
		h.Overdue, h.Sessions, h.Deadlines, h.Idle = keep(h.Overdue), keep(h.Sessions), keep(h.Deadlines), keep(h.Idle)
		h.Emails = slices.DeleteFunc(h.Emails, func(e casebot.EmailCount) bool { return !seen[e.CaseID] })
	}
	for _, c := range cases {
		h.Cases = append(h.Cases, homeCase(c))
	}
	return h, nil
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

// visibleOpen reads user's open cases through the mediator index, keeps
// those the access rule lets them see, and orders them most urgent first,
// then oldest first.
func (s *Scheduler) visibleOpen(ctx context.Context, user string) ([]*casebot.Case, error) {
	if user == "" {
		return []*casebot.Case{}, nil
	}
	cases, err := s.cfg.Store.Cases(ctx, casebot.CaseFilter{Mediator: user, State: "open"})
	if err != nil {
		return nil, fmt.Errorf("scheduler: open cases of %s: %w", user, err)
	}
	actor := casebot.Actor{ID: user, Admin: s.admins[user]}
	cases = slices.DeleteFunc(cases, func(c *casebot.Case) bool { return !actor.CanSee(c) })
	slices.SortStableFunc(cases, func(a, b *casebot.Case) int {
		return cmp.Or(b.Priority.Rank()-a.Priority.Rank(), a.Created.Compare(b.Created), strings.Compare(a.ID, b.ID))
	})
	if cases == nil {
		cases = []*casebot.Case{}
	}
	return cases, nil
}

func homeCase(c *casebot.Case) casebot.HomeCase {
	h := casebot.HomeCase{ID: c.ID, Title: c.Title, Priority: c.Priority, Status: c.Status}
	for _, d := range c.Deadlines {
		if !d.Met && (h.Next.N == 0 || d.Due.Before(h.Next.Due)) {
			h.Next = d
		}
	}
	return h
}
