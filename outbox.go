package casebot

import "time"

// Action IDs of the buttons offered with replies and notices
// (Button.ActionID). The bot turns a press back into the command it stands
// for, so a press is checked like that command. Slack echoes these strings
// back, also for messages sent before an upgrade: never change them.
const (
	ActionShowCase     = "show_case"     // value: case ID; "show <ID>"
	ActionDeadlineDone = "deadline_done" // value: "<ID>/<deadline#>"; "done <ID> <n>"
	ActionMailAccept   = "mail_accept"   // value: "17/MED-2026-0042"; "accept 17 MED-2026-0042"
	ActionMailReject   = "mail_reject"   // value: "17"; "reject 17"
	ActionListPage     = "list_page"     // value: "all/2"; "list all page 2"
)

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
	// DocumentRequest returns the email asking the parties of c with role
	// (not bouncing) for a document, what, by due; key makes the messages
	// idempotent as for CaseMail. An empty list when no party qualifies.
	DocumentRequest(c *Case, role Role, due time.Time, what, key string) ([]OutMessage, error)
}

// Outbox message kinds.
const (
	OutSlack = "slack" // a direct message to a Slack user
	OutEmail = "email" // an email to a party
)

// Button is an action offered with a Slack notice.
type Button struct {
	ActionID string // e.g. "deadline_done", "show_case"
	Label    string
	Value    string // e.g. "MED-2026-0042/3"
}

// OutMessage is something the daemon sends on its own, queued in the
// persistent outbox and delivered by a worker with retries. Key makes
// enqueuing idempotent: a second message with the same Key is dropped.
type OutMessage struct {
	ID        uint64 // assigned by the store, increasing
	Key       string
	Kind      string // OutSlack or OutEmail
	To        string // Slack user ID or email address; order is kept per recipient
	ToName    string
	CaseID    string
	Subject   string
	Text      string
	Buttons   []Button
	MessageID string // for email: the Message-ID the store remembers
	InReplyTo string
	// Calendar is an iCalendar attachment (invitations and cancellations).
	Calendar []byte
	// Attach are documents of CaseID (doc#) to attach to an email. The
	// message carries their numbers, not their bytes: the sender reads
	// them when it sends, and fails the message for good when one is gone.
	Attach []int
	// Auto marks automatic mail (reminders): Auto-Submitted: auto-generated.
	Auto      bool
	Created   time.Time
	Attempts  int
	NextTry   time.Time
	LastError string

	// Notice, when set, is what a Slack message says, as values: the
	// sender renders it in its words (Text and Buttons stay empty).
	// Messages queued before notices existed carry Text only.
	Notice *Notice
}
