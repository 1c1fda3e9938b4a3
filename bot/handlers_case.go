package bot

import (
	"context"
	"fmt"
	"time"

	"github.com/casebot/casebot"
)

func handleNew(ctx context.Context, r *Request) Reply {
	a := r.Args
	mediator := r.Actor.ID
	if a.Mediator != "" {
		mediator = a.Mediator
	}
	if !r.Actor.CanAssignTo(mediator) {
		return r.Fail(casebot.Errorf(casebot.EFORBIDDEN, "Only admins may make someone else the mediator."))
	}
	prio := a.Priority
	if prio == "" {
		prio = casebot.PriorityNormal
	}
	c := &casebot.Case{
		Title: a.Text, Type: a.Flags["type"], Source: a.Flags["source"], Priority: prio, Status: casebot.StatusIntake,
		Mediator: mediator, CreatedBy: r.Actor.ID,
	}
	if err := c.Validate(); err != nil {
		return r.Usage(err)
	}
	c, err := r.Store.CreateCase(ctx, c, casebot.Change{
		Actor: r.Actor.ID, Action: "case.create",
		Detail: fmt.Sprintf("priority %s, mediator %s", prio, mediator),
		About:  casebot.About{Text: casebot.Headline(c.Title)},
	})
	if err != nil {
		return r.Fail(fmt.Errorf("bot: create case: %w", err))
	}
	var t text
	t.linef("Opened %s: %s", c.ID, c.Title)
	t.linef("Priority %s, mediator %s. Add parties with: party add %s <role> <name> <email>", c.Priority, c.Mediator, c.ID)
	return Reply{Text: t.String(), Buttons: []casebot.Button{{ActionID: casebot.ActionShowCase, Label: "Show", Value: c.ID}}}
}

func handleShow(ctx context.Context, r *Request) Reply {
	rec, err := r.CaseRecords(ctx, r.Args.ID, showDocs)
	if err != nil {
		return r.Fail(err)
	}
	c, notes, docs, ndocs := rec.Case, rec.Notes, rec.Documents, rec.DocumentCount
	if err := r.Store.RecordView(ctx, c.ID, r.Actor.ID, "the case"); err != nil {
		return r.Fail(fmt.Errorf("bot: record view of %s: %w", c.ID, err))
	}
	loc := r.Actor.Location()
	var t text
	t.linef("%s: %s", c.ID, c.Title)
	typ := c.Type
	if typ == "" {
		typ = "-"
	}
	t.linef("Status %s · priority %s · type %s", c.Status, c.Priority, typ)
	if c.Source != "" {
		t.linef("Referral source %s", c.Source)
	}
	t.linef("Mediator %s%s · opened %s by %s · updated %s", c.Mediator, coList(c.CoMediators), formatTime(c.Created, loc), c.CreatedBy, formatTime(c.Updated, loc))
	if c.Status.Closed() {
		s := fmt.Sprintf("Closed %s: %s", formatTime(c.Closed, loc), c.Outcome)
		if c.OutcomeText != "" {
			s += " — " + c.OutcomeText
		}
		t.line(s)
	}
	recordsLines(&t, c, loc)
	t.heading("Parties", len(c.Parties))
	for _, p := range c.Parties {
		s := fmt.Sprintf("  %s: %s <%s>", p.Role, p.Name, p.Email)
		if p.Bouncing {
			s += " [bouncing]"
		}
		t.line(s)
	}
	var buttons []casebot.Button
	t.heading("Deadlines", len(c.Deadlines))
	for _, d := range c.Deadlines {
		s := fmt.Sprintf("  %d. %s  %s", d.N, formatTime(d.Due, loc), d.Text)
		if d.Request() {
			s += fmt.Sprintf(" (a document from %s)", d.Role)
		}
		switch {
		case d.Met && d.MetDoc > 0:
			s += fmt.Sprintf("  [met %s by %s, document #%d]", formatTime(d.MetAt, loc), d.MetBy, d.MetDoc)
		case d.Met:
			s += fmt.Sprintf("  [met %s by %s]", formatTime(d.MetAt, loc), d.MetBy)
		case d.Overdue(r.Now):
			s += "  [OVERDUE]"
		}
		if !d.Met && len(buttons) < 5 {
			buttons = append(buttons, casebot.Button{ActionID: casebot.ActionDeadlineDone, Label: fmt.Sprintf("Done #%d", d.N), Value: fmt.Sprintf("%s/%d", c.ID, d.N)})
		}
		t.line(s)
	}
	t.heading("Sessions", len(c.Sessions))
	for _, s := range c.Sessions {
		line := fmt.Sprintf("  %d. %s, %s  %s", s.N, formatTime(s.Start, loc), formatDuration(s.Duration), s.Title)
		if s.Where != "" {
			line += " — " + s.Where
		}
		if s.Cancelled {
			line += "  [cancelled]"
		}
		t.line(line)
		agendaLines(&t, s)
	}
	t.heading("Documents", ndocs)
	if ndocs > len(docs) {
		t.linef("  the newest %d; docs %s lists all %d", len(docs), c.ID, ndocs)
	}
	writeDocs(&t, docs, loc)
	t.heading("Notes", len(notes))
	for _, n := range notes {
		t.line("  " + noteHeader(n, loc) + ": " + indent(n.Body, "    "))
	}
	return Reply{Text: t.String(), Buttons: append(buttons, formButtons(c)...)}
}

// noteHeader is "#3 2026-12-01 14:30 UTC U123 [private]" or, for an email,
// the sender and subject.
func noteHeader(n *casebot.Note, loc *time.Location) string {
	s := fmt.Sprintf("#%d %s %s", n.N, formatTime(n.Created, loc), n.Author)
	if n.Email != nil {
		s += fmt.Sprintf(" (email: %s)", n.Email.Subject)
	}
	if n.Private {
		s += " [private]"
	}
	return s
}

func handleStatus(ctx context.Context, r *Request) Reply {
	st := r.Args.Status
	c, err := r.UpdateCase(ctx, r.Args.ID, func(c *casebot.Case) (casebot.Change, error) {
		if c.Status == st {
			return casebot.Change{}, casebot.Errorf(casebot.ECONFLICT, "%s is already %s.", c.ID, st)
		}
		ch := casebot.Change{Action: "case.status", Detail: "was " + string(c.Status), About: casebot.About{Text: string(st)}}
		if c.Status.Closed() {
			ch.Action = "case.reopen"
			c.Closed, c.Outcome, c.OutcomeText = time.Time{}, "", ""
		}
		c.Status = st
		return ch, nil
	})
	if err != nil {
		return r.Fail(err)
	}
	return Reply{Text: fmt.Sprintf("%s is now %s.", c.ID, c.Status)}
}

func handleClose(ctx context.Context, r *Request) Reply {
	var accepted *casebot.Offer
	_, err := r.UpdateOffers(ctx, r.Args.ID, func(c *casebot.Case, offers []casebot.Offer) ([]casebot.Offer, casebot.Change, error) {
		if c.Status.Closed() {
			return nil, casebot.Change{}, casebot.Errorf(casebot.ECONFLICT, "%s is already closed (%s); status %s active reopens it.", c.ID, c.Status, c.ID)
		}
		c.Status, c.Outcome, c.OutcomeText, c.Closed = r.Args.Status, r.Args.Status, r.Args.Text, r.Now
		detail := casebot.Headline(r.Args.Text)
		if o := casebot.Accepted(offers); o != nil && (c.Status == casebot.StatusSettled || c.Status == casebot.StatusPartial) {
			accepted = o
			// The record names the offer by number and side; its terms
			// stay sealed in the offer log and the (sealed) audit detail.
			c.OutcomeText = joinNonEmpty(c.OutcomeText, fmt.Sprintf("accepted offer #%d from the %s", o.N, o.Role))
			detail = joinNonEmpty(detail, fmt.Sprintf("accepted offer #%d from the %s: %s", o.N, o.Role, casebot.Headline(o.Terms)))
		}
		return offers, casebot.Change{Action: "case.close", Detail: detail, About: casebot.About{Text: string(r.Args.Status)}}, nil
	})
	if err != nil {
		return r.Fail(err)
	}
	if accepted != nil {
		return Reply{Text: fmt.Sprintf("Closed %s: %s, on accepted offer #%d from the %s.", r.Args.ID, r.Args.Status, accepted.N, accepted.Role)}
	}
	return Reply{Text: fmt.Sprintf("Closed %s: %s.", r.Args.ID, r.Args.Status)}
}

// joinNonEmpty joins the non-empty of a and b with "; ".
func joinNonEmpty(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

func handleTimeline(ctx context.Context, r *Request) Reply {
	c, err := r.Case(ctx, r.Args.ID)
	if err != nil {
		return r.Fail(err)
	}
	events, err := r.Store.Audit(ctx, c.ID)
	if err != nil {
		return r.Fail(fmt.Errorf("bot: audit of %s: %w", c.ID, err))
	}
	if err := r.Store.RecordView(ctx, c.ID, r.Actor.ID, "the timeline"); err != nil {
		return r.Fail(fmt.Errorf("bot: record view of %s: %w", c.ID, err))
	}
	return Reply{Text: TimelineText(c, events, r.Actor.Location())}
}
