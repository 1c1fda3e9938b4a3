package store

import "github.com/casebot/casebot"

// preparedMail is the work PrepareMail did on one item ahead of its
// commit: the search terms of its note.
type preparedMail struct {
	db    *DB // the store whose term key hashed them
	terms [][termLen]byte
}

// PrepareMail hashes the search terms of the item's note and keeps them
// in it.Prepared for Ingest. A note's terms depend on its text and the
// store's term key only, not on the transaction: mail intake calls this on
// its parse workers, in parallel, so that the store's one writer does not
// spend its time on HMACs. Items without a note are left alone.
func (db *DB) PrepareMail(it *casebot.MailItem) {
	if it.Note == nil {
		return
	}
	t := db.newTermer()
	it.Prepared = &preparedMail{db: db, terms: db.noteTerms(t, it.Note)}
	putTermer(t)
}

// preparedTerms returns the terms PrepareMail kept in it for this store,
// or nil (Ingest then hashes them in the transaction).
func (db *DB) preparedTerms(it *casebot.MailItem) [][termLen]byte {
	if p, ok := it.Prepared.(*preparedMail); ok && p.db == db {
		return p.terms
	}
	return nil
}
