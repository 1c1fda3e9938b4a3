package casebot

import "context"

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
