package store

import (
	"context"
	"fmt"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// RecordExport appends "case.export" by actor, with detail (what the case
// file held: counts, never content) and about, to the case's audit trail.
// check, when set, runs inside the write transaction on the case as it is
// then (so a case reassigned since it was read is refused); its error is
// returned unchanged and nothing is recorded. The case itself is not
// changed: an export is a view, not activity. ENOTFOUND for a missing case.
func (db *DB) RecordExport(ctx context.Context, caseID, actor, detail string, about casebot.About, check func(c *casebot.Case) error) error {
	var checkErr error
	err := db.update(ctx, func(tx kv.Tx) error {
		c, err := db.getCase(tx, caseID)
		if err != nil {
			return err
		}
		if check != nil {
			if checkErr = check(c); checkErr != nil {
				return checkErr
			}
		}
		return db.appendAudit(tx, casebot.AuditEvent{CaseID: caseID, At: db.now(), Actor: actor, Action: "case.export", Detail: detail, About: about})
	})
	if checkErr != nil {
		return checkErr
	}
	if err != nil {
		return fmt.Errorf("store: record export of %s: %w", caseID, err)
	}
	return nil
}
