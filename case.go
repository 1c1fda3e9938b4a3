// Package casebot holds the domain of casebot: cases and what belongs to them,
// their validation, the access rules and the error codes. It imports no
// storage, Slack or mail library; the adapters in store/, bot/, mail/ and
// scheduler/ speak to each other through these types.
package casebot

import (
	"fmt"
	"net/mail"
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

// Role is a party's part in a case.
type Role string

// Party roles.
const (
	RoleClaimant    Role = "claimant"
	RoleRespondent  Role = "respondent"
	RoleCounsel     Role = "counsel"
	RoleInterpreter Role = "interpreter"
	RoleObserver    Role = "observer"
	RoleOther       Role = "other"
)

// Roles lists every party role.
var Roles = []Role{RoleClaimant, RoleRespondent, RoleCounsel, RoleInterpreter, RoleObserver, RoleOther}

// ParseRole returns the role named s or an EINVALID error.
func ParseRole(s string) (Role, error) { return parseEnum("role", s, Roles) }

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
	MaxTitleLen = 200
	MaxTypeLen  = 50    // a case's type (--type)
	MaxWhereLen = 200   // a session's place (--where)
	MaxTextLen  = 10000 // a note, deadline text or email typed in Slack
	MaxNameLen  = 200
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
	ID       string
	Title    string
	Type     string
	Priority Priority
	Status   Status
	Mediator string // Slack user ID
	// Token is the per-case secret carried in the Reply-To plus address.
	Token     string
	Parties   []Party
	Deadlines []Deadline
	Sessions  []Session
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
}

// Open reports whether the case is not closed.
func (c *Case) Open() bool { return !c.Status.Closed() }

// Party is a person in a case. Parties receive case email.
type Party struct {
	Role  Role
	Name  string
	Email string // normalised with NormalizeEmail
	// Bouncing is set when mail to the address bounced; no mail goes to it until cleared.
	Bouncing bool
	Added    time.Time
}

// Deadline is something due in a case. N numbers deadlines from 1 within a case.
type Deadline struct {
	N       int
	Due     time.Time
	Text    string
	Met     bool
	MetAt   time.Time
	MetBy   string
	Created time.Time
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

// NoteSource says where a note came from.
type NoteSource string

// Note sources.
const (
	SourceSlack NoteSource = "slack"
	SourceEmail NoteSource = "email"
)

// Note is an entry in a case's record: typed by the mediator or a party's
// email reply. Private notes are caucus notes, never sent to parties.
type Note struct {
	CaseID  string
	N       int
	Author  string // Slack user ID, or the sender's email for email notes
	Source  NoteSource
	Private bool
	Body    string
	Created time.Time
	// Email is set for notes that came from a party's email.
	Email *EmailMeta
}

// EmailMeta is what a note keeps of the email it came from.
type EmailMeta struct {
	From        string
	FromName    string
	Subject     string
	MessageID   string
	Date        time.Time
	FullText    string // the whole text before reply extraction
	Raw         []byte // the raw message, for the record
	Attachments []Attachment
}

// Attachment is a file that came with an email.
type Attachment struct {
	Name      string
	Type      string
	Size      int64
	SHA256    string // hex
	Content   []byte // up to the configured limit
	Truncated bool
}

// AuditEvent is one entry of a case's append-only audit trail: every change
// and every view of case content. Detail never holds note or email bodies.
type AuditEvent struct {
	CaseID string
	At     time.Time
	Actor  string
	Action string
	Detail string
}

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

// Validate checks a party's role, name and email.
func (p *Party) Validate() error {
	if _, err := ParseRole(string(p.Role)); err != nil {
		return err
	}
	if strings.TrimSpace(p.Name) == "" {
		return Errorf(EINVALID, "A party needs a name.")
	}
	if err := CheckLength("name", p.Name, MaxNameLen); err != nil {
		return err
	}
	if _, err := NormalizeEmail(p.Email); err != nil {
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

var emailLocal = regexp.MustCompile(`^[A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+$`)
var emailDomain = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$`)

// NormalizeEmail returns the address lower-cased and trimmed, or an EINVALID
// error when it is not a plain addr-spec (no display name, no spaces).
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	bad := Errorf(EINVALID, "%q is not a valid email address.", s)
	if len(s) > 254 || strings.ContainsAny(s, " \t\r\n<>\"") {
		return "", bad
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return "", bad
	}
	local, domain := s[:at], s[at+1:]
	if len(local) > 64 || !emailLocal.MatchString(local) || strings.HasPrefix(local, ".") ||
		strings.HasSuffix(local, ".") || strings.Contains(local, "..") || !emailDomain.MatchString(domain) {
		return "", bad
	}
	if a, err := mail.ParseAddress(s); err != nil || a.Address != s {
		return "", bad
	}
	return strings.ToLower(s), nil
}

// NormalizeName folds a person's name for conflict checks: lower case,
// punctuation dropped, words sorted, so "Smith, John" matches "John Smith".
func NormalizeName(s string) string {
	f := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r == '\'' || r == '-' || isLetterOrDigit(r))
	})
	sort.Strings(f)
	return strings.Join(f, " ")
}

func isLetterOrDigit(r rune) bool {
	return r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r > 127 && !isSpaceOrPunct(r)
}

func isSpaceOrPunct(r rune) bool {
	return strings.ContainsRune(" \u00a0\u2000\u2001\u2002\u2003\u2009\u200b.,;:!?()[]{}\"«»“”‘’", r)
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
