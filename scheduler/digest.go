package scheduler

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/casebot/casebot"
)

// Windows of the digest.
const (
	upcomingWindow = 7 * day  // deadlines due within
	idleAfter      = 14 * day // cases without activity for
)

// BuildDigest builds user's digest at now in loc, counting party emails
// created since since. notes, when non-nil, are the notes created since at
// most since (shared by many digests); nil reads them from the store.
func (s *Scheduler) BuildDigest(ctx context.Context, user string, now time.Time, loc *time.Location, since time.Time, notes []casebot.NoteMeta) (casebot.Digest, error) {
	st := s.cfg.Store
	d := casebot.Digest{User: user, Admin: s.admins[user], At: now, Zone: loc.String(), Since: since}
	cases, err := st.Cases(ctx, casebot.CaseFilter{Mediator: user, State: "open"})
	if err != nil {
		return casebot.Digest{}, fmt.Errorf("scheduler: digest of %s: %w", user, err)
	}
	d.OpenCases = len(cases)
	dayStart, dayEnd := dayOf(now, loc)
	mine := make(map[string]*casebot.Case, len(cases))
	for _, c := range cases {
		mine[c.ID] = c
		item := func(n int, when time.Time) casebot.DigestItem {
			return casebot.DigestItem{CaseID: c.ID, Title: c.Title, Mediator: c.Mediator, Priority: c.Priority, N: n, When: when}
		}
		for i, ss := range c.Sessions {
			if !ss.Cancelled && !ss.Start.Before(dayStart) && ss.Start.Before(dayEnd) {
				it := item(ss.N, ss.Start)
				it.Session = &c.Sessions[i]
				d.Sessions = append(d.Sessions, it)
			}
		}
		for _, dl := range c.Deadlines {
			if dl.Met {
				continue
			}
			it := item(dl.N, dl.Due)
			it.Text = dl.Text
			switch {
			case !dl.Due.After(now):
				if !d.Admin {
					d.Overdue = append(d.Overdue, it)
				}
			case !dl.Due.After(now.Add(upcomingWindow)):
				d.Deadlines = append(d.Deadlines, it)
			}
		}
		last := c.Activity
		if last.IsZero() {
			last = c.Updated
		}
		if last.Before(now.Add(-idleAfter)) {
			d.Idle = append(d.Idle, item(0, last))
		}
	}
	if d.Admin {
		if err := s.adminDigest(ctx, &d, now); err != nil {
			return casebot.Digest{}, fmt.Errorf("scheduler: digest of %s: %w", user, err)
		}
	}
	if len(mine) > 0 {
		if d.Emails, err = s.emailCounts(ctx, since, notes, func(id string) (casebot.CaseSummary, bool) {
			c := mine[id]
			if c == nil {
				return casebot.CaseSummary{}, false
			}
			return casebot.CaseSummary{ID: c.ID, Title: c.Title, Priority: c.Priority}, true
		}); err != nil {
			return casebot.Digest{}, fmt.Errorf("scheduler: digest of %s: %w", user, err)
		}
	}
	if len(mine) > 0 {
		ids := make([]string, 0, len(mine))
		for id := range mine {
			ids = append(ids, id)
		}
		open, err := st.OpenOffers(ctx, ids)
		if err != nil {
			return casebot.Digest{}, fmt.Errorf("scheduler: digest of %s: %w", user, err)
		}
		for id, n := range open {
			if c := mine[id]; c != nil && n > 0 {
				d.Offers = append(d.Offers, casebot.OfferCount{CaseID: id, Title: c.Title, Priority: c.Priority, Open: n})
			}
		}
		slices.SortFunc(d.Offers, func(a, b casebot.OfferCount) int {
			return cmp.Or(b.Priority.Rank()-a.Priority.Rank(), strings.Compare(a.CaseID, b.CaseID))
		})
	}
	if d.Missed, err = st.Missed(ctx, user); err != nil {
		return casebot.Digest{}, fmt.Errorf("scheduler: digest of %s: %w", user, err)
	}
	for _, items := range [][]casebot.DigestItem{d.Sessions, d.Deadlines, d.Overdue, d.Idle} {
		slices.SortFunc(items, byUrgency)
	}
	return d, nil
}

// dayOf returns the start and end of now's day on the wall clock of loc.
func dayOf(now time.Time, loc *time.Location) (start, end time.Time) {
	y, m, dd := now.In(loc).Date()
	return fromWall(time.Date(y, m, dd, 0, 0, 0, 0, time.UTC), loc), fromWall(time.Date(y, m, dd+1, 0, 0, 0, 0, time.UTC), loc)
}

// adminDigest adds what only an admin's digest shows: every overdue
// deadline, the caseload balance, the quarantine count and the purge lists
// (an admin's Home shows the overdue deadlines it reads itself and
// adminCounts).
func (s *Scheduler) adminDigest(ctx context.Context, d *casebot.Digest, now time.Time) error {
	ods, err := s.cfg.Store.Overdue(ctx, now.Add(time.Nanosecond), "")
	if err != nil {
		return err
	}
	for _, r := range ods {
		d.Overdue = append(d.Overdue, casebot.DigestItem{CaseID: r.CaseID, Title: r.Title, Mediator: r.Mediator, Priority: r.Priority,
			N: r.Deadline.N, When: r.Deadline.Due, Text: r.Deadline.Text})
	}
	if err := s.adminCounts(ctx, d); err != nil {
		return err
	}
	return s.purgeLists(ctx, d, now)
}

// adminCounts fills in an admin's caseload balance (mediators with open
// cases) and quarantine count: all an admin's Home shows of the admin
// digest besides the overdue deadlines (not the purge lists, which read
// every closed case).
func (s *Scheduler) adminCounts(ctx context.Context, d *casebot.Digest) error {
	cls, err := s.cfg.Store.Caseloads(ctx)
	if err != nil {
		return err
	}
	for _, c := range cls {
		if c.Open > 0 {
			d.Caseloads = append(d.Caseloads, c)
		}
	}
	if s.cfg.Quarantined != nil {
		if d.Quarantine, err = s.cfg.Quarantined(ctx); err != nil {
			return fmt.Errorf("quarantine: %w", err)
		}
	}
	return nil
}

// emailCounts counts the party emails created since since in the cases
// mine knows (by ID: the case's title and priority), most urgent case
// first, then the most emails. notes, when non-nil, are the notes created
// since at most since; nil reads them from the store.
func (s *Scheduler) emailCounts(ctx context.Context, since time.Time, notes []casebot.NoteMeta, mine func(id string) (casebot.CaseSummary, bool)) ([]casebot.EmailCount, error) {
	if notes == nil {
		var err error
		if notes, err = s.cfg.Store.NotesSince(ctx, since); err != nil {
			return nil, err
		}
	}
	counts := map[string]int{}
	for _, n := range notes {
		if n.Source != casebot.SourceEmail || n.Created.Before(since) {
			continue
		}
		if _, ok := mine(n.CaseID); ok {
			counts[n.CaseID]++
		}
	}
	var out []casebot.EmailCount
	for id, n := range counts {
		c, _ := mine(id)
		out = append(out, casebot.EmailCount{CaseID: id, Title: c.Title, Priority: c.Priority, Count: n})
	}
	slices.SortFunc(out, func(a, b casebot.EmailCount) int {
		return cmp.Or(b.Priority.Rank()-a.Priority.Rank(), b.Count-a.Count, strings.Compare(a.CaseID, b.CaseID))
	})
	return out, nil
}

// byUrgency orders items by priority, then nearest date, then case.
func byUrgency(a, b casebot.DigestItem) int {
	return cmp.Or(b.Priority.Rank()-a.Priority.Rank(), a.When.Compare(b.When), strings.Compare(a.CaseID, b.CaseID), a.N-b.N)
}

// digestKey names a user's digest of one fire time on their wall clock.
func digestKey(user string, fire time.Time, loc *time.Location) string {
	return "digest/" + user + "/" + fire.In(loc).Format("2006-01-02T15:04")
}

// digestUsers returns the users who get digests: mediators with open cases
// and admins, sorted.
func (s *Scheduler) digestUsers(ctx context.Context) ([]string, error) {
	cls, err := s.cfg.Store.Caseloads(ctx)
	if err != nil {
		return nil, err
	}
	var users []string
	for _, c := range cls {
		if c.Open > 0 {
			users = append(users, c.Mediator)
		}
	}
	for a := range s.admins {
		users = append(users, a)
	}
	slices.Sort(users)
	return slices.Compact(users), nil
}

// runDigests sends the digests due at now and returns when the next falls
// due. A digest older than Catchup is not sent but listed as missed in the
// next one; a user seen for the first time starts at the previous reading
// of the user list (at now on the first).
func (s *Scheduler) runDigests(ctx context.Context, st casebot.ScheduleState, now time.Time, zone func(string) *time.Location) (_ time.Time, err error) {
	if s.cfg.Digest == nil {
		return time.Time{}, nil
	}
	// Between digest times the user list (a scan of the mediator index) is
	// reread only hourly; a mediator new since the last reading starts from
	// that reading, so no digest due after it is lost.
	if !s.digestNext.IsZero() && now.Before(s.digestNext) && now.Sub(s.usersAt) < persistEvery {
		return s.digestNext, nil
	}
	users, err := s.digestUsers(ctx)
	if err != nil {
		return time.Time{}, err
	}
	firstSeen := s.usersAt
	if firstSeen.IsZero() || firstSeen.After(now) {
		firstSeen = now
	}
	s.digestNext = time.Time{}
	type due struct {
		user        string
		loc         *time.Location
		fire, since time.Time
	}
	var dues []due
	var next time.Time
	for _, u := range users {
		loc := zone(u)
		mark, ok := st.Digests[u]
		if !ok {
			mark.Handled = firstSeen
			if _, err := s.cfg.Store.CommitDigest(ctx, casebot.DigestCommit{User: u, Fire: firstSeen}); err != nil {
				return time.Time{}, err
			}
		}
		next = earliest(next, s.cfg.Digest.Next(now, loc))
		fire := s.cfg.Digest.Prev(now, loc)
		if fire.IsZero() || !fire.After(mark.Handled) {
			continue
		}
		if now.Sub(fire) > s.cfg.Catchup {
			m := casebot.MissedReminder{Key: digestKey(u, fire, loc), User: u, Fire: fire, What: "your digest of " + fmtDate(fire, loc)}
			if _, err := s.cfg.Store.CommitDigest(ctx, casebot.DigestCommit{User: u, Fire: fire, Missed: []casebot.MissedReminder{m}}); err != nil {
				return time.Time{}, err
			}
			continue
		}
		since := mark.Sent
		if since.IsZero() {
			since = fire.Add(-day)
		}
		dues = append(dues, due{u, loc, fire, since})
	}
	// Set only once this pass succeeded: a failed one is redone in full.
	defer func() {
		if err == nil {
			s.usersAt, s.digestNext = now, next
		}
	}()
	if len(dues) == 0 {
		return next, nil
	}
	since := slices.MinFunc(dues, func(a, b due) int { return a.since.Compare(b.since) }).since
	notes, err := s.cfg.Store.NotesSince(ctx, since)
	if err != nil {
		return time.Time{}, err
	}
	if notes == nil {
		notes = []casebot.NoteMeta{}
	}
	for _, du := range dues {
		d, err := s.BuildDigest(ctx, du.user, now, du.loc, du.since, notes)
		if err != nil {
			return time.Time{}, err
		}
		dc := casebot.DigestCommit{User: du.user, Fire: du.fire}
		if !d.Empty() && !s.cfg.NoSlack {
			m := casebot.DigestNotice(&d, digestKey(du.user, du.fire, du.loc))
			dc.Msg = &m
			for _, m := range d.Missed {
				dc.Clear = append(dc.Clear, m.Key)
			}
		}
		ok, err := s.cfg.Store.CommitDigest(ctx, dc)
		if err != nil {
			return time.Time{}, err
		}
		if ok {
			s.queued(1)
			s.log.Info("scheduler: digest queued", slog.String("user", du.user), slog.Int("open_cases", d.OpenCases))
		}
	}
	return next, nil
}

// DigestNow builds user's digest at now in their zone, counting party
// emails since their last digest (or the last day): what the digest command
// shows. It changes nothing.
func (s *Scheduler) DigestNow(ctx context.Context, user string, now time.Time) (casebot.Digest, error) {
	st, err := s.cfg.Store.ScheduleState(ctx)
	if err != nil {
		return casebot.Digest{}, err
	}
	since := st.Digests[user].Sent
	if since.IsZero() {
		since = now.Add(-day)
	}
	return s.BuildDigest(ctx, user, now, s.Zone(ctx, user), since, nil)
}
