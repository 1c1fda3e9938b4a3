package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"

	"github.com/casebot/casebot/internal/pgurl"
	"github.com/casebot/casebot/store/kv"
	"github.com/casebot/casebot/store/kv/pgkv"
)

// storedKeyring is a store's keyring as stored: each case's data key still
// wrapped by the master key (caseKey without its sealer). copy-store moves
// it from one store to another without the master key, so ciphertext
// stays ciphertext and the keys stay wrapped. Where it lives depends on
// the engine: the file <path>.keys beside a bbolt store, a table of its
// own for PostgreSQL (SPEC §10).
type storedKeyring interface {
	// where names the keyring for messages.
	where() string
	// read returns the keys; exists is false when the store has no keyring.
	read(ctx context.Context) (keys map[string]caseKey, exists bool, err error)
	// exists reports whether the store has a keyring, even one that does
	// not read.
	exists(ctx context.Context) (bool, error)
	// write stores keys as the whole keyring of a store that has none.
	write(ctx context.Context, keys map[string]caseKey) error
	// drop removes the keyring (undoing a failed copy).
	drop(ctx context.Context) error
}

// storedKeyringOf returns the keyring of the store at loc, whose engine
// is eng.
func storedKeyringOf(loc string, eng kv.Engine) (storedKeyring, error) {
	if pe, ok := eng.(*pgkv.Engine); ok {
		return tableKeyring{pgKeys{eng: pe}}, nil
	}
	if pgurl.Is(loc) {
		return nil, fmt.Errorf("store: %s: no keyring table for this engine", pgurl.Redact(loc))
	}
	return fileKeyring{path: keyringPath(loc)}, nil
}

// tableKeyring is the keyring table of a PostgreSQL store; an empty
// table is no keyring.
type tableKeyring struct{ t pgKeys }

func (k tableKeyring) where() string { return k.t.String() }

func (k tableKeyring) read(context.Context) (map[string]caseKey, bool, error) {
	keys, err := k.t.load()
	return keys, len(keys) > 0, err
}

func (k tableKeyring) exists(ctx context.Context) (bool, error) {
	_, ok, err := k.read(ctx)
	return ok, err
}

func (k tableKeyring) write(_ context.Context, keys map[string]caseKey) error {
	if len(keys) == 0 {
		return nil
	}
	_, err := k.t.add(keys)
	return err
}

func (k tableKeyring) drop(ctx context.Context) error {
	keys, _, err := k.read(ctx)
	if err != nil || len(keys) == 0 {
		return err
	}
	return k.t.remove(slices.Sorted(maps.Keys(keys)), nil)
}

// fileKeyring is the keyring file beside a bbolt store.
type fileKeyring struct{ path string }

func (f fileKeyring) where() string { return f.path }

func (f fileKeyring) read(context.Context) (map[string]caseKey, bool, error) {
	raw, err := os.ReadFile(f.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, fmt.Errorf("store: read keyring: %w", err)
	}
	keys, err := decodeKeyring(raw)
	if err != nil {
		return nil, false, fmt.Errorf("store: keyring %s: %w", f.path, err)
	}
	return keys, true, nil
}

func (f fileKeyring) exists(context.Context) (bool, error) {
	_, err := os.Lstat(f.path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

func (f fileKeyring) write(_ context.Context, keys map[string]caseKey) error {
	if _, err := os.Lstat(f.path); err == nil {
		return fmt.Errorf("store: keyring %s already exists", f.path)
	}
	if err := writeFileSync(f.path, encodeKeyring(keys)); err != nil {
		return fmt.Errorf("store: write keyring: %w", err)
	}
	return nil
}

func (f fileKeyring) drop(context.Context) error {
	if err := os.Remove(f.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("store: remove keyring: %w", err)
	}
	return nil
}

// copyStoredKeyring copies the source's keyring to the target, which has none,
// and reads it back to compare: the same cases with the same key IDs and
// wrapped keys. It returns the number of keys and whether the source has
// a keyring at all.
func copyStoredKeyring(ctx context.Context, from, to storedKeyring) (n int, exists bool, err error) {
	keys, exists, err := from.read(ctx)
	if err != nil || !exists {
		return 0, exists, err
	}
	if err := to.write(ctx, keys); err != nil {
		return 0, true, err
	}
	got, ok, err := to.read(ctx)
	if err != nil {
		return 0, true, err
	}
	if !ok {
		return 0, true, &MismatchError{Bucket: "keyring", What: "the copy has no keyring"}
	}
	if err := sameKeys(keys, got); err != nil {
		return 0, true, err
	}
	return len(keys), true, nil
}

// sameKeys compares two keyrings key by key.
func sameKeys(want, got map[string]caseKey) error {
	for _, id := range slices.Sorted(maps.Keys(want)) {
		g, ok := got[id]
		switch {
		case !ok:
			return &MismatchError{Bucket: "keyring", Key: []byte(id), What: "missing from the copy"}
		case g.id != want[id].id || !bytes.Equal(g.wrapped, want[id].wrapped):
			return &MismatchError{Bucket: "keyring", Key: []byte(id), What: "differs"}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[id]; !ok {
			return &MismatchError{Bucket: "keyring", Key: []byte(id), What: "is in the copy but not in the source"}
		}
	}
	return nil
}
