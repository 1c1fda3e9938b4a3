package casebot

import "time"

// Session invitation methods (iCalendar METHOD).
const (
	MethodRequest = "REQUEST" // a new or rescheduled session
	MethodCancel  = "CANCEL"  // a cancelled session
)

// Composer builds outbound case email as outbox messages, so that commands
// and the scheduler can queue mail in the same transaction as the change
// that causes it without knowing how mail is built. It is implemented in
// mail/; a nil Composer means outbound mail is off.
type Composer interface {
	// CaseMail returns one message per party of c whose role is in roles (every
	// role when roles is empty), skipping addresses flagged as bouncing. key
	// makes the messages idempotent in the outbox (it is extended per
	// recipient). auto marks automatic mail (reminders).
	CaseMail(c *Case, roles []Role, subject, text string, auto bool, key string) ([]OutMessage, error)
	// Invitation returns a session's invitation (MethodRequest, carrying
	// Session.Sequence) or cancellation (MethodCancel) to every party.
	Invitation(c *Case, s Session, method string) ([]OutMessage, error)
	// SessionReminder returns the parties' reminder email offset before
	// session s of c (automatic mail, skipping bouncing addresses); key
	// makes the messages idempotent as for CaseMail.
	SessionReminder(c *Case, s Session, offset time.Duration, key string) ([]OutMessage, error)
}
