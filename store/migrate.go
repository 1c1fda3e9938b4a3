package store

import (
	"fmt"
	"log/slog"

	bolt "go.etcd.io/bbolt"
)

// migration brings the schema from version-1 to version. Migrations are
// append-only: never edit or reorder one that has shipped; add a new one.
type migration struct {
	version uint64
	what    string
	run     func(tx *bolt.Tx) error
}

// migrations, in order; the last one's version is the current schema.
var migrations = []migration{
	{1, "cases, notes, audit trail and case ID sequences", func(tx *bolt.Tx) error {
		return createBuckets(tx, bucketSeq, bucketCases, bucketNotes, bucketAudit)
	}},
	{2, "indexes (mediator, status, party email, name and words, deadline and session times) and the outbox", func(tx *bolt.Tx) error {
		if err := createBuckets(tx, bucketOutbox, bucketOutboxKey, bucketOutboxTo, bucketSent, bucketMsgID); err != nil {
			return err
		}
		return reindex(tx)
	}},
}

// currentVersion is the schema this code writes.
var currentVersion = migrations[len(migrations)-1].version

func createBuckets(tx *bolt.Tx, names ...[]byte) error {
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
func (db *DB) migrate(tx *bolt.Tx, from uint64) error {
	if from >= currentVersion {
		return nil
	}
	for _, m := range migrations {
		if m.version <= from {
			continue
		}
		if err := m.run(tx); err != nil {
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
