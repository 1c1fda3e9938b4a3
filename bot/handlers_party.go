package bot

import (
	"context"
	"fmt"
	"sort"

	"github.com/casebot/casebot"
)

// appearances returns every appearance of a person found by email and by
// name, one per case and address, leaving out the case exclude.
func appearances(ctx context.Context, s casebot.CaseStore, name, email, exclude string) ([]casebot.PartyMatch, error) {
	seen := map[string]bool{}
	var out []casebot.PartyMatch
	for _, q := range []string{email, name} {
		if q == "" {
			continue
		}
		ms, err := s.FindParty(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("bot: find party: %w", err)
		}
		for _, m := range ms {
			k := m.CaseID + "\x00" + m.Party.Email
			if m.CaseID == exclude || seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, m)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CaseID < out[j].CaseID })
	return out, nil
}

// conflictReport lists the matches the actor may see (admins: all; anyone
// else: cases assigned to them) and counts the cases of the rest. Listed
// cases are recorded as viewed by a conflict check for query.
func (r *Request) conflictReport(ctx context.Context, t *text, ms []casebot.PartyMatch, query string) error {
	others := map[string]bool{}
	var viewed []string
	for _, m := range ms {
		if !r.Actor.Admin && !matchMediates(m, r.Actor.ID) {
			others[m.CaseID] = true
			continue
		}
		if len(viewed) == 0 || viewed[len(viewed)-1] != m.CaseID {
			viewed = append(viewed, m.CaseID)
		}
		t.linef("  %s  %s: %s <%s>  — %s, mediator %s%s, %s", m.CaseID, m.Party.Role, m.Party.Name, m.Party.Email, m.Title, m.Mediator, coList(m.CoMediators), m.Status)
	}
	if len(others) > 0 {
		t.linef("  and %s assigned to other mediators.", plural(len(others), "case", "cases"))
	}
	if err := r.Store.RecordViews(ctx, viewed, r.Actor.ID, "parties in a conflict check for "+quoted(query)); err != nil {
		return fmt.Errorf("bot: record conflict-check views: %w", err)
	}
	return nil
}

func handlePartyAdd(ctx context.Context, r *Request) Reply {
	a := r.Args
	c, err := r.Case(ctx, a.ID)
	if err != nil {
		return r.Fail(err)
	}
	if c.Status.Closed() {
		return r.Fail(closedErr(c))
	}
	p := casebot.Party{Role: a.Role, Name: a.Name, Email: a.Email, Added: r.Now}
	if err := p.Validate(); err != nil {
		return r.Usage(err)
	}
	ms, err := appearances(ctx, r.Store, p.Name, p.Email, c.ID)
	if err != nil {
		return r.Fail(err)
	}
	c, err = r.UpdateCase(ctx, a.ID, func(c *casebot.Case) (casebot.Change, error) {
		if c.Status.Closed() {
			return casebot.Change{}, closedErr(c)
		}
		if c.Party(p.Email) >= 0 {
			return casebot.Change{}, casebot.Errorf(casebot.ECONFLICT, "%s is already a party of %s.", p.Email, c.ID)
		}
		c.Parties = append(c.Parties, p)
		return casebot.Change{Action: "party.add", About: partyAbout(p)}, nil
	})
	if err != nil {
		return r.Fail(err)
	}
	var t text
	t.linef("Added %s %s <%s> to %s.", p.Role, p.Name, p.Email, c.ID)
	coConflicts(&t, c, ms)
	if len(ms) == 0 {
		t.line("Conflict check: no other case names this person.")
	} else {
		t.linef("Conflict check: this person appears in other cases:")
		if err := r.conflictReport(ctx, &t, ms, p.Name); err != nil {
			return r.Fail(err)
		}
	}
	return Reply{Text: t.String()}
}

// partyAbout names a party for the audit trail: role, name and address.
func partyAbout(p casebot.Party) casebot.About {
	return casebot.About{Who: casebot.Mailbox(p.Name, p.Email), Text: string(p.Role)}
}

func handlePartyRemove(ctx context.Context, r *Request) Reply {
	email := r.Args.Email
	c, err := r.UpdateCase(ctx, r.Args.ID, func(c *casebot.Case) (casebot.Change, error) {
		i := c.Party(email)
		if i < 0 {
			return casebot.Change{}, invalid("%s is not a party of %s.", email, c.ID)
		}
		about := partyAbout(c.Parties[i])
		c.Parties = append(c.Parties[:i], c.Parties[i+1:]...)
		return casebot.Change{Action: "party.remove", About: about}, nil
	})
	if err != nil {
		return r.Fail(err)
	}
	return Reply{Text: fmt.Sprintf("Removed %s from %s.", email, c.ID)}
}

func handlePartyClear(ctx context.Context, r *Request) Reply {
	email := r.Args.Email
	c, err := r.UpdateCase(ctx, r.Args.ID, func(c *casebot.Case) (casebot.Change, error) {
		i := c.Party(email)
		if i < 0 {
			return casebot.Change{}, invalid("%s is not a party of %s.", email, c.ID)
		}
		if !c.Parties[i].Bouncing {
			return casebot.Change{}, casebot.Errorf(casebot.ECONFLICT, "Mail to %s is not flagged as bouncing.", email)
		}
		c.Parties[i].Bouncing = false
		return casebot.Change{Action: "party.clear", About: partyAbout(c.Parties[i])}, nil
	})
	if err != nil {
		return r.Fail(err)
	}
	return Reply{Text: fmt.Sprintf("%s of %s will get case email again.", email, c.ID)}
}

func handleConflicts(ctx context.Context, r *Request) Reply {
	q := r.Args.Text
	if !r.Actor.Admin {
		// Anyone else sees nothing of any case, not even a count: a conflict
		// check is for admins and mediators, i.e. users with a case.
		mine, err := r.Store.Cases(ctx, casebot.CaseFilter{Mediator: r.Actor.ID, State: "all", Limit: 1})
		if err != nil {
			return r.Fail(err)
		}
		if len(mine) == 0 {
			return r.Fail(casebot.Errorf(casebot.EFORBIDDEN, "Conflict checks are for mediators and case coordinators, and you have no cases. Ask a case coordinator to run it."))
		}
	}
	var name, email string
	if looksLikeEmail(q) {
		e, err := ParseEmail(q)
		if err != nil {
			return r.Usage(err)
		}
		email = e
	} else {
		name = q
	}
	ms, err := appearances(ctx, r.Store, name, email, "")
	if err != nil {
		return r.Fail(err)
	}
	if len(ms) == 0 {
		return Reply{Text: fmt.Sprintf("No case names %s.", q)}
	}
	var t text
	t.linef("Cases naming %s:", q)
	if err := r.conflictReport(ctx, &t, ms, q); err != nil {
		return r.Fail(err)
	}
	return Reply{Text: t.String()}
}

func handleAssign(ctx context.Context, r *Request) Reply {
	c, err := r.Case(ctx, r.Args.ID)
	if err != nil {
		return r.Fail(err)
	}
	target, how := r.Args.User, "by hand"
	if target == "auto" {
		if target, err = pickMediator(ctx, r.Store, c); err != nil {
			return r.Fail(err)
		}
		how = "auto"
	}
	if target == c.Mediator {
		return Reply{Text: fmt.Sprintf("%s stays with %s.", c.ID, target)}
	}
	c, err = r.UpdateCase(ctx, c.ID, func(c *casebot.Case) (casebot.Change, error) {
		from := c.Mediator
		c.Mediator = target
		if c.RemoveCoMediator(target) == nil && from != "" {
			_ = c.AddCoMediator(from) // a co-mediator made mediator: the two swap places
		}
		return casebot.Change{
			Action: "case.assign", Detail: fmt.Sprintf("%s, was %s", how, from), About: casebot.About{Who: target},
			Outbox: []casebot.OutMessage{{
				Key: fmt.Sprintf("assign/%s/%s/%d", c.ID, target, r.Now.UnixNano()), Kind: casebot.OutSlack,
				To: target, CaseID: c.ID, Text: fmt.Sprintf("You are now the mediator of %s: %s", c.ID, c.Title),
				Buttons: []casebot.Button{{ActionID: casebot.ActionShowCase, Label: "Show", Value: c.ID}},
			}},
		}, nil
	})
	if err != nil {
		return r.Fail(err)
	}
	return Reply{Text: fmt.Sprintf("%s is now assigned to %s (%s).", c.ID, c.Mediator, how)}
}

// pickMediator chooses for assign auto, among every mediator who has a case,
// the one with the lightest weighted open caseload (urgent 4, high 3,
// normal 2, low 1; this case itself not counted) who has no conflict: none
// of this case's parties, by email or name, appears in another case of
// theirs. Ties go to the lower user ID.
func pickMediator(ctx context.Context, s casebot.CaseStore, c *casebot.Case) (string, error) {
	loads, err := s.Caseloads(ctx)
	if err != nil {
		return "", fmt.Errorf("bot: caseloads: %w", err)
	}
	conflicted := map[string]bool{}
	for _, p := range c.Parties {
		ms, err := appearances(ctx, s, p.Name, p.Email, c.ID)
		if err != nil {
			return "", err
		}
		for _, m := range ms {
			conflicted[m.Mediator] = true
			for _, u := range m.CoMediators {
				conflicted[u] = true
			}
		}
	}
	best, bestLoad := "", 0.0
	for _, l := range loads {
		if l.Mediator == "" || conflicted[l.Mediator] {
			continue
		}
		load := caseloadWeight(l)
		if c.IsMediator(l.Mediator) && c.Open() {
			load -= casebot.CaseloadWeight(len(c.CoMediators) > 0) * float64(priorityWeight(c.Priority))
		}
		if best == "" || load < bestLoad || load == bestLoad && l.Mediator < best {
			best, bestLoad = l.Mediator, load
		}
	}
	if best == "" {
		return "", casebot.Errorf(casebot.ECONFLICT, "No mediator without a conflict is available for %s; assign one by hand.", c.ID)
	}
	return best, nil
}

func closedErr(c *casebot.Case) error {
	return casebot.Errorf(casebot.ECONFLICT, "%s is closed (%s); status %s active reopens it.", c.ID, c.Status, c.ID)
}
