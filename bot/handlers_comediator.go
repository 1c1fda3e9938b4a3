package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/casebot/casebot"
)

// handleCoMediator adds (+USER) or removes (-USER) a co-mediator. Everything
// a co-mediator has (access, reminders, notices, digest items, the caseload
// share) follows from the case's CoMediators, so removing one removes all
// of it in the same commit.
func handleCoMediator(ctx context.Context, r *Request) Reply {
	user, add := r.Args.User, r.Args.Co == '+'
	c, err := r.UpdateCase(ctx, r.Args.ID, func(c *casebot.Case) (casebot.Change, error) {
		ch := casebot.Change{About: casebot.About{Who: user}}
		if !add {
			if err := c.RemoveCoMediator(user); err != nil {
				return casebot.Change{}, err
			}
			ch.Action = "case.comediator.remove"
			return ch, nil
		}
		if err := c.AddCoMediator(user); err != nil {
			return casebot.Change{}, err
		}
		ch.Action = "case.comediator.add"
		ch.Outbox = []casebot.OutMessage{{
			Key: fmt.Sprintf("comediator/%s/%s/%d", c.ID, user, r.Now.UnixNano()), Kind: casebot.OutSlack,
			To: user, CaseID: c.ID, Text: fmt.Sprintf("You are now a co-mediator of %s: %s (mediator %s)", c.ID, c.Title, c.Mediator),
			Buttons: []casebot.Button{{ActionID: casebot.ActionShowCase, Label: "Show", Value: c.ID}},
		}}
		return ch, nil
	})
	if err != nil {
		return r.Fail(err)
	}
	var t text
	if add {
		t.linef("%s is now a co-mediator of %s.", user, c.ID)
		if err := r.coConflictCheck(ctx, &t, c, user); err != nil {
			return r.Fail(err)
		}
	} else {
		t.linef("%s is no longer a co-mediator of %s.", user, c.ID)
	}
	if len(c.CoMediators) > 0 {
		t.linef("Co-mediators: %s.", strings.Join(c.CoMediators, ", "))
	}
	return Reply{Text: t.String()}
}

// coConflictCheck warns when one of c's parties appears in another case of
// user's, the new co-mediator.
func (r *Request) coConflictCheck(ctx context.Context, t *text, c *casebot.Case, user string) error {
	var ms []casebot.PartyMatch
	for _, p := range c.Parties {
		found, err := appearances(ctx, r.Store, p.Name, p.Email, c.ID)
		if err != nil {
			return err
		}
		ms = append(ms, found...)
	}
	for _, m := range ms {
		if matchMediates(m, user) {
			t.linef("Conflict check: %s (%s of %s) also appears in %s, which %s mediates.", m.Party.Name, m.Party.Role, c.ID, m.CaseID, user)
		}
	}
	return nil
}

// coConflicts warns, after a party add, about the matches ms that are
// cases of one of c's co-mediators (conflictReport shows the actor's own
// and counts the rest; a co-mediator's conflict must not hide in a count).
func coConflicts(t *text, c *casebot.Case, ms []casebot.PartyMatch) {
	for _, u := range c.CoMediators {
		var ids []string
		for _, m := range ms {
			if matchMediates(m, u) {
				ids = append(ids, m.CaseID)
			}
		}
		if len(ids) > 0 {
			t.linef("Conflict check: co-mediator %s has this person in %s.", u, strings.Join(ids, ", "))
		}
	}
}

// matchMediates reports whether user mediates or co-mediates the case of m.
func matchMediates(m casebot.PartyMatch, user string) bool {
	if user == "" {
		return false
	}
	if m.Mediator == user {
		return true
	}
	for _, u := range m.CoMediators {
		if u == user {
			return true
		}
	}
	return false
}

// coList is ", co-mediators U2, U3" or "".
func coList(co []string) string {
	if len(co) == 0 {
		return ""
	}
	return " (co-mediators " + strings.Join(co, ", ") + ")"
}

// caseloadWeight is a caseload's weighted load (urgent 4, high 3,
// normal 2, low 1), a case shared with co-mediators counting half.
func caseloadWeight(l casebot.Caseload) float64 {
	load := 0.0
	for p, n := range l.ByPriority {
		load += float64(n * priorityWeight(p))
	}
	for p, n := range l.Shared {
		load -= float64(n*priorityWeight(p)) * (1 - casebot.CaseloadWeight(true))
	}
	return load
}

func sumCounts(m map[casebot.Priority]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
