package casebot

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Home is what a user's Slack App Home shows (SPEC §9): their digest as of
// now (overdue deadlines, today's sessions, the next 7 days' deadlines,
// party emails since their last digest; for admins the quarantine count and
// the caseload balance) and their open cases, most urgent first. It is a
// view of the domain built by a HomeService; the Slack transport renders
// it. It never holds a case the user may not see (Actor.CanSee).
type Home struct {
	// Digest's Overdue holds at most HomeOverdueShown deadlines, the most
	// urgent; OverdueTotal counts them all.
	Digest
	OverdueTotal int
	// Cases are the user's open cases, most urgent first (the list's
	// order: priority, then the earliest open deadline, then the ID), at
	// most HomeCasesShown of them; Digest's OpenCases counts them all.
	Cases []HomeCase
}

// HomeOverdueShown is how many overdue deadlines a Home lists one by one
// (each with Mark met); the rest are counted.
const HomeOverdueShown = 15

// HomeCasesShown is how many open cases a Home holds one by one: a Slack
// view has at most 100 blocks, so no more could be listed; the rest are
// counted (Digest.OpenCases) and listed by a button.
const HomeCasesShown = 100

// HomeCase is one open case on a Home.
type HomeCase struct {
	ID       string
	Title    string
	Priority Priority
	Status   Status
	// Next is the case's earliest unmet deadline, zero when it has none.
	Next Deadline
}

// HomeService builds a user's Home and lists the cases a form may name.
// A nil HomeService means the Slack Home is off.
type HomeService interface {
	// HomeNow returns user's Home at now, in their zone. It changes
	// nothing; it returns the store's error when the Home cannot be read.
	HomeNow(ctx context.Context, user string, now time.Time) (Home, error)
	// OpenCases returns the open cases user may change whose ID or title
	// contains query (case aside; every case when query is empty), most
	// urgent first, at most limit (0: no limit).
	OpenCases(ctx context.Context, user, query string, limit int) ([]HomeCase, error)
}

// ActionListCases is the action ID of Home's "and N more" button (value:
// "mine"); it stands for "list mine".
const ActionListCases = "list_cases"

// ActionOpenForm is the action ID of a button that opens a form (the
// Slack transport opens it); its value names the form's command and, after
// a slash, the case: "party add/MED-2026-0042", or "new".
const ActionOpenForm = "open_form"

// OutHome is the outbox kind of a Home refresh: the sender builds the
// recipient's Home as it is when the message goes out and publishes it
// (views.publish). One message stands for every change to the user's cases
// in one HomeSlot, so a burst of changes costs one publish.
const OutHome = "slack_home"

// HomeSlot is how often, at most, a user's Home is republished because
// their cases changed.
const HomeSlot = 3 * time.Second

// homeTo prefixes a Home refresh's recipient, so that it queues apart from
// the user's direct messages (the outbox keeps order per recipient).
const homeTo = "home:"

// HomeRefresh returns the outbox message that republishes user's Home
// after a change at at: keyed by user and time slot (so every change in
// one slot is one message) and due at the slot's end (so it shows all of
// them). Enqueue it with the change; a pending key is dropped.
func HomeRefresh(user string, at time.Time) OutMessage {
	slot := at.Truncate(HomeSlot)
	return OutMessage{
		Kind:    OutHome,
		Key:     "home/" + user + "/" + strconv.FormatInt(slot.Unix(), 10),
		To:      homeTo + user,
		Created: at,
		NextTry: slot.Add(HomeSlot),
	}
}

// HomeUser returns the Slack user whose Home a Home refresh's recipient
// names, or false for another recipient.
func HomeUser(to string) (string, bool) {
	u, ok := strings.CutPrefix(to, homeTo)
	return u, ok && u != ""
}

// caseIDInText finds a case ID among the words of a message.
var caseIDInText = regexp.MustCompile(`(?i)\b[A-Z][A-Z0-9]{0,9}-\d{4}-\d{4,}\b`)

// FindCaseID returns the first case ID a message names (upper-cased), or
// false when it names none.
func FindCaseID(text string) (string, bool) {
	m := caseIDInText.FindString(text)
	if m == "" {
		return "", false
	}
	return strings.ToUpper(m), true
}
