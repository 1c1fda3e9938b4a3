package casebot

import (
	"context"
	"time"
)

// MailState is the intake position in one mailbox: every message with a UID
// up to LastUID under UIDValidity is in the store (as a note, in quarantine,
// or deliberately skipped). DoneUID is how far \Seen and the move to the
// processed mailbox have been applied after the commit.
type MailState struct {
	UIDValidity uint32
	LastUID     uint32
	DoneUID     uint32
}

// Quarantine states.
const (
	QuarantinePending  = "pending"
	QuarantineAccepted = "accepted"
	QuarantineRejected = "rejected"
)

// Quarantined is an inbound email that did not become a note: it matched no
// case, came from someone who is not a party of the case it matched, or
// could not be read. N is its mail# for accept and reject.
type Quarantined struct {
	N         uint64
	Reason    string
	From      string
	MessageID string
	Date      time.Time
	// CaseID is the case the message matched, "" when none.
	CaseID   string
	Received time.Time
	State    string
	// Decided, DecidedBy and Note (the "MED-2026-0042#3" it became) are set
	// by accept and reject.
	Decided   time.Time
	DecidedBy string
	Note      string

	// Sealed (encrypted at rest): dropped once the item is decided.
	FromName string
	Subject  string
	Body     string     // the reply text, as a note would keep it
	Email    *EmailMeta // full text, raw message, attachments
}

// MailItem is what became of one fetched message (mail intake tells the store); exactly one of Note,
// Quarantine, Bounce or Skip is set.
type MailItem struct {
	UID uint32
	// DedupeKey identifies the message across UIDs, UIDVALIDITY changes and
	// re-deliveries (Message-ID plus body hash). A key already seen makes
	// the item a duplicate: nothing is stored. "" never de-duplicates.
	DedupeKey string
	// Note is a party's email for its case (CaseID, Author = sender, Body,
	// Email). Ingest checks again inside the transaction that the case
	// exists and the sender is one of its parties, else quarantines it.
	Note *Note
	// Quarantine sets the message aside (N, State and Received are assigned).
	Quarantine *Quarantined
	// Bounce lists addresses that bounced permanently: every case with such
	// a party has it flagged and its mediator told (BounceCase, when set,
	// limits this to one case).
	Bounce     []string
	BounceCase string
	// Skip says why nothing is stored (an auto-reply).
	Skip string
	// Prepared is work the store did on the item ahead of its commit
	// (MailPreparer), opaque to everyone else. A store uses only what it
	// made itself; nil, it does that work when it commits.
	Prepared any
}

// MailPreparer is what a store may offer mail intake besides Ingest: the
// part of an item's work that needs no transaction (the search terms of
// its note), which intake runs on its parse workers, in parallel, so that
// the store's one writer is left only what must be in the transaction.
type MailPreparer interface {
	PrepareMail(it *MailItem)
}

// Ingest outcomes.
const (
	OutcomeNote       = "note"
	OutcomeQuarantine = "quarantine"
	OutcomeDuplicate  = "duplicate"
	OutcomeBounce     = "bounce"
	OutcomeSkip       = "skip"
)

// IngestBatch is one commit of mail intake.
type IngestBatch struct {
	Mailbox     string
	UIDValidity uint32
	// LastUID is the new high-water mark (it never moves back within one
	// UIDVALIDITY).
	LastUID uint32
	// DoneUID, when set, records with the batch (as MailDone would) that
	// \Seen and the move were applied up to it under UIDValidity.
	DoneUID uint32
	Items   []MailItem
	// NoticeFeed, when set, records each new party note in the store's
	// notice feed in the same transaction, from which the outbox worker
	// queues the Slack notice to the case's mediator (one per note) at the
	// pace the mediator's queue drains.
	NoticeFeed bool
}

// ItemResult is what Ingest did with one item.
type ItemResult struct {
	UID     uint32
	Outcome string // one of the Outcome* constants
	CaseID  string // the note's case, or the quarantined item's matched case
	N       int    // note number
	Mail    uint64 // mail# of a quarantined item
	Reason  string // why it was quarantined or skipped
}

// QuarantineService keeps the inbound emails that did not become notes
// (Quarantined) until someone accepts or rejects them: what the quarantine,
// accept and reject commands need. A nil QuarantineService means mail
// intake is off.
type QuarantineService interface {
	// Quarantine returns the quarantined emails, oldest first: only pending
	// ones unless all is set. Bodies and raw messages are left out.
	Quarantine(ctx context.Context, all bool) ([]Quarantined, error)
	// QuarantineItem returns one quarantined email with its body, or an
	// error with code ENOTFOUND.
	QuarantineItem(ctx context.Context, n uint64) (*Quarantined, error)
	// AcceptMail files pending email n under case caseID as a note from its
	// sender, with an audit event, and marks it accepted; with notify the
	// case's mediator is told of the note. check, when set, runs inside the
	// transaction with the item and the case and may refuse. It returns the
	// note; ENOTFOUND for an unknown item or case, ECONFLICT for an item
	// already decided.
	AcceptMail(ctx context.Context, n uint64, caseID, actor string, check func(q *Quarantined, c *Case) error, notify bool) (*Note, error)
	// RejectMail marks pending email n rejected and deletes its content.
	// check, when set, runs inside the transaction and may refuse. It
	// returns ENOTFOUND for an unknown item, ECONFLICT for one already
	// decided.
	RejectMail(ctx context.Context, n uint64, actor string, check func(q *Quarantined) error) error
}
