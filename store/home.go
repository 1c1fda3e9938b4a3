package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// homeRefreshTx queues, in tx, a refresh of the Slack Home of the mediator
// and co-mediators of case caseID after a change at now (Options.HomeRefresh). The refresh
// is keyed by user and time slot, so a burst of changes is one message.
func (db *DB) homeRefreshTx(tx kv.Tx, caseID string, now time.Time) error {
	if !db.homeRefresh {
		return nil
	}
	c, err := db.getCase(tx, caseID)
	if err != nil {
		return err
	}
	return db.homeRefreshUsers(tx, now, append([]string{c.Mediator}, c.CoMediators...)...)
}

// homeRefreshUsers queues a refresh of each user's Home, as homeRefreshTx.
func (db *DB) homeRefreshUsers(tx kv.Tx, now time.Time, users ...string) error {
	if !db.homeRefresh {
		return nil
	}
	for _, u := range users {
		if u == "" {
			continue
		}
		if _, err := db.enqueueOne(tx, now, casebot.HomeRefresh(u, now)); err != nil {
			return err
		}
	}
	return nil
}

// homeRefreshAdmins queues a refresh of every admin's Home (their
// quarantine count and caseload balance changed), coalesced per slot like
// a mediator's.
func (db *DB) homeRefreshAdmins(tx kv.Tx, now time.Time) error {
	return db.homeRefreshUsers(tx, now, db.homeAdmins...)
}

// QuarantineCount returns the number of quarantined emails waiting for a
// decision: the admins' Home and digest show it.
func (db *DB) QuarantineCount(ctx context.Context) (int, error) {
	q, err := db.Quarantine(ctx, false)
	if err != nil {
		return 0, err
	}
	return len(q), nil
}

// caseloadChanged reports whether a write from old (nil: a new case) to c
// changes what an admin's Home counts: the caseload balance (open cases by
// mediator and co-mediator, urgent and high among them).
func caseloadChanged(old, c *casebot.Case) bool {
	if old == nil || c == nil {
		return true
	}
	return old.Mediator != c.Mediator || !slices.Equal(old.CoMediators, c.CoMediators) || old.Status != c.Status ||
		(c.Open() && old.Priority != c.Priority)
}

// FileDocument files a (a file a user shared in Slack, content whole) as
// a document of case caseID, with arr naming the Slack user: a new
// document numbered after the case's last, or another arrival of the one
// with the same bytes. check runs inside the transaction on the case as
// stored (the access rule: a case reassigned meanwhile is refused); its
// error aborts with nothing stored. The arrival is in the audit trail
// ("doc.add"), and the mediator's Home is refreshed. It returns the doc#
// and whether the document is new; ENOTFOUND for a missing case.
func (db *DB) FileDocument(ctx context.Context, caseID string, a casebot.Attachment, arr casebot.Arrival, check func(*casebot.Case) error) (int, bool, error) {
	var n int
	var isNew bool
	var checkErr error
	err := db.update(ctx, func(tx kv.Tx) error {
		c, err := db.getCase(tx, caseID)
		if err != nil {
			return err
		}
		if checkErr = check(c); checkErr != nil {
			return checkErr
		}
		now := db.now()
		if arr.At.IsZero() {
			arr.At = now
		}
		if n, isNew, err = db.addDocumentTx(tx, caseID, a, arr); err != nil {
			return err
		}
		detail := "shared in Slack"
		if arr.Via == casebot.ViaCasebot {
			detail = "made by casebot"
		}
		if !isNew {
			detail = "again, " + detail
		}
		old := cloneCase(c)
		c.Updated, c.Activity = now, now
		if err := db.putCase(tx, old, c); err != nil {
			return err
		}
		return db.record(tx, caseID, casebot.Change{Actor: arr.From, Action: "doc.add", Detail: detail,
			About: casebot.About{N: n, Who: arr.From, Text: casebot.Headline(casebot.SafeFileName(arr.Name))}}, now)
	})
	if checkErr != nil {
		return 0, false, checkErr
	}
	if err != nil {
		return 0, false, fmt.Errorf("store: file document of %s: %w", caseID, err)
	}
	return n, isNew, nil
}
