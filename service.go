package casebot

import (
	"context"
	"time"
)

// Change describes what a write does, for the audit trail, and what it sends:
// the store commits the record, the audit event and the outbox messages in
// one transaction, so a notice is queued if and only if its change happened.
type Change struct {
	Actor  string // Slack user ID, an email address, or "casebot"
	Action string // e.g. "case.create", "party.add", "deadline.done"
	Detail string // short, never note or email bodies
	Outbox []OutMessage
}

// CaseFilter selects cases for Cases.
type CaseFilter struct {
	Mediator string // "" for any mediator
	// State is "open" (default), "closed" or "all".
	State string
	// Limit caps the result; 0 means no limit.
	Limit int
}

// PartyMatch is one appearance of a person in a case, for conflict checks.
type PartyMatch struct {
	CaseID   string
	Mediator string
	Status   Status
	Title    string
	Party    Party
}

// DeadlineRef is a deadline with its case, for overdue lists and reminders.
type DeadlineRef struct {
	CaseID   string
	Mediator string
	Priority Priority
	Title    string
	Deadline Deadline
}

// NoteHit is a note matching a search.
type NoteHit struct {
	Note    *Note
	Snippet string
}

// Caseload is one mediator's open cases by priority, for assign auto.
type Caseload struct {
	Mediator   string
	ByPriority map[Priority]int
	Open       int
}

// Stats are caseload figures.
type Stats struct {
	OpenByStatus   map[Status]int
	OpenByPriority map[Priority]int
	Closed         int
	Settled        int // settled or partial
	Overdue        int
	// MedianDaysToClose is over closed cases; 0 when none closed.
	MedianDaysToClose float64
}

// CaseStore is what the command language needs of storage. Every write takes
// effect with its audit event and outbox messages in one transaction or not
// at all. Reads copy data out; callers may keep what they get.
type CaseStore interface {
	// CreateCase stores a new case, giving it an ID (never reused, even across
	// crashes), a secret token and its timestamps. It returns the stored case.
	CreateCase(ctx context.Context, c *Case, ch Change) (*Case, error)
	// Case returns the case or an error with code ENOTFOUND.
	Case(ctx context.Context, id string) (*Case, error)
	// UpdateCase reads the case, lets fn change it and commits the change with
	// the Change fn returns. An error from fn aborts with nothing stored.
	UpdateCase(ctx context.Context, id string, fn func(c *Case) (Change, error)) (*Case, error)
	// Cases lists cases through the mediator and status indexes.
	Cases(ctx context.Context, f CaseFilter) ([]*Case, error)
	// AddNote appends a note to its case, numbering it, and touches the case.
	AddNote(ctx context.Context, n *Note, ch Change) (*Note, error)
	// Notes returns the notes of a case in order.
	Notes(ctx context.Context, caseID string) ([]*Note, error)
	// Audit returns the case's audit trail in order.
	Audit(ctx context.Context, caseID string) ([]AuditEvent, error)
	// RecordView appends a view of case content to the audit trail.
	RecordView(ctx context.Context, caseID, actor, what string) error
	// RecordViews appends the same view to the trails of several cases in
	// one transaction (a conflict check or a search spanning many cases).
	RecordViews(ctx context.Context, caseIDs []string, actor, what string) error
	// FindParty returns every appearance of a person, by normalised email when
	// query is an email address, else by normalised name.
	FindParty(ctx context.Context, query string) ([]PartyMatch, error)
	// Search returns notes containing every word (case-insensitive) from the
	// cases for which visible returns true, newest first, at most limit.
	Search(ctx context.Context, words []string, visible func(*Case) bool, limit int) ([]NoteHit, error)
	// Overdue returns unmet deadlines due before now of open cases, for one
	// mediator or ("") all, through the deadline time index.
	Overdue(ctx context.Context, now time.Time, mediator string) ([]DeadlineRef, error)
	// Caseloads returns the open caseload of every mediator who has a case.
	Caseloads(ctx context.Context) ([]Caseload, error)
	// Stats returns caseload figures at now.
	Stats(ctx context.Context, now time.Time) (Stats, error)
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
