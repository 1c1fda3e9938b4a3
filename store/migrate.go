package store

import (
	"bytes"
	"fmt"
	"log/slog"

	"github.com/casebot/casebot/store/kv"
)

// migration brings the schema from version-1 to version. Migrations are
// append-only: never edit or reorder one that has shipped; add a new one.
type migration struct {
	version uint64
	what    string
	run     func(db *DB, tx kv.Tx) error
}

// migrations, in order; the last one's version is the current schema.
var migrations = []migration{
	{1, "cases, notes, audit trail and case ID sequences", func(db *DB, tx kv.Tx) error {
		return createBuckets(tx, bucketSeq, bucketCases, bucketNotesV1, bucketAuditV1)
	}},
	{2, "indexes (mediator, status, party email, name and words, deadline and session times), the outbox, notes and audit events in write order", func(db *DB, tx kv.Tx) error {
		if err := createBuckets(tx, bucketOutbox, bucketOutboxKey, bucketOutboxTo, bucketSent, bucketMsgID, bucketNotes, bucketNoteN, bucketAudit, bucketAuditN); err != nil {
			return err
		}
		if err := db.moveNotesV1(tx); err != nil {
			return err
		}
		// The indexes are built by migration 6 (reindex), in the layout
		// this casebot reads.
		return moveAuditV1(tx)
	}},
	{3, "binary note, outbox and audit records and compact de-duplication keys (version-2 records stay readable and are not rewritten)", func(db *DB, tx kv.Tx) error {
		// Nothing to convert: this version exists so that a casebot which
		// only knows JSON records refuses the file instead of misreading it.
		_, err := tx.CreateBucketIfNotExists(bucketMailSeen2)
		return err
	}},
	{4, "case documents: the attachments kept inside email notes become numbered documents of their case, stored apart from the notes", func(db *DB, tx kv.Tx) error {
		if err := createBuckets(tx, bucketDocMeta, bucketDocData); err != nil {
			return err
		}
		return db.notesToDocuments(tx)
	}},
	{5, "per-case data keys in the keyring beside the store (content sealed under the master key stays readable and is not rewritten)", func(db *DB, tx kv.Tx) error {
		// The keys themselves are made after the migration commits
		// (settleKeys); this version makes a casebot that knows only the
		// master key refuse the file instead of failing on each new note.
		_, err := tx.CreateBucketIfNotExists(bucketCaseKeys)
		return err
	}},
	{6, "co-mediators (an index of the cases each co-mediator shares) and settlement offers (sealed terms); the indexes are rebuilt by migration 7", func(db *DB, tx kv.Tx) error {
		return createBuckets(tx, bucketOffers)
	}},
	{7, "case records with their content sealed under the case's data key, party indexes of keyed hashes (with a key), time-index entries with their content sealed, and party addresses sealed in note headers and audit events", func(db *DB, tx kv.Tx) error {
		return db.sealCaseRecords(tx)
	}},
	{8, "list pages and reports: the urgency and closed-case indexes, and aggregates (cases by status, priority and mediator; opened and closed by month per type, priority, source and mediator with days-to-close histograms; sessions by day)", func(db *DB, tx kv.Tx) error {
		if err := db.reindex(tx); err != nil {
			return err
		}
		return rebuildAggregates(tx)
	}},
	{9, "the search index: keyed term hashes of every note's words (body, email subject and attachment names)", func(db *DB, tx kv.Tx) error {
		return db.indexAllNotes(tx)
	}},
	{10, "the unmet deadlines of open cases by mediator and co-mediator (the Slack Home's index), from the deadline index", func(db *DB, tx kv.Tx) error {
		return fillDeadlineMed(tx)
	}},
	{11, "remembered Slack deliveries (event IDs and when each was first seen), so that a retry after a restart is not handled twice", func(db *DB, tx kv.Tx) error {
		return createBuckets(tx, bucketDeliveries)
	}},
	{12, "the notes of each mediator's and co-mediator's cases in time order, so that a mediator's search walks their own notes", func(db *DB, tx kv.Tx) error {
		return fillNoteMed(tx)
	}},
	{13, "closing records by quarter beside those by month, so that a report reads a year as four quarters", func(db *DB, tx kv.Tx) error {
		return rebuildAggregates(tx)
	}},
	{14, "opened, closed and settled counts by scope with the month last, so that a report's month rows are one walk", func(db *DB, tx kv.Tx) error {
		return rebuildAggregates(tx)
	}},
}

// currentVersion is the schema this code writes.
var currentVersion = migrations[len(migrations)-1].version

// SchemaVersion returns the schema this casebot writes (benchmarks name
// their cached fixtures by it, so that an older fixture is never migrated
// on every run).
func SchemaVersion() uint64 { return currentVersion }

// bucketNotesV1 held schema 1's notes keyed by case ID \x00 N. Concurrent
// notes to many cases then dirtied one page per case per commit; schema 2
// appends them in write order (note_data) with a small per-case index.
var bucketNotesV1 = []byte("notes")

// bucketAuditV1 held schema 1's audit events keyed by case ID \x00 sequence.
var bucketAuditV1 = []byte("audit")

// moveAuditV1 moves schema 1 audit events into audit_log and audit_idx,
// keeping the order of each case's trail.
func moveAuditV1(tx kv.Tx) error {
	old := tx.Bucket(bucketAuditV1)
	if old == nil {
		return nil
	}
	err := old.ForEach(func(k, v []byte) error {
		i := bytes.IndexByte(k, sep)
		if i < 0 {
			return fmt.Errorf("bad audit key %q", k)
		}
		seq, err := tx.Bucket(bucketAudit).NextSequence()
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketAudit).Put(be64(seq), v); err != nil {
			return err
		}
		return tx.Bucket(bucketAuditN).Put(append(prefixOf(string(k[:i])), be64(seq)...), []byte{})
	})
	if err != nil {
		return fmt.Errorf("move audit trail: %w", err)
	}
	return tx.DeleteBucket(bucketAuditV1)
}

// moveNotesV1 moves schema 1 notes into note_data and note_idx, re-sealing
// each under its new record key.
func (db *DB) moveNotesV1(tx kv.Tx) error {
	old := tx.Bucket(bucketNotesV1)
	if old == nil {
		return nil
	}
	err := old.ForEach(func(k, v []byte) error {
		h, sealed, err := unframe(v)
		if err != nil {
			return fmt.Errorf("note %q: %w", k, err)
		}
		plain, err := db.seal.open(k, sealed)
		if err != nil {
			return fmt.Errorf("note %q: %w", k, err)
		}
		seq, err := tx.Bucket(bucketNotes).NextSequence()
		if err != nil {
			return err
		}
		nk := be64(seq)
		if err := tx.Bucket(bucketNotes).Put(nk, frame(h, db.seal.seal(nk, plain))); err != nil {
			return err
		}
		return tx.Bucket(bucketNoteN).Put(k, nk)
	})
	if err != nil {
		return fmt.Errorf("move notes: %w", err)
	}
	return tx.DeleteBucket(bucketNotesV1)
}

func createBuckets(tx kv.Tx, names ...[]byte) error {
	for _, n := range names {
		if _, err := tx.CreateBucketIfNotExists(n); err != nil {
			return fmt.Errorf("create bucket %s: %w", n, err)
		}
	}
	return nil
}

// migrate runs every migration after version from in tx and records the
// new version; the caller commits them together, so a crash leaves the old
// version intact.
func (db *DB) migrate(tx kv.Tx, from uint64) error {
	if from >= currentVersion {
		return nil
	}
	for _, m := range migrations {
		if m.version <= from {
			continue
		}
		if err := m.run(db, tx); err != nil {
			return fmt.Errorf("store: migrate to schema %d (%s): %w", m.version, m.what, err)
		}
		if from > 0 {
			db.log.Info("store migrated", slog.String("path", db.path), slog.Uint64("schema_version", m.version), slog.String("migration", m.what))
		}
	}
	if err := tx.Bucket(bucketMeta).Put(metaSchemaVersion, be64(currentVersion)); err != nil {
		return fmt.Errorf("store: put schema version: %w", err)
	}
	return nil
}
