package casebot

import "time"

// Actor is the person running a command: a Slack user ID, whether they are an
// admin (slack.admins), and the time zone their times are read and shown in.
type Actor struct {
	ID    string
	Admin bool
	Loc   *time.Location
}

// Location returns the actor's zone, UTC when unknown.
func (a Actor) Location() *time.Location {
	if a.Loc == nil {
		return time.UTC
	}
	return a.Loc
}

// CanSee reports whether the actor may see and change case c.
// This is the one access rule every command goes through: admins see every
// case, a mediator only the cases assigned to them as mediator or
// co-mediator, anyone else nothing.
func (a Actor) CanSee(c *Case) bool {
	if a.ID == "" || c == nil {
		return false
	}
	return a.Admin || c.IsMediator(a.ID)
}

// CanAssignTo reports whether the actor may make user the mediator of a case:
// admins may assign anyone, others only themselves.
func (a Actor) CanAssignTo(user string) bool {
	return a.ID != "" && (a.Admin || user == a.ID)
}

// Denied is the refusal for case id when the actor may not see it or it
// does not exist: an admin, who sees every case, learns that it does not
// exist (ErrNoSuchCase); anyone else gets ErrHidden, which reveals nothing.
func (a Actor) Denied(id string) *Error {
	if a.Admin {
		return ErrNoSuchCase(id)
	}
	return ErrHidden(id)
}

// ErrHidden is the denial for a case the actor may not see. It is the same
// sentence whether or not the case exists, so a denial reveals nothing.
func ErrHidden(id string) *Error {
	return Errorf(EFORBIDDEN, "You have no case %s.", id)
}

// ErrNoSuchCase is the reply to an admin naming a case that does not exist.
func ErrNoSuchCase(id string) *Error {
	return Errorf(ENOTFOUND, "no such case: %s", id)
}
