package casebot

import (
	"context"
	"time"
)

// DigestService builds a user's digest on demand: the digest command shows
// what the daily digest would send. A nil DigestService means digests are
// off.
type DigestService interface {
	// DigestNow returns user's digest at now, counting party emails since
	// their last digest. It changes nothing; it returns the store's error
	// when the digest cannot be read.
	DigestNow(ctx context.Context, user string, now time.Time) (Digest, error)
}

// Digest is one user's caseload summary at a moment, in their zone (SPEC
// §7): what the daily digest sends and the digest command shows. The
// scheduler builds it; the chat adapter renders it.
type Digest struct {
	User  string
	Admin bool
	At    time.Time
	// Zone is the IANA name of the user's zone, in which "today" and every
	// time are meant ("" is UTC).
	Zone      string
	Since     time.Time // party emails are counted from here
	OpenCases int
	Sessions  []DigestItem // today's, in Zone
	Deadlines []DigestItem // due within 7 days
	Overdue   []DigestItem // the user's; every mediator's for admins
	Emails    []EmailCount
	// Offers are the user's cases with open settlement offers and how
	// many: a count only, offers being caucus material.
	Offers []OfferCount
	Idle   []DigestItem // open cases without activity for 14 days
	Missed []MissedReminder
	// Admins only.
	Quarantine int
	Caseloads  []Caseload // mediators with open cases
	// Purged are the cases purged since Since (When: the purge); PurgeSoon
	// the cases the retention purge takes within records.purge_warning_days
	// (When: the purge's due time), soonest first. Admins only.
	Purged    []DigestItem
	PurgeSoon []DigestItem
}

// DigestItem is one line of a digest: a session, a deadline or a case.
type DigestItem struct {
	CaseID   string
	Title    string
	Mediator string
	Priority Priority
	N        int       // deadline or session number; 0 for a case
	When     time.Time // start, due time, or last activity
	Text     string    // deadline text
	Session  *Session
}

// OfferCount is the number of open offers a case has.
type OfferCount struct {
	CaseID   string
	Title    string
	Priority Priority
	Open     int
}

// EmailCount is the number of party emails a case received.
type EmailCount struct {
	CaseID   string
	Title    string
	Priority Priority
	Count    int
}

// Empty reports whether there is nothing to send: no open cases and nothing
// missed, and for admins also nothing open or quarantined anywhere.
func (d *Digest) Empty() bool {
	if d.OpenCases > 0 || len(d.Missed) > 0 {
		return false
	}
	if d.Admin && (len(d.Overdue) > 0 || d.Quarantine > 0 || len(d.Caseloads) > 0 || len(d.Purged) > 0 || len(d.PurgeSoon) > 0) {
		return false
	}
	return true
}
