package bot

import (
	"context"
	"fmt"
	"strings"
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
		return casebot.Change{Action: "deadline.add", About: deadlineAbout(d)}, nil
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
			return casebot.Change{Action: "deadline.done", About: deadlineAbout(d)}, nil
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
	agenda, err := agendaItems(a.Flags["agenda"])
	if err != nil {
		return r.Fail(err)
	}
	var s casebot.Session
	c, err := r.UpdateCase(ctx, a.ID, func(c *casebot.Case) (casebot.Change, error) {
		if c.Status.Closed() {
			return casebot.Change{}, closedErr(c)
		}
		n := 1
		for _, x := range c.Sessions {
			n = max(n, x.N+1)
		}
		s = casebot.Session{N: n, Start: a.When, Duration: a.Duration, Title: a.Text, Where: a.Flags["where"], Agenda: agenda, Created: r.Now}
		c.Sessions = append(c.Sessions, s)
		ch := casebot.Change{Action: "session.add", About: sessionAbout(s)}
		return r.invite(c, s, casebot.MethodRequest, ch)
	})
	if err != nil {
		return r.Fail(err)
	}
	var t text
	t.line(sessionLine(c, s, r.Actor.Location()))
	r.inviteNote(&t, c, "Invitations are on their way to %s.")
	return Reply{Text: t.String()}
}

func handleReschedule(ctx context.Context, r *Request) Reply {
	a := r.Args
	var s casebot.Session
	c, err := r.UpdateCase(ctx, a.ID, func(c *casebot.Case) (casebot.Change, error) {
		i, err := liveSession(c, a.N)
		if err != nil {
			return casebot.Change{}, err
		}
		c.Sessions[i].Start = a.When
		if a.Duration > 0 {
			c.Sessions[i].Duration = a.Duration
		}
		c.Sessions[i].Sequence++ // calendars replace the event with the higher SEQUENCE
		c.Sessions[i].Moved = r.Now
		s = c.Sessions[i]
		ch := casebot.Change{Action: "session.move", About: sessionAbout(s)}
		return r.invite(c, s, casebot.MethodRequest, ch)
	})
	if err != nil {
		return r.Fail(err)
	}
	var t text
	t.line("Moved. " + sessionLine(c, s, r.Actor.Location()))
	r.inviteNote(&t, c, "Updated invitations are on their way to %s.")
	return Reply{Text: t.String()}
}

func handleCancel(ctx context.Context, r *Request) Reply {
	var s casebot.Session
	c, err := r.UpdateCase(ctx, r.Args.ID, func(c *casebot.Case) (casebot.Change, error) {
		i, err := liveSession(c, r.Args.N)
		if err != nil {
			return casebot.Change{}, err
		}
		c.Sessions[i].Cancelled = true
		c.Sessions[i].Sequence++
		s = c.Sessions[i]
		return r.invite(c, s, casebot.MethodCancel, casebot.Change{Action: "session.cancel", About: sessionAbout(s)})
	})
	if err != nil {
		return r.Fail(err)
	}
	var t text
	t.linef("Cancelled session #%d of %s (%s).", s.N, c.ID, s.Title)
	r.inviteNote(&t, c, "Cancellations are on their way to %s.")
	return Reply{Text: t.String()}
}

// deadlineAbout names a deadline for the audit trail.
func deadlineAbout(d casebot.Deadline) casebot.About {
	return casebot.About{N: d.N, When: d.Due, Text: casebot.Headline(d.Text)}
}

// sessionAbout names a session for the audit trail.
func sessionAbout(s casebot.Session) casebot.About {
	return casebot.About{N: s.N, When: s.Start, Length: s.Duration, Text: casebot.Headline(s.Title)}
}

// liveSession returns the index of session n of an open case, or a refusal
// when the case is closed or the session missing, cancelled or over.
func liveSession(c *casebot.Case, n int) (int, error) {
	if c.Status.Closed() {
		return -1, closedErr(c)
	}
	for i, s := range c.Sessions {
		if s.N != n {
			continue
		}
		if s.Cancelled {
			return -1, casebot.Errorf(casebot.ECONFLICT, "Session #%d of %s is cancelled.", n, c.ID)
		}
		return i, nil
	}
	return -1, invalid("%s has no session #%d.", c.ID, n)
}

// invite adds to ch the invitations (or cancellations) of session s for
// every party, when outbound mail is on.
func (r *Request) invite(c *casebot.Case, s casebot.Session, method string, ch casebot.Change) (casebot.Change, error) {
	if r.bot.cfg.Mail == nil || len(c.Parties) == 0 {
		return ch, nil
	}
	out, err := r.bot.cfg.Mail.Invitation(c, s, method)
	if err != nil {
		return casebot.Change{}, fmt.Errorf("bot: %s for %s session %d: %w", strings.ToLower(method), c.ID, s.N, err)
	}
	ch.Outbox = out
	return ch, nil
}

// inviteNote tells the mediator whether the parties were mailed.
func (r *Request) inviteNote(t *text, c *casebot.Case, sent string) {
	if r.bot.cfg.Mail == nil {
		t.line("No email was sent: outbound mail is not configured on this casebot.")
		return
	}
	t.linef(sent, plural(len(c.Parties), "party", "parties"))
}

// sessionLine describes a session in loc.
func sessionLine(c *casebot.Case, s casebot.Session, loc *time.Location) string {
	line := fmt.Sprintf("Session #%d of %s: %s, %s  %s", s.N, c.ID, formatTime(s.Start, loc), formatDuration(s.Duration), s.Title)
	if s.Where != "" {
		line += " — " + s.Where
	}
	return line
}

func handleNote(ctx context.Context, r *Request) Reply {
	c, err := r.Case(ctx, r.Args.ID)
	if err != nil {
		return r.Fail(err)
	}
	_, private := r.Args.Flag("private")
	// The store names the note in the audit event: number, first line, private.
	n, err := r.Store.AddNote(ctx, &casebot.Note{
		CaseID: c.ID, Author: r.Actor.ID, Source: casebot.SourceSlack, Private: private, Body: r.Args.Text, Created: r.Now,
	}, casebot.Change{Actor: r.Actor.ID, Action: "note.add"})
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
	hits, err := r.Store.Search(ctx, r.Args.Words, r.Actor, searchLimit)
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
	if err := r.Store.RecordViews(ctx, ids, r.Actor.ID, "notes matching "+quoted(r.Args.Text)); err != nil {
		return r.Fail(fmt.Errorf("bot: record search views: %w", err))
	}
	return Reply{Text: t.String()}
}

func handleStats(ctx context.Context, r *Request) Reply {
	scope, mediator := "all cases", ""
	if !r.Actor.Admin {
		scope, mediator = "your cases", r.Actor.ID
	}
	st := casebot.Stats{OpenByStatus: map[casebot.Status]int{}, OpenByPriority: map[casebot.Priority]int{}}
	if r.Actor.Admin || r.Actor.ID != "" {
		var err error
		if st, err = r.Store.StatsFor(ctx, r.Now, mediator); err != nil {
			return r.Fail(fmt.Errorf("bot: stats: %w", err))
		}
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
