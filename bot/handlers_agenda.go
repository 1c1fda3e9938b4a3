package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/casebot/casebot"
)

// agendaResend is how close a session must be for an agenda change to send
// an updated invitation at once; further off, the next reminder carries it.
const agendaResend = 7 * 24 * time.Hour

// handleAgenda shows a session's agenda.
func handleAgenda(ctx context.Context, r *Request) Reply {
	c, err := r.Case(ctx, r.Args.ID)
	if err != nil {
		return r.Fail(err)
	}
	for _, s := range c.Sessions {
		if s.N != r.Args.N {
			continue
		}
		var t text
		t.line(sessionLine(c, s, r.Actor.Location()))
		if len(s.Agenda) == 0 {
			t.linef("No agenda yet. Add items with: agenda %s %d add <text>", c.ID, s.N)
		} else {
			t.line("Agenda:")
			t.line(indent(strings.TrimSuffix(casebot.AgendaText(s.Agenda), "\n"), "  "))
		}
		return Reply{Text: t.String()}
	}
	return r.Fail(invalid("%s has no session #%d.", c.ID, r.Args.N))
}

// handleAgendaAdd appends an item to a session's agenda.
func handleAgendaAdd(ctx context.Context, r *Request) Reply {
	text := r.Args.Text
	return r.changeAgenda(ctx, "agenda.add", func(s *casebot.Session) (casebot.About, error) {
		if len(s.Agenda) >= casebot.MaxAgendaItems {
			return casebot.About{}, invalid("Session #%d has %d agenda items, the most it may have.", s.N, len(s.Agenda))
		}
		if strings.ContainsAny(text, "\r\n") {
			return casebot.About{}, invalid("An agenda item is one line.")
		}
		s.Agenda = append(s.Agenda, text)
		return casebot.About{N: len(s.Agenda), When: s.Start, Text: casebot.Headline(text)}, nil
	})
}

// agendaItems reads session's --agenda: items separated by semicolons,
// blanks dropped, at most casebot.MaxAgendaItems.
func agendaItems(v string) ([]string, error) {
	var items []string
	for _, it := range strings.Split(v, ";") {
		if it = strings.TrimSpace(it); it != "" {
			items = append(items, it)
		}
	}
	if len(items) > casebot.MaxAgendaItems {
		return nil, casebot.OnField("agenda", invalid("An agenda has at most %d items; this one has %d.", casebot.MaxAgendaItems, len(items)))
	}
	return items, nil
}

// handleAgendaRemove takes an item off a session's agenda.
func handleAgendaRemove(ctx context.Context, r *Request) Reply {
	item := r.Args.Item
	return r.changeAgenda(ctx, "agenda.remove", func(s *casebot.Session) (casebot.About, error) {
		if item > len(s.Agenda) {
			return casebot.About{}, invalid("Session #%d has no agenda item #%d.", s.N, item)
		}
		about := casebot.About{N: item, When: s.Start, Text: casebot.Headline(s.Agenda[item-1])}
		s.Agenda = slices.Delete(s.Agenda, item-1, item)
		return about, nil
	})
}

// changeAgenda applies edit to the agenda of session N and, when the
// parties were invited and the session is less than a week away, sends
// them an updated invitation (SEQUENCE raised) in the same commit; further
// off, the next reminder carries the agenda.
func (r *Request) changeAgenda(ctx context.Context, action string, edit func(s *casebot.Session) (casebot.About, error)) Reply {
	var s casebot.Session
	resent := false
	c, err := r.UpdateCase(ctx, r.Args.ID, func(c *casebot.Case) (casebot.Change, error) {
		i, err := liveSession(c, r.Args.N)
		if err != nil {
			return casebot.Change{}, err
		}
		p := &c.Sessions[i]
		if !p.Start.After(r.Now) {
			return casebot.Change{}, casebot.Errorf(casebot.ECONFLICT, "Session #%d of %s has begun; its agenda is final.", p.N, c.ID)
		}
		p.Agenda = slices.Clone(p.Agenda)
		about, err := edit(p)
		if err != nil {
			return casebot.Change{}, err
		}
		p.AgendaChanged = r.Now
		ch := casebot.Change{Action: action, About: about}
		if r.bot.cfg.Mail != nil && len(c.Parties) > 0 && p.Start.Sub(r.Now) < agendaResend {
			p.Sequence++ // calendars replace the event with the higher SEQUENCE
			resent = true
			s = *p
			return r.invite(c, s, casebot.MethodRequest, ch)
		}
		s = *p
		return ch, nil
	})
	if err != nil {
		return r.Fail(err)
	}
	var t text
	t.line(sessionLine(c, s, r.Actor.Location()))
	if len(s.Agenda) > 0 {
		t.line("Agenda:")
		t.line(indent(strings.TrimSuffix(casebot.AgendaText(s.Agenda), "\n"), "  "))
	} else {
		t.line("The agenda is empty.")
	}
	switch {
	case resent:
		r.inviteNote(&t, c, "The session is less than a week away: updated invitations with the agenda are on their way to %s.")
	case r.bot.cfg.Mail != nil && len(c.Parties) > 0:
		t.line("The parties get the agenda with the next reminder.")
	}
	return Reply{Text: t.String()}
}

// agendaLines is a session's agenda for show, indented under the session.
func agendaLines(t *text, s casebot.Session) {
	for i, a := range s.Agenda {
		t.line(fmt.Sprintf("       %d) %s", i+1, a))
	}
}
