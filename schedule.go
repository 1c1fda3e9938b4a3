package casebot

import "time"

// Reminder is a batch of outbox messages about one deadline or session, to
// be queued only if that item is still pending exactly as it was when the
// messages were built: the deadline unmet with the same due time, the
// session live with the same start and sequence, the case open, and, for
// each email, its recipient still a party of the case. The scheduler builds
// reminders; the store checks the guard and queues them in one transaction.
type Reminder struct {
	CaseID string
	// Deadline is the number of the deadline the messages are about, or 0.
	Deadline int
	// Session is the number of the session the messages are about, or 0.
	Session int
	// Due is the deadline's due time or the session's start the messages
	// were built from.
	Due time.Time
	// Sequence is the session's sequence the messages were built from.
	Sequence int
	Msgs     []OutMessage
}

// MissedReminder is a reminder or digest that fell due while the daemon was
// down, longer ago than schedule.catchup, and so is listed in the user's
// next digest instead of being sent.
type MissedReminder struct {
	Key    string // the outbox key it would have had
	User   string // whose digest lists it
	CaseID string // "" for a missed digest
	What   string // e.g. "reminder: deadline #2 due in 7 days"
	Fire   time.Time
}

// ReminderBatch is one step of the scheduler's scan: the reminders that fell
// due in the window (From, To] and those found missed. The store commits it
// in one transaction together with the new scan mark To, refusing it with
// ECONFLICT when its stored mark is not From.
type ReminderBatch struct {
	From, To  time.Time
	Reminders []Reminder
	Missed    []MissedReminder
}

// DigestMark is what the scheduler remembers of one user's digests.
type DigestMark struct {
	// Handled is the last digest fire time dealt with (sent, found empty, or
	// listed as missed).
	Handled time.Time
	// Sent is when the user's last digest was queued ("since the last digest").
	Sent time.Time
}

// ScheduleState is the scheduler's persistent state.
type ScheduleState struct {
	// ScannedTo is the end of the last committed reminder scan; zero before
	// the first.
	ScannedTo time.Time
	// Digests maps a user ID to its digest mark.
	Digests map[string]DigestMark
}

// DigestCommit records one user's digest fire: the digest message (nil when
// there was nothing to report), the missed entries it listed (now cleared),
// and entries for digests found missed.
type DigestCommit struct {
	User string
	Fire time.Time
	Msg  *OutMessage
	// Clear are the keys of the missed entries the digest listed.
	Clear []string
	// Missed are newly found missed digests, for the next digest.
	Missed []MissedReminder
}
