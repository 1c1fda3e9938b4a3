package store

import (
	"context"
	"errors"

	"github.com/casebot/casebot/store/kv"
)

// openPostgres opens the PostgreSQL engine at url.
func openPostgres(ctx context.Context, url string, opts Options) (kv.Engine, error) {
	return nil, errors.New("store: PostgreSQL is not built yet")
}

// loadKeyring loads the store's keyring: the file beside a bbolt store.
func (db *DB) loadKeyring(ctx context.Context, readOnly bool) (*keyring, error) {
	return loadKeyring(keyringPath(db.path), db.seal, readOnly)
}
