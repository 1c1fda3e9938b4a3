package casebot

import "time"

// Deadline is something due in a case. N numbers deadlines from 1 within a case.
type Deadline struct {
	N       int
	Due     time.Time
	Text    string
	Met     bool
	MetAt   time.Time
	MetBy   string
	Created time.Time
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
}

// End returns when the session ends.
func (s Session) End() time.Time { return s.Start.Add(s.Duration) }

// DeadlineRef is a deadline with its case, for overdue lists and reminders.
type DeadlineRef struct {
	CaseID   string
	Mediator string
	Priority Priority
	Title    string
	Deadline Deadline
}

// SessionRef is a session with its case, for reminders and digests.
type SessionRef struct {
	CaseID   string
	Mediator string
	Title    string
	Session  Session
}
