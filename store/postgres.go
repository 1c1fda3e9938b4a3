package store

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/casebot/casebot/store/kv"
	"github.com/casebot/casebot/store/kv/pgkv"
)

// openPostgres opens the PostgreSQL engine at url. A database that cannot
// be reached gives an error naming its host (never the password) and
// wrapping kv.ErrUnavailable. Read-write opens create the keyring's table
// beside the engine's.
func openPostgres(ctx context.Context, url string, opts Options) (kv.Engine, error) {
	eng, err := pgkv.Open(ctx, url, pgkv.Options{ReadOnly: opts.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if !opts.ReadOnly {
		if err := createKeyringTable(ctx, eng); err != nil {
			_ = eng.Close()
			return nil, err
		}
	}
	return eng, nil
}

// keyringTableSQL is the keyring of a PostgreSQL store: one row per case,
// apart from the kv buckets, so that copies of the buckets (backups)
// never carry keys.
const keyringTableSQL = `CREATE TABLE IF NOT EXISTS casebot_keyring (case_id text PRIMARY KEY, key_id bytea NOT NULL, wrapped bytea NOT NULL)`

func createKeyringTable(ctx context.Context, eng *pgkv.Engine) error {
	err := pgx.BeginFunc(ctx, eng.Pool(), func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.casebot keyring setup'))`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, keyringTableSQL)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: create the keyring table: %w", eng.Wrap(ctx, err))
	}
	return nil
}

// loadKeyring loads the store's keyring: the file beside a bbolt store,
// the casebot_keyring table of a PostgreSQL store. A file that ended in an
// unfinished record (an append a crash interrupted) is accepted only if
// every case whose content uses a key still has it; a writable Open then
// rewrites it whole, as it does a file of the old format.
func (db *DB) loadKeyring(ctx context.Context, readOnly bool) (*keyring, error) {
	if pe, ok := db.kv.(*pgkv.Engine); ok {
		return loadKeyring(pgKeys{eng: pe}, db.seal, readOnly)
	}
	f := &fileKeys{path: keyringPath(db.path)}
	r, err := loadKeyring(f, db.seal, readOnly)
	if err != nil {
		return nil, err
	}
	if f.dropped > 0 {
		if err := db.keysOfMarks(ctx, r); err != nil {
			return nil, fmt.Errorf("store: keyring %s ends in a damaged record (%d bytes) and %w; restore it from a copy (it is never rewritten while damaged)", f.path, f.dropped, err)
		}
		db.log.Warn("store: the keyring ended in an unfinished key record, a key being added when casebot stopped; no case uses it, dropped",
			slog.String("keyring", f.path), slog.Int("bytes", f.dropped))
	}
	if f.untidy && !readOnly {
		r.writeMu.Lock()
		err := f.rewrite(r.keys)
		r.writeMu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	return r, nil
}

// keysOfMarks checks that every case whose content uses a data key (a
// mark in case_keys naming it) has that key in r.
func (db *DB) keysOfMarks(ctx context.Context, r *keyring) error {
	return db.kv.View(ctx, func(tx kv.Tx) error {
		marks := tx.Bucket(bucketCaseKeys)
		if marks == nil {
			return nil
		}
		return marks.ForEach(func(id, m []byte) error {
			kid, ok := keyIDOf(m)
			if !ok {
				return nil // purged
			}
			if k, ok := r.get(string(id)); !ok || k.id != kid {
				return fmt.Errorf("case %s's content uses a key missing from it", id)
			}
			return nil
		})
	})
}

// pgKeys is the keyring table of a PostgreSQL store, which every instance
// on the database shares: a key added by one is found by the others'
// lookups, and when two add a key for the same case at once, the first
// row wins and both use it.
type pgKeys struct{ eng *pgkv.Engine }

// keyringTimeout bounds one keyring query.
const keyringTimeout = 30 * time.Second

func (p pgKeys) String() string { return "casebot_keyring (PostgreSQL table)" }

func (p pgKeys) do(fn func(ctx context.Context, pool *pgxpool.Pool) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), keyringTimeout)
	defer cancel()
	if err := fn(ctx, p.eng.Pool()); err != nil {
		return fmt.Errorf("store: keyring: %w", p.eng.Wrap(ctx, err))
	}
	return nil
}

func scanKeys(rows pgx.Rows) (map[string]caseKey, error) {
	keys := map[string]caseKey{}
	var id string
	var kid, wrapped []byte
	_, err := pgx.ForEachRow(rows, []any{&id, &kid, &wrapped}, func() error {
		k, ok := storedKey(kid, wrapped)
		if !ok {
			return fmt.Errorf("key of %s has a key ID of %d bytes", id, len(kid))
		}
		keys[id] = k
		wrapped = nil
		return nil
	})
	return keys, err
}

func storedKey(kid, wrapped []byte) (caseKey, bool) {
	var k caseKey
	if len(kid) != keyIDLen {
		return k, false
	}
	copy(k.id[:], kid)
	k.wrapped = wrapped
	return k, true
}

func (p pgKeys) load() (keys map[string]caseKey, err error) {
	err = p.do(func(ctx context.Context, pool *pgxpool.Pool) error {
		var exists bool
		if err := pool.QueryRow(ctx, `SELECT to_regclass('casebot_keyring') IS NOT NULL`).Scan(&exists); err != nil {
			return err
		}
		if !exists { // a read-only open of a store never opened for writing
			keys = map[string]caseKey{}
			return nil
		}
		rows, err := pool.Query(ctx, `SELECT case_id, key_id, wrapped FROM casebot_keyring`)
		if err != nil {
			return err
		}
		keys, err = scanKeys(rows)
		return err
	})
	return keys, err
}

func (p pgKeys) add(keys map[string]caseKey) (stored map[string]caseKey, err error) {
	added := slices.Sorted(maps.Keys(keys))
	kids, wrapped := make([][]byte, len(added)), make([][]byte, len(added))
	for i, id := range added {
		k := keys[id]
		kids[i], wrapped[i] = k.id[:], k.wrapped
	}
	err = p.do(func(ctx context.Context, pool *pgxpool.Pool) error {
		if _, err := pool.Exec(ctx, `INSERT INTO casebot_keyring (case_id, key_id, wrapped)
			SELECT * FROM unnest($1::text[], $2::bytea[], $3::bytea[]) ON CONFLICT (case_id) DO NOTHING`, added, kids, wrapped); err != nil {
			return err
		}
		rows, err := pool.Query(ctx, `SELECT case_id, key_id, wrapped FROM casebot_keyring WHERE case_id = ANY($1::text[])`, added)
		if err != nil {
			return err
		}
		stored, err = scanKeys(rows)
		return err
	})
	if err == nil && len(stored) != len(added) {
		err = fmt.Errorf("store: keyring: %d of %d new keys not found after writing them", len(added)-len(stored), len(added))
	}
	return stored, err
}

func (p pgKeys) remove(ids []string, _ iter.Seq2[string, caseKey]) error {
	return p.do(func(ctx context.Context, pool *pgxpool.Pool) error {
		_, err := pool.Exec(ctx, `DELETE FROM casebot_keyring WHERE case_id = ANY($1::text[])`, ids)
		return err
	})
}

func (p pgKeys) lookup(id string) (k caseKey, ok bool, err error) {
	err = p.do(func(ctx context.Context, pool *pgxpool.Pool) error {
		var kid, wrapped []byte
		err := pool.QueryRow(ctx, `SELECT key_id, wrapped FROM casebot_keyring WHERE case_id = $1`, id).Scan(&kid, &wrapped)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		} else if err != nil {
			return err
		}
		if k, ok = storedKey(kid, wrapped); !ok {
			return fmt.Errorf("key of %s has a key ID of %d bytes", id, len(kid))
		}
		return nil
	})
	return k, ok, err
}
