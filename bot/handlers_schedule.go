package bot

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/casebot/casebot"
)

func handleDeadline(ctx context.Context, r *Request) Reply {
	a := r.Args
	var d casebot.Deadline
	c, err := r.UpdateCase(ctx, a.ID, func(c *casebot.Case) (casebot.Change, error) {
		if c.Status.Closed() {
			return casebot.Change{}, closedErr(c)
		}
		n := 1
		for _, x := range c.Deadlines {
			n = max(n, x.N+1)
		}
		d = casebot.Deadline{N: n, Due: a.When, Text: a.Text, Created: r.Now}
		c.Deadlines = append(c.Deadlines, d)
		return casebot.Change{Action: "deadline.add", Detail: fmt.Sprintf("#%d due %s", n, a.When.UTC().Format(time.RFC3339))}, nil
	})
	if err != nil {
		return r.Fail(err)
	}
	return Reply{Text: fmt.Sprintf("Deadline #%d of %s: %s  %s", d.N, c.ID, formatTime(d.Due, r.Actor.Location()), d.Text)}
}

func handleDone(ctx context.Context, r *Request) Reply {
	n := r.Args.N
	var d casebot.Deadline
	c, err := r.UpdateCase(ctx, r.Args.ID, func(c *casebot.Case) (casebot.Change, error) {
		for i := range c.Deadlines {
			if c.Deadlines[i].N != n {
				continue
			}
			if c.Deadlines[i].Met {
				return casebot.Change{}, casebot.Errorf(casebot.ECONFLICT, "Deadline #%d of %s is already met.", n, c.ID)
			}
			c.Deadlines[i].Met, c.Deadlines[i].MetAt, c.Deadlines[i].MetBy = true, r.Now, r.Actor.ID
			d = c.Deadlines[i]
			return casebot.Change{Action: "deadline.done", Detail: fmt.Sprintf("#%d", n)}, nil
		}
		return casebot.Change{}, invalid("%s has no deadline #%d.", c.ID, n)
	})
	if err != nil {
		return r.Fail(err)
	}
	return Reply{Text: fmt.Sprintf("Deadline #%d of %s met: %s", d.N, c.ID, d.Text)}
}

func handleSession(ctx context.Context, r *Request) Reply {
	a := r.Args
	invites := r.bot.cfg.Invites
	var s casebot.Session
	c, err := r.UpdateCase(ctx, a.ID, func(c *casebot.Case) (casebot.Change, error) {
		if c.Status.Closed() {
			return casebot.Change{}, closedErr(c)
		}
		n := 1
		for _, x := range c.Sessions {
			n = max(n, x.N+1)
		}
		s = casebot.Session{N: n, Start: a.When, Duration: a.Duration, Title: a.Text, Where: a.Flags["where"], Created: r.Now}
		c.Sessions = append(c.Sessions, s)
		ch := casebot.Change{Action: "session.add", Detail: fmt.Sprintf("#%d at %s for %s", n, a.When.UTC().Format(time.RFC3339), formatDuration(a.Duration))}
		if invites != nil {
			out, err := invites(c, s)
			if err != nil {
				return casebot.Change{}, fmt.Errorf("bot: invitations for %s session %d: %w", c.ID, n, err)
			}
			ch.Outbox = out
		}
		return ch, nil
	})
	if err != nil {
		return r.Fail(err)
	}
	var t text
	line := fmt.Sprintf("Session #%d of %s: %s, %s  %s", s.N, c.ID, formatTime(s.Start, r.Actor.Location()), formatDuration(s.Duration), s.Title)
	if s.Where != "" {
		line += " — " + s.Where
	}
	t.line(line)
	if invites == nil {
		t.line("No invitations were sent: email is not configured on this casebot.")
	} else {
		t.linef("Invitations are on their way to %s.", plural(len(c.Parties), "party", "parties"))
	}
	return Reply{Text: t.String()}
}

func handleNote(ctx context.Context, r *Request) Reply {
	c, err := r.Case(ctx, r.Args.ID)
	if err != nil {
		return r.Fail(err)
	}
	_, private := r.Args.Flag("private")
	detail := ""
	if private {
		detail = "private"
	}
	n, err := r.Store.AddNote(ctx, &casebot.Note{
		CaseID: c.ID, Author: r.Actor.ID, Source: casebot.SourceSlack, Private: private, Body: r.Args.Text, Created: r.Now,
	}, casebot.Change{Actor: r.Actor.ID, Action: "note.add", Detail: detail})
	if err != nil {
		return r.Fail(fmt.Errorf("bot: add note to %s: %w", c.ID, err))
	}
	kind := "Note"
	if private {
		kind = "Private note"
	}
	return Reply{Text: fmt.Sprintf("%s #%d added to %s.", kind, n.N, c.ID)}
}

// searchLimit caps the hits of one search.
const searchLimit = 20

func handleSearch(ctx context.Context, r *Request) Reply {
	hits, err := r.Store.Search(ctx, r.Args.Words, r.Actor.CanSee, searchLimit)
	if err != nil {
		return r.Fail(fmt.Errorf("bot: search: %w", err))
	}
	if len(hits) == 0 {
		return Reply{Text: "No notes match."}
	}
	loc := r.Actor.Location()
	var t text
	t.linef("Notes matching %s (%d):", r.Args.Text, len(hits))
	viewed := map[string]bool{}
	var ids []string
	for _, h := range hits {
		t.linef("  %s %s: %s", h.Note.CaseID, noteHeader(h.Note, loc), indent(h.Snippet, "    "))
		if !viewed[h.Note.CaseID] {
			viewed[h.Note.CaseID] = true
			ids = append(ids, h.Note.CaseID)
		}
	}
	for _, id := range ids {
		if err := r.Store.RecordView(ctx, id, r.Actor.ID, "search"); err != nil {
			return r.Fail(fmt.Errorf("bot: record view of %s: %w", id, err))
		}
	}
	return Reply{Text: t.String()}
}

func handleStats(ctx context.Context, r *Request) Reply {
	var st casebot.Stats
	scope := "all cases"
	if r.Actor.Admin {
		var err error
		if st, err = r.Store.Stats(ctx, r.Now); err != nil {
			return r.Fail(fmt.Errorf("bot: stats: %w", err))
		}
	} else {
		scope = "your cases"
		var cases []*casebot.Case
		var overdue []casebot.DeadlineRef
		if r.Actor.ID != "" {
			var err error
			if cases, err = r.Store.Cases(ctx, casebot.CaseFilter{Mediator: r.Actor.ID, State: "all"}); err != nil {
				return r.Fail(fmt.Errorf("bot: stats: %w", err))
			}
			if overdue, err = r.Store.Overdue(ctx, r.Now, r.Actor.ID); err != nil {
				return r.Fail(fmt.Errorf("bot: stats: %w", err))
			}
		}
		st = caseStats(cases, overdue, r.Actor.ID)
	}
	var t text
	t.linef("Caseload figures (%s):", scope)
	open := 0
	for _, n := range st.OpenByStatus {
		open += n
	}
	t.linef("  Open: %d", open)
	for _, s := range casebot.Statuses {
		if n := st.OpenByStatus[s]; n > 0 {
			t.linef("    %s: %d", s, n)
		}
	}
	for i := len(casebot.Priorities) - 1; i >= 0; i-- {
		p := casebot.Priorities[i]
		if n := st.OpenByPriority[p]; n > 0 {
			t.linef("    priority %s: %d", p, n)
		}
	}
	t.linef("  Overdue deadlines: %d", st.Overdue)
	t.linef("  Closed: %d", st.Closed)
	if st.Closed > 0 {
		t.linef("  Settlement rate: %.0f%% (settled or partial)", 100*float64(st.Settled)/float64(st.Closed))
		t.linef("  Median days to close: %.1f", st.MedianDaysToClose)
	}
	return Reply{Text: t.String()}
}

// caseStats computes the figures Store.Stats gives for every case over one
// mediator's cases.
func caseStats(cases []*casebot.Case, overdue []casebot.DeadlineRef, mediator string) casebot.Stats {
	st := casebot.Stats{OpenByStatus: map[casebot.Status]int{}, OpenByPriority: map[casebot.Priority]int{}}
	var days []float64
	for _, c := range cases {
		if c.Mediator != mediator {
			continue
		}
		if c.Open() {
			st.OpenByStatus[c.Status]++
			st.OpenByPriority[c.Priority]++
			continue
		}
		st.Closed++
		if c.Status == casebot.StatusSettled || c.Status == casebot.StatusPartial {
			st.Settled++
		}
		days = append(days, c.Closed.Sub(c.Created).Hours()/24)
	}
	for _, d := range overdue {
		if d.Mediator == mediator {
			st.Overdue++
		}
	}
	if len(days) > 0 {
		sort.Float64s(days)
		m := len(days) / 2
		st.MedianDaysToClose = days[m]
		if len(days)%2 == 0 {
			st.MedianDaysToClose = (days[m-1] + days[m]) / 2
		}
	}
	return st
}
