package store

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/casebot/casebot"
)

// FileDocument adds a document casebot made (an agreement) to case id,
// arriving from actor with no note, after check approves the case, with
// its audit event ("doc.add"), in one transaction; the case's Updated and
// Activity become now. It returns the doc#; the same bytes filed again
// are another arrival of the same document.
func (db *DB) FileDocument(ctx context.Context, id, actor string, a casebot.Attachment, check func(c *casebot.Case) error) (int, error) {
	var n int
	var checkErr error
	err := db.update(ctx, func(tx *bolt.Tx) error {
		old, err := getCase(tx, id)
		if err != nil {
			return err
		}
		if check != nil {
			if checkErr = check(cloneCase(old)); checkErr != nil {
				return checkErr
			}
		}
		now := db.now()
		num, isNew, err := db.addDocumentTx(tx, id, a, casebot.Arrival{From: actor, At: now, Name: a.Name})
		if err != nil {
			return err
		}
		n = num
		c := cloneCase(old)
		c.Updated, c.Activity = now, now
		if err := putCase(tx, old, c); err != nil {
			return err
		}
		detail := "made by casebot"
		if !isNew {
			detail = "made again by casebot"
		}
		return db.appendAudit(tx, casebot.AuditEvent{CaseID: id, At: now, Actor: actor, Action: "doc.add", Detail: detail,
			About: casebot.About{N: num, Who: actor, Text: casebot.Headline(casebot.SafeFileName(a.Name))}})
	})
	if checkErr != nil {
		return 0, checkErr
	}
	if err != nil {
		return 0, fmt.Errorf("store: file document in %s: %w", id, err)
	}
	return n, nil
}
