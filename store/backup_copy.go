package store

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/casebot/casebot/store/kv/boltkv"
)

// backupByCopy writes a backup of a store on an engine other than bbolt
// (PostgreSQL): every bucket, key, value and sequence, as stored, copied
// from one read transaction (one consistent state while writers go on)
// into a fresh bbolt file in the system's temporary folder (mode 0600),
// which is then copied to w and removed. The backup is thus a bbolt store
// like any other, which `copy-store` can move back; like every backup it
// carries no keyring (keyring.go).
func (db *DB) backupByCopy(ctx context.Context, w io.Writer) (int64, error) {
	tmp, err := os.CreateTemp("", "casebot-backup-*")
	if err != nil {
		return 0, fmt.Errorf("store: backup: temporary file: %w", err)
	}
	name := tmp.Name()
	defer os.Remove(name)
	if err := tmp.Close(); err != nil {
		return 0, fmt.Errorf("store: backup: %w", err)
	}
	bdb, err := bolt.Open(name, 0o600, &bolt.Options{Timeout: time.Second, NoSync: true})
	if err != nil {
		return 0, fmt.Errorf("store: backup: open copy: %w", err)
	}
	dst := boltkv.New(bdb)
	err = copyBuckets(ctx, db.kv, dst, nil)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("store: backup: %w", err)
	}
	return sendBackup(name, w)
}
