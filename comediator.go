package casebot

import "slices"

// IsMediator reports whether user is the case's mediator or one of its
// co-mediators: the people who see and change it and get its notices.
func (c *Case) IsMediator(user string) bool {
	return user != "" && (c.Mediator == user || slices.Contains(c.CoMediators, user))
}

// Mediators returns the case's mediator (when it has one) and its
// co-mediators, in that order.
func (c *Case) Mediators() []string {
	var out []string
	if c.Mediator != "" {
		out = append(out, c.Mediator)
	}
	return append(out, c.CoMediators...)
}

// AddCoMediator makes user a co-mediator of c, or returns an EINVALID or
// ECONFLICT error when user is already its mediator or a co-mediator.
func (c *Case) AddCoMediator(user string) error {
	switch {
	case user == "":
		return Errorf(EINVALID, "Name the co-mediator: +USER.")
	case user == c.Mediator:
		return Errorf(EINVALID, "%s is the mediator of %s already; a co-mediator is someone else.", user, c.ID)
	case slices.Contains(c.CoMediators, user):
		return Errorf(ECONFLICT, "%s is a co-mediator of %s already.", user, c.ID)
	}
	c.CoMediators = append(c.CoMediators, user)
	return nil
}

// RemoveCoMediator takes user off c's co-mediators, or returns an EINVALID
// error when user is not one.
func (c *Case) RemoveCoMediator(user string) error {
	i := slices.Index(c.CoMediators, user)
	if i < 0 {
		return Errorf(EINVALID, "%s is not a co-mediator of %s.", user, c.ID)
	}
	c.CoMediators = slices.Delete(slices.Clone(c.CoMediators), i, i+1)
	if len(c.CoMediators) == 0 {
		c.CoMediators = nil
	}
	return nil
}

// CoMediatorCopies returns a copy of m, a Slack message to a case's
// mediator, for each co-mediator in co, each under a key of its own
// (m.Key + "/co/" + user) so the outbox keeps them apart.
func CoMediatorCopies(m OutMessage, co []string) []OutMessage {
	out := make([]OutMessage, 0, len(co))
	for _, u := range co {
		if u == "" || u == m.To {
			continue
		}
		cp := m
		cp.To, cp.Key = u, m.Key+"/co/"+u
		if m.Notice != nil {
			n := *m.Notice
			cp.Notice = &n
		}
		out = append(out, cp)
	}
	return out
}

// ToMediators returns m, a Slack message to c's mediator, followed by its
// copies to c's co-mediators (CoMediatorCopies).
func ToMediators(c *Case, m OutMessage) []OutMessage {
	return append([]OutMessage{m}, CoMediatorCopies(m, c.CoMediators)...)
}

// CaseloadWeight is a case's share of one mediator's caseload: 1, or ½
// for a case shared with co-mediators (each of them counts it as half).
func CaseloadWeight(shared bool) float64 {
	if shared {
		return 0.5
	}
	return 1
}
