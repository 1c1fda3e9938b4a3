package casebot

import "time"

// AuditEvent is one entry of a case's append-only audit trail: every change
// and every view of case content. Detail never holds note or email bodies.
type AuditEvent struct {
	CaseID string
	At     time.Time
	Actor  string
	Action string
	Detail string
}

// Change describes what a write does, for the audit trail, and what it sends:
// the store commits the record, the audit event and the outbox messages in
// one transaction, so a notice is queued if and only if its change happened.
type Change struct {
	Actor  string // Slack user ID, an email address, or "casebot"
	Action string // e.g. "case.create", "party.add", "deadline.done"
	Detail string // short, never note or email bodies
	Outbox []OutMessage
}
