package casebot

import (
	"strings"
	"time"
	"unicode/utf8"
)

// AuditEvent is one entry of a case's append-only audit trail: every change
// and every view of case content. Detail and About never hold note or email
// bodies, only what names the thing the event was about.
type AuditEvent struct {
	CaseID string
	At     time.Time
	Actor  string
	Action string
	Detail string
	// About names what the event was about; it is zero in events recorded
	// before it existed, which keep only Action and Detail.
	About About
}

// About names what an audit event was about, as facts the timeline renders
// in its reader's words and zone: the deadline's text and due time, the
// session's title and time, the note's first line, the email's sender and
// subject. Texts are short (see Headline), never a whole note or email body.
type About struct {
	N       int           // the deadline, session, note or quarantined mail number
	When    time.Time     // a deadline's due time or a session's start
	Length  time.Duration // a session's length
	Who     string        // a party, an email's sender or recipients, a mediator
	Text    string        // a deadline's text, a session's title, a note's first line, an email's subject, a status, what was viewed
	Private bool          // about a private (caucus) note
}

// IsZero reports whether a names nothing, as in events recorded before
// About existed.
func (a About) IsZero() bool {
	return a.N == 0 && a.When.IsZero() && a.Length == 0 && a.Who == "" && a.Text == "" && !a.Private
}

// HeadlineRunes is how long a text in an audit event may be (a note's
// first line, a subject, a title), in runes, before Headline cuts it.
const HeadlineRunes = 80

// Headline returns the first non-blank line of s with its whitespace
// folded, cut to HeadlineRunes runes ending in "…" when it is longer.
func Headline(s string) string {
	for line := range strings.Lines(s) {
		line = strings.Join(strings.Fields(line), " ")
		if line == "" {
			continue
		}
		return cut(line, HeadlineRunes)
	}
	return ""
}

// cut shortens s to at most n runes, the last of them "…" when cut.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, k := 0, 0
	for i = range s {
		if k == n-1 {
			break
		}
		k++
	}
	return strings.TrimRight(s[:i], " ") + "…"
}

// NoteAbout names a note for the audit trail: its number, whether it is
// private, and for an email its sender and subject, else its first line.
func NoteAbout(n *Note) About {
	a := About{N: n.N, Private: n.Private}
	if n.Email != nil {
		from := n.Email.From
		if from == "" {
			from = n.Author
		}
		a.Who, a.Text = Mailbox(n.Email.FromName, from), Headline(n.Email.Subject)
		return a
	}
	a.Text = Headline(n.Body)
	return a
}

// Mailbox names an email address for the audit trail: "Ann Lee
// <ann@example.com>", or the address alone when there is no name, cut to
// HeadlineRunes.
func Mailbox(name, addr string) string {
	name = strings.Join(strings.Fields(name), " ")
	if name == "" {
		return cut(addr, HeadlineRunes)
	}
	return cut(name+" <"+addr+">", HeadlineRunes)
}

// Change describes what a write does, for the audit trail, and what it sends:
// the store commits the record, the audit event and the outbox messages in
// one transaction, so a notice is queued if and only if its change happened.
type Change struct {
	Actor  string // Slack user ID, an email address, or "casebot"
	Action string // e.g. "case.create", "party.add", "deadline.done"
	Detail string // short, never note or email bodies
	About  About  // what the change was about, for the timeline
	Outbox []OutMessage
}
