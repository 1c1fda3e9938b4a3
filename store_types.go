package casebot

// SessionRef is a session with its case, for reminders and digests.
type SessionRef struct {
	CaseID   string
	Mediator string
	Title    string
	Session  Session
}
