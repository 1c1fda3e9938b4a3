package store

import (
	"crypto/rand"
	"errors"
	"fmt"
	"iter"
	"maps"
	"sync"
	"sync/atomic"
)

// The keyring holds each case's data key, wrapped by the master key, in a
// file of its own beside a bbolt store: <store path>.keys, mode 0600 (a
// PostgreSQL store keeps it in a table of its own, casebot_keyring, never
// in the kv buckets: postgres.go). Keeping
// it apart from the case data is what makes a purge final for copies of the
// store nobody controls any more (backups): the purge destroys the case's
// key here, and `backup` never copies this file, so an old backup opened
// with the keyring of after the purge holds only ciphertext of that case
// (crypto-shredding).
//
// The file's format is in keyring_file.go: a header, then one record per
// key, each with its own checksum, so that a new case's key is appended
// (and fsynced) rather than the whole keyring rewritten; the file is
// rewritten whole only when keys are destroyed (a purge), so that no copy
// of a destroyed key stays in it.
//
// A wrapped key is the master key's seal (version byte, 12-byte nonce,
// AES-256-GCM ciphertext and tag) of the 32 key bytes, with the case ID
// and key ID as additional data, so a key cannot be moved to another case.
// The key ID is random; the store's case_keys bucket records it for every
// case whose content uses the key, and Check compares the two.
//
// A key is added before the commit that first uses it (a crash leaves at
// worst a key no record uses, or half a record at the file's end, which
// the next Open drops) and removed after the commit that purged its
// content (a crash leaves the key of a purged case, which the next Open
// removes).

// keyIDLen is the length of a key ID.
const keyIDLen = 8

// errKeyDestroyed marks content sealed under a case data key that is not
// in the keyring: the case was purged (or the keyring is not this store's).
var errKeyDestroyed = errors.New("the case's data key is not in the keyring")

// caseKey is one case's data key.
type caseKey struct {
	id      [keyIDLen]byte
	wrapped []byte   // as stored in the file
	slot    *keySlot // its sealer, made on first use
}

// keySlot holds a case's sealer (version sealCaseGCM) once the key is
// unwrapped for use. A keyring of 100,000 cases unwrapped whole at Open
// held 96 MB of AES-GCM state for cases nobody reads, and every case's
// key in memory in the clear; the keys are now checked at Open and
// unwrapped when a case's content is first sealed or opened. A removed key
// takes its slot with it.
type keySlot struct {
	mu   sync.Mutex
	seal atomic.Pointer[sealer]
}

// keyring is the in-memory copy of the keyring, over where it is kept (a
// keyStore: the file beside a bbolt store, a table of a PostgreSQL store).
// Reads take mu's read lock; a writer stores the change, then applies it
// to keys, one writer at a time (writeMu). (A copy of the whole map per
// change, read without a lock, cost a new case 5 ms at 100,000 cases.)
type keyring struct {
	store    keyStore
	master   *sealer
	readOnly bool

	mu      sync.RWMutex
	keys    map[string]caseKey
	writeMu sync.Mutex

	// afterWrite, when set (tests), runs after each change is stored.
	afterWrite func()
}

// keyStore keeps a keyring's wrapped keys (caseKey.slot unset).
type keyStore interface {
	// load returns every key.
	load() (map[string]caseKey, error)
	// add stores new keys, of cases the keyring has none for. It returns
	// the keys stored for those cases: on a store several instances
	// share, another instance's key for the same case wins over ours.
	add(keys map[string]caseKey) (map[string]caseKey, error)
	// remove destroys the keys of ids; rest yields every other key.
	remove(ids []string, rest iter.Seq2[string, caseKey]) error
	// lookup returns the key of one case the cache lacks: another
	// instance may have made it. ok is false when the store has none.
	lookup(id string) (k caseKey, ok bool, err error)
	// String names the keyring in messages.
	String() string
}

// keyringPath is the keyring file of the store at dbPath.
func keyringPath(dbPath string) string { return dbPath + ".keys" }

// loadKeyring reads the keyring of store and checks that master unwraps
// every key (each is unwrapped again, into its sealer, when first used).
// An empty store is an empty keyring; a damaged one, or one whose keys the
// master key does not unwrap, is an error: it is never overwritten.
func loadKeyring(store keyStore, master *sealer, readOnly bool) (*keyring, error) {
	r := &keyring{store: store, master: master, readOnly: readOnly}
	keys, err := store.load()
	if err != nil {
		return nil, err
	}
	for id, k := range keys {
		if keys[id], err = r.unwrap(id, k); err != nil {
			return nil, fmt.Errorf("store: keyring %s: %w; restore it from a copy (it is never rewritten while damaged)", store, err)
		}
	}
	r.keys = keys
	return r, nil
}

// unwrap checks that the master key opens a stored key, and gives it an
// empty slot: its sealer is made on first use (sealer).
func (r *keyring) unwrap(caseID string, k caseKey) (caseKey, error) {
	plain, err := r.openKey(caseID, k)
	clear(plain)
	if err != nil {
		return k, err
	}
	k.slot = &keySlot{}
	return k, nil
}

// openKey opens a stored key with the master key.
func (r *keyring) openKey(caseID string, k caseKey) ([]byte, error) {
	plain, err := r.master.open(keyAD(caseID, k.id), k.wrapped)
	if err != nil {
		return nil, fmt.Errorf("key of %s: %w (is this the store's master key?)", caseID, err)
	}
	return plain, nil
}

// sealer returns the sealer of case caseID's key k (from get or find),
// unwrapping the key the first time.
func (r *keyring) sealer(caseID string, k caseKey) (*sealer, error) {
	if s := k.slot.seal.Load(); s != nil {
		return s, nil
	}
	k.slot.mu.Lock()
	defer k.slot.mu.Unlock()
	if s := k.slot.seal.Load(); s != nil {
		return s, nil
	}
	plain, err := r.openKey(caseID, k)
	if err != nil {
		return nil, fmt.Errorf("store: keyring %s: %w", r.store, err)
	}
	s, err := newCaseSealer(plain)
	clear(plain)
	if err != nil {
		return nil, fmt.Errorf("store: keyring %s: key of %s: %w", r.store, caseID, err)
	}
	k.slot.seal.Store(s)
	return s, nil
}

func keyAD(caseID string, id [keyIDLen]byte) []byte {
	return append(append([]byte("casebot case key\x00"+caseID), 0), id[:]...)
}

// get returns the data key of case id from the cache.
func (r *keyring) get(id string) (caseKey, bool) {
	r.mu.RLock()
	k, ok := r.keys[id]
	r.mu.RUnlock()
	return k, ok
}

// find returns the data key of case id: from the cache, else from the
// store (another instance may have made it since), before the key counts
// as missing.
func (r *keyring) find(id string) (caseKey, bool, error) {
	if k, ok := r.get(id); ok {
		return k, true, nil
	}
	k, ok, err := r.store.lookup(id)
	if err != nil || !ok {
		return caseKey{}, false, err
	}
	if k, err = r.unwrap(id, k); err != nil {
		return caseKey{}, false, fmt.Errorf("store: keyring %s: %w", r.store, err)
	}
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	if got, ok := r.get(id); ok { // found meanwhile
		return got, true, nil
	}
	r.set(map[string]caseKey{id: k}, nil)
	return k, true, nil
}

// size returns the number of keys.
func (r *keyring) size() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.keys)
}

// ensure gives every case in ids that has no key a new one, in one write
// of the store; it returns once the keys are durable.
func (r *keyring) ensure(ids ...string) error {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	var added map[string]caseKey
	for _, id := range ids {
		if _, ok := r.get(id); ok {
			continue
		}
		if _, ok := added[id]; ok {
			continue
		}
		k, err := r.newKey(id)
		if err != nil {
			return err
		}
		if added == nil {
			added = map[string]caseKey{}
		}
		added[id] = k
	}
	if added == nil {
		return nil
	}
	if r.readOnly {
		return errReadOnlyKeyring
	}
	stored, err := r.store.add(added)
	if f, ok := r.store.(*fileKeys); ok && err != nil {
		// An append that failed (the file removed or replaced under a
		// running casebot, a write that could not be undone): the file is
		// rewritten whole from the keys in memory, as every write was
		// before appends, so that no key held here is lost with it.
		all := make(map[string]caseKey, len(r.keys)+len(added))
		maps.Copy(all, r.keys)
		maps.Copy(all, added)
		if f.rewrite(all) == nil {
			stored, err = added, nil
		}
	}
	if err != nil {
		return err
	}
	for id, k := range stored {
		if k.id == added[id].id {
			continue
		}
		// Another instance made this case's key first: use theirs.
		if added[id], err = r.unwrap(id, k); err != nil {
			return fmt.Errorf("store: keyring %s: %w", r.store, err)
		}
	}
	r.set(added, nil)
	return nil
}

// remove destroys the keys of ids, in one write of the store.
func (r *keyring) remove(ids ...string) error {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	gone := make(map[string]bool, len(ids))
	for _, id := range ids {
		if _, ok := r.get(id); ok {
			gone[id] = true
		}
	}
	if _, file := r.store.(*fileKeys); file && len(gone) == 0 {
		return nil
	}
	if r.readOnly {
		return errReadOnlyKeyring
	}
	// Writers hold writeMu: the map does not change while rest walks it.
	rest := func(yield func(string, caseKey) bool) {
		for id, k := range r.keys {
			if !gone[id] && !yield(id, k) {
				return
			}
		}
	}
	if err := r.store.remove(ids, rest); err != nil {
		return err
	}
	r.set(nil, ids)
	return nil
}

// set adds keys to the cache and deletes dels from it, then runs the
// test hook. Callers hold writeMu.
func (r *keyring) set(keys map[string]caseKey, dels []string) {
	r.mu.Lock()
	for id, k := range keys {
		r.keys[id] = k
	}
	for _, id := range dels {
		delete(r.keys, id)
	}
	r.mu.Unlock()
	if r.afterWrite != nil {
		r.afterWrite()
	}
}

var errReadOnlyKeyring = errors.New("store: keyring is read-only (the store was opened read-only)")

func (r *keyring) newKey(caseID string) (caseKey, error) {
	raw := make([]byte, 32)
	var k caseKey
	if _, err := rand.Read(raw); err != nil {
		return k, fmt.Errorf("store: new data key: %w", err)
	}
	if _, err := rand.Read(k.id[:]); err != nil {
		return k, fmt.Errorf("store: new data key: %w", err)
	}
	k.wrapped = r.master.seal(keyAD(caseID, k.id), raw)
	s, err := newCaseSealer(raw)
	clear(raw)
	if err != nil {
		return k, err
	}
	k.slot = &keySlot{}
	k.slot.seal.Store(s)
	return k, nil
}

// newCaseSealer returns the sealer of a case data key.
func newCaseSealer(key []byte) (*sealer, error) {
	s, err := newSealer(key)
	if err != nil {
		return nil, err
	}
	s.version = sealCaseGCM
	return s, nil
}

// rawN returns the next n bytes, aliasing the input.
func (d *dec) rawN(n int) []byte {
	if len(d.b) < n {
		d.fail(errShort)
		return make([]byte, n)
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

// keyIDOf returns the key ID in a case_keys value, false for a destroyed key.
func keyIDOf(v []byte) ([keyIDLen]byte, bool) {
	var id [keyIDLen]byte
	if len(v) != keyIDLen {
		return id, false
	}
	copy(id[:], v)
	return id, true
}
