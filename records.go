package casebot

import (
	"context"
	"time"
)

// PurgedTitle replaces the title of a purged case: a title often names the
// parties ("Smith v. Jones"), so it goes with the content.
const PurgedTitle = "(purged)"

// PurgeInfo is what a purge leaves of a case's content besides the
// statistics fields of the case record: when it went, at whose hand
// ("casebot" for the retention purge), and how many parties, deadlines and
// sessions there were (NoteCount keeps the number of notes).
type PurgeInfo struct {
	At        time.Time
	By        string
	Parties   int
	Deadlines int
	Sessions  int
}

// CanPurge returns nil when the case's content may be destroyed now, else
// an ECONFLICT error saying why not: the case is open, on hold, or purged
// already.
func (c *Case) CanPurge() error {
	switch {
	case c.Purged != nil:
		return Errorf(ECONFLICT, "%s was already purged on %s.", c.ID, c.Purged.At.Format(time.DateOnly))
	case c.Open():
		return Errorf(ECONFLICT, "%s is open (%s); only a closed case can be purged.", c.ID, c.Status)
	case c.Hold:
		return Errorf(ECONFLICT, "%s is on hold; release it with hold %s off before purging it.", c.ID, c.ID)
	}
	return nil
}

// Purge strips the case record down to its statistics record (SPEC §10):
// ID, type, priority, status and outcome, mediator, creator, dates and
// counts stay; the title, the outcome text, the parties (names and
// addresses), deadlines and sessions go. The caller checks CanPurge first.
func (c *Case) Purge(now time.Time, by string) {
	c.Purged = &PurgeInfo{At: now, By: by, Parties: len(c.Parties), Deadlines: len(c.Deadlines), Sessions: len(c.Sessions)}
	c.Title, c.OutcomeText = PurgedTitle, ""
	c.Parties, c.Deadlines, c.Sessions = nil, nil, nil
}

// PurgeDue returns when the retention purge takes the case's content: its
// closing time plus retainDays days. It returns the zero time when nothing
// is due: retention off (retainDays <= 0), or the case open, held or purged.
func (c *Case) PurgeDue(retainDays int) time.Time {
	if retainDays <= 0 || c.Open() || c.Hold || c.Purged != nil || c.Closed.IsZero() {
		return time.Time{}
	}
	return c.Closed.AddDate(0, 0, retainDays)
}

// Anonymize returns the actor of an audit event as a purged trail keeps it:
// Slack user IDs and "casebot" stay, an email address (a party's) becomes
// "party".
func Anonymize(actor string) string {
	for i := 0; i < len(actor); i++ {
		if actor[i] == '@' {
			return "party"
		}
	}
	return actor
}

// ErrPurged is the ECONFLICT error for a change to a purged case.
func ErrPurged(id string) error {
	return Errorf(ECONFLICT, "%s was purged: its content is gone and it can no longer change.", id)
}

// SetHold puts the case on hold (on) or releases it, and returns the
// change for the audit trail ("case.hold" or "case.release"); ECONFLICT
// when it already is so.
func (c *Case) SetHold(on bool) (Change, error) {
	if c.Hold == on {
		if on {
			return Change{}, Errorf(ECONFLICT, "%s is already on hold.", c.ID)
		}
		return Change{}, Errorf(ECONFLICT, "%s is not on hold.", c.ID)
	}
	c.Hold = on
	if on {
		return Change{Action: "case.hold", Detail: "kept from purge"}, nil
	}
	return Change{Action: "case.release", Detail: "hold released"}, nil
}

// Purger destroys closed cases' content for good (SPEC §10); store.DB
// implements it.
type Purger interface {
	// PurgeCase destroys the content of case id at actor's request and
	// returns what stays of the case. It returns an ENOTFOUND error for a
	// missing case and an ECONFLICT error (nothing changed) for an open,
	// held or already purged one.
	PurgeCase(ctx context.Context, id, actor string) (*Case, error)
	// PurgeExpired purges, as actor, every closed case not on hold that
	// closed before closedBefore, in short batches, recording why in each
	// case.purge event. It returns the IDs purged, also when it stops early
	// on an error.
	PurgeExpired(ctx context.Context, closedBefore time.Time, actor, why string) ([]string, error)
}
