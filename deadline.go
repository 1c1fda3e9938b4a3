package casebot

import (
	"fmt"
	"time"
)

// Deadline is something due in a case. N numbers deadlines from 1 within a case.
type Deadline struct {
	N       int
	Due     time.Time
	Text    string
	Met     bool
	MetAt   time.Time
	MetBy   string
	Created time.Time
	// Moved is when the due time was last changed; zero if never.
	Moved time.Time
	// Role, when set, makes the deadline a document request (SPEC §10):
	// a document is expected from the parties of that role, asked for at
	// Created. The first kept document from one of them that reaches
	// casebot after Created meets it by itself (MetBy is the sender).
	Role Role `json:",omitempty"`
	// MetNote and MetDoc are the note and the document that met a
	// request by their arrival; zero when it was met otherwise.
	MetNote int `json:",omitempty"`
	MetDoc  int `json:",omitempty"`
}

// Request reports whether the deadline is a document request.
func (d Deadline) Request() bool { return d.Role != "" }

// MeetsRequest reports whether a document from a party of role, which
// reached casebot at arrived, meets the deadline: an unmet request to
// that role made before the arrival.
func (d Deadline) MeetsRequest(role Role, arrived time.Time) bool {
	return d.Role != "" && !d.Met && d.Role == role && arrived.After(d.Created)
}

// Made returns when the deadline got its due time: made or last moved.
func (d Deadline) Made() time.Time { return later(d.Created, d.Moved) }

// Overdue reports whether the deadline is unmet and past due at now.
func (d Deadline) Overdue(now time.Time) bool { return !d.Met && now.After(d.Due) }

// Session is a scheduled mediation session. N numbers sessions from 1 within
// a case. Sequence is the iCalendar SEQUENCE, raised on every reschedule.
type Session struct {
	N         int
	Start     time.Time
	Duration  time.Duration
	Title     string
	Where     string
	Sequence  int
	Cancelled bool
	Created   time.Time
	// Moved is when the session was last rescheduled; zero if never.
	Moved time.Time
	// Agenda is the session's agenda, numbered from 1 in order.
	Agenda []string `json:",omitempty"`
	// AgendaChanged is when the agenda last changed; zero if never.
	AgendaChanged time.Time `json:",omitzero"`
}

// AgendaUpdate reports whether the session's latest revision was sent for
// its agenda rather than a new time: the agenda changed after the session
// was made or moved, and the invitation was sent again for it.
func (s Session) AgendaUpdate() bool {
	return s.Sequence > 0 && !s.AgendaChanged.IsZero() && !s.AgendaChanged.Before(s.Made())
}

// AgendaText is the agenda as numbered lines, one per item
// ("1. Opening statements"); empty when there is none.
func AgendaText(agenda []string) string {
	var b []byte
	for i, a := range agenda {
		b = fmt.Appendf(b, "%d. %s\n", i+1, a)
	}
	return string(b)
}

// MaxAgendaItems caps a session's agenda.
const MaxAgendaItems = 30

// Made returns when the session got its time: made or last moved. A
// reminder that would fire at or before then is never sent (SPEC §7): the
// invitation said it.
func (s Session) Made() time.Time { return later(s.Created, s.Moved) }

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// End returns when the session ends.
func (s Session) End() time.Time { return s.Start.Add(s.Duration) }

// DeadlineRef is a deadline with its case, for overdue lists and reminders.
type DeadlineRef struct {
	CaseID   string
	Mediator string
	// CoMediators get the deadline's reminders and notices too.
	CoMediators []string `json:",omitempty"`
	Priority    Priority
	Title       string
	Deadline    Deadline
}

// SessionRef is a session with its case, for reminders and digests.
type SessionRef struct {
	CaseID   string
	Mediator string
	// CoMediators get the session's reminders too.
	CoMediators []string `json:",omitempty"`
	Title       string
	Session     Session
}
