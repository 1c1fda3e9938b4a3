// Package casebot holds the domain of casebot: cases and what belongs to them,
// their validation, the access rules and the error codes. It imports no
// storage, Slack or mail library; the adapters in store/, bot/, mail/ and
// scheduler/ speak to each other through these types.
package casebot

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Status is where a case stands.
type Status string

// Case statuses; the last four are closed.
const (
	StatusIntake    Status = "intake"
	StatusScheduled Status = "scheduled"
	StatusActive    Status = "active"
	StatusSettled   Status = "settled"
	StatusPartial   Status = "partial"
	StatusImpasse   Status = "impasse"
	StatusWithdrawn Status = "withdrawn"
)

// Statuses lists every status in workflow order.
var Statuses = []Status{StatusIntake, StatusScheduled, StatusActive, StatusSettled, StatusPartial, StatusImpasse, StatusWithdrawn}

// Closed reports whether s ends a case.
func (s Status) Closed() bool {
	switch s {
	case StatusSettled, StatusPartial, StatusImpasse, StatusWithdrawn:
		return true
	}
	return false
}

// ParseStatus returns the status named s or an EINVALID error listing them.
func ParseStatus(s string) (Status, error) { return parseEnum("status", s, Statuses) }

// Priority orders cases by urgency.
type Priority string

// Priorities.
const (
	PriorityLow    Priority = "low"
	PriorityNormal Priority = "normal"
	PriorityHigh   Priority = "high"
	PriorityUrgent Priority = "urgent"
)

// Priorities lists every priority from least to most urgent.
var Priorities = []Priority{PriorityLow, PriorityNormal, PriorityHigh, PriorityUrgent}

// Rank returns 0 (low) to 3 (urgent); larger is more urgent.
func (p Priority) Rank() int {
	for i, q := range Priorities {
		if p == q {
			return i
		}
	}
	return 1
}

// ParsePriority returns the priority named s or an EINVALID error.
func ParsePriority(s string) (Priority, error) { return parseEnum("priority", s, Priorities) }

// parseEnum returns the member of all spelled s, case aside, or an EINVALID
// error naming what was expected and listing all.
func parseEnum[T ~string](what, s string, all []T) (T, error) {
	lower := strings.ToLower(s)
	for _, v := range all {
		if string(v) == lower {
			return v, nil
		}
	}
	return "", Errorf(EINVALID, "%q is not a %s; use one of %s.", s, what, joinStrings(all))
}

func joinStrings[T ~string](xs []T) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = string(x)
	}
	return strings.Join(s, ", ")
}

// Limits on user-supplied text, in characters. CheckLength words the one
// message for each; the command parser checks them through it too.
const (
	MaxTitleLen  = 200
	MaxTypeLen   = 50    // a case's type (--type)
	MaxSourceLen = 50    // a case's referral source (--source)
	MaxWhereLen  = 200   // a session's place (--where)
	MaxTextLen   = 10000 // a note, deadline text or email typed in Slack
	MaxNameLen   = 200
)

// CheckLength returns an EINVALID error, worded alike for every limit, when s
// is longer than limit characters, and nil otherwise; what names the field in
// the message (e.g. "title").
func CheckLength(what, s string, limit int) error {
	if n := utf8.RuneCountInString(s); n > limit {
		return Errorf(EINVALID, "The %s is %d characters; at most %d are allowed.", what, n, limit)
	}
	return nil
}

// Case is a dispute under mediation. Notes and the audit trail are stored
// beside it, not inside it, since they grow without bound.
type Case struct {
	ID    string
	Title string
	Type  string
	// Source is the referral source (court, agency, self, …) reports group by.
	Source   string `json:",omitempty"`
	Priority Priority
	Status   Status
	Mediator string // Slack user ID
	// CoMediators share the case with its mediator (assign +USER): they
	// see and change it and get its reminders, notices and digest items.
	CoMediators []string `json:",omitempty"`
	// Token is the per-case secret carried in the Reply-To plus address.
	Token     string
	Parties   []Party
	Deadlines []Deadline
	Sessions  []Session
	// Poll is the case's open availability poll, nil when none.
	Poll *Poll `json:",omitempty"`
	// Outcome and OutcomeText are set by close.
	Outcome     Status
	OutcomeText string
	CreatedBy   string
	Created     time.Time
	Updated     time.Time
	Closed      time.Time
	// Activity is the time of the last change or note (for "no activity" digests).
	Activity time.Time
	// NoteCount is the number of notes; the next note is NoteCount+1.
	NoteCount int
	// Hold keeps a closed case from purge (records.go).
	Hold bool `json:",omitempty"`
	// Purged is set once the case's content was destroyed: what stays is a
	// record for statistics (records.go).
	Purged *PurgeInfo `json:",omitempty"`
}

// Open reports whether the case is not closed.
func (c *Case) Open() bool { return !c.Status.Closed() }

// Validate checks the fields a user supplies when opening a case.
func (c *Case) Validate() error {
	title := strings.TrimSpace(c.Title)
	if title == "" {
		return Errorf(EINVALID, "A case needs a title.")
	}
	if err := CheckLength("title", title, MaxTitleLen); err != nil {
		return err
	}
	if err := CheckLength("type", c.Type, MaxTypeLen); err != nil {
		return err
	}
	if err := CheckLength("source", c.Source, MaxSourceLen); err != nil {
		return err
	}
	if c.Mediator == "" {
		return Errorf(EINVALID, "A case needs a mediator.")
	}
	if _, err := ParsePriority(string(c.Priority)); err != nil {
		return err
	}
	if _, err := ParseStatus(string(c.Status)); err != nil {
		return err
	}
	return nil
}

// ValidateText checks free text (notes, deadline text) typed by a user.
func ValidateText(what, s string) error {
	if strings.TrimSpace(s) == "" {
		return Errorf(EINVALID, "The %s is empty.", what)
	}
	return CheckLength(what, s, MaxTextLen)
}

// CaseIDPattern matches case IDs: <prefix>-<year>-<4+ digit sequence>.
var CaseIDPattern = regexp.MustCompile(`^([A-Z][A-Z0-9]{0,9})-(\d{4})-(\d{4,})$`)

// FormatCaseID builds a case ID such as MED-2026-0042.
func FormatCaseID(prefix string, year int, seq uint64) string {
	return fmt.Sprintf("%s-%04d-%04d", prefix, year, seq)
}

// NormalizeCaseID upper-cases a typed case ID and checks its shape.
func NormalizeCaseID(s string) (string, error) {
	id := strings.ToUpper(strings.TrimSpace(s))
	if !CaseIDPattern.MatchString(id) {
		return "", Errorf(EINVALID, "%q is not a case ID (like MED-2026-0042).", s)
	}
	return id, nil
}

// Party returns the index of the party with the normalised email, or -1.
func (c *Case) Party(email string) int {
	e := strings.ToLower(strings.TrimSpace(email))
	for i, p := range c.Parties {
		if p.Email == e {
			return i
		}
	}
	return -1
}

// OpenDeadlines returns the unmet deadlines, earliest first.
func (c *Case) OpenDeadlines() []Deadline {
	var ds []Deadline
	for _, d := range c.Deadlines {
		if !d.Met {
			ds = append(ds, d)
		}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].Due.Before(ds[j].Due) })
	return ds
}

// CaseFilter selects cases for Cases.
type CaseFilter struct {
	Mediator string // "" for any mediator
	// State is "open" (default), "closed" or "all".
	State string
	// Limit caps the result; 0 means no limit.
	Limit int
}

// Caseload is one mediator's open cases by priority, for assign auto.
// Open and ByPriority count every open case they mediate or co-mediate;
// Shared counts, by priority, those of them shared with a co-mediator,
// which weigh half a case each in the balance (CaseloadWeight).
type Caseload struct {
	Mediator   string
	ByPriority map[Priority]int
	Open       int
	Shared     map[Priority]int
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
	// DocumentStore keeps each case's documents (document.go).
	DocumentStore
	// OfferStore keeps each case's settlement offers (offer.go).
	OfferStore
	// DocumentFiler files documents casebot makes (agreement.go).
	DocumentFiler
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
	// CaseRecords returns the case with its notes and newest documents,
	// read together (see CaseRecords); see is asked about the case first,
	// and an error from it is returned as is, with nothing more read.
	CaseRecords(ctx context.Context, id string, newestDocs int, see func(*Case) error) (CaseRecords, error)
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
	// Search returns the notes holding every word (whole words, case
	// aside, in the body, email subject or attachment names) from the cases
	// the actor may see (Actor.CanSee), newest first, at most limit, through
	// the search index.
	Search(ctx context.Context, words []string, actor Actor, limit int) ([]NoteHit, error)
	// Overdue returns unmet deadlines due before now of open cases, for one
	// mediator or ("") all, through the deadline time index.
	Overdue(ctx context.Context, now time.Time, mediator string) ([]DeadlineRef, error)
	// Caseloads returns the open caseload of every mediator who has a case.
	Caseloads(ctx context.Context) ([]Caseload, error)
	// Stats returns caseload figures at now.
	Stats(ctx context.Context, now time.Time) (Stats, error)
	// InsightStore pages, searches and reports (insight.go).
	InsightStore
}

// CaseRecords is a case with what show lists of it, read in one
// transaction: its notes in order and its newest documents, newest
// first, with how many documents it has.
type CaseRecords struct {
	Case          *Case
	Notes         []*Note
	Documents     []Document
	DocumentCount int
}
