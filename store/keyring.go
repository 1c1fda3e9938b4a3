package store

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
)

// The keyring holds each case's data key, wrapped by the master key, in a
// file of its own beside a bbolt store: <store path>.keys, mode 0600 (a
// PostgreSQL store keeps it in a table of its own, casebot_keyring, never
// in the kv buckets: keyring_pg.go). Keeping
// it apart from the case data is what makes a purge final for copies of the
// store nobody controls any more (backups): the purge destroys the case's
// key here, and `backup` never copies this file, so an old backup opened
// with the keyring of after the purge holds only ciphertext of that case
// (crypto-shredding).
//
// File format (version 1):
//
//	"casebot keyring 1\n"
//	uvarint  number of keys
//	per key: uvarint length, case ID; 8-byte key ID; uvarint length, wrapped key
//	32 bytes SHA-256 of everything before it
//
// A wrapped key is the master key's seal (version byte, 12-byte nonce,
// AES-256-GCM ciphertext and tag) of the 32 key bytes, with the case ID
// and key ID as additional data, so a key cannot be moved to another case.
// The key ID is random; the store's case_keys bucket records it for every
// case whose content uses the key, and Check compares the two.
//
// Write protocol: the whole file is written to <path>.keys.tmp, fsynced,
// renamed over <path>.keys, and the directory is fsynced. A key is added
// before the commit that first uses it (a crash leaves at worst a key no
// record uses) and removed after the commit that purged its content (a
// crash leaves the key of a purged case, which the next Open removes).
const keyringMagic = "casebot keyring 1\n"

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
// unwrapped when a case's content is first sealed or opened. The copies
// of the keyring's map share a key's slot; a removed key takes its slot
// with it.
type keySlot struct {
	mu   sync.Mutex
	seal atomic.Pointer[sealer]
}

// keyring is the in-memory copy of the keyring, over where it is kept (a
// keyStore: the file beside a bbolt store, a table of a PostgreSQL store).
// Reads take the current map without locking; writers store the change,
// then publish a new map, one writer at a time.
type keyring struct {
	store    keyStore
	master   *sealer
	readOnly bool

	keys    atomic.Pointer[map[string]caseKey]
	writeMu sync.Mutex

	// afterWrite, when set (tests), runs after each change is stored.
	afterWrite func()
}

// keyStore keeps a keyring's wrapped keys (caseKey.slot unset).
type keyStore interface {
	// load returns every key.
	load() (map[string]caseKey, error)
	// add stores the keys of the cases in added; all is the whole keyring
	// with them. It returns the keys stored for those cases: on a store
	// several instances share, another instance's key for the same case
	// wins over ours.
	add(all map[string]caseKey, added []string) (map[string]caseKey, error)
	// remove destroys the keys of ids; all is the keyring without them.
	remove(all map[string]caseKey, ids []string) error
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
	r.keys.Store(&keys)
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

// fileKeys is the keyring file beside a bbolt store; one process holds
// the store, so the file is the whole truth and lookup finds nothing new.
type fileKeys struct{ path string }

func (f fileKeys) String() string { return f.path }

func (f fileKeys) load() (map[string]caseKey, error) {
	raw, err := os.ReadFile(f.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return map[string]caseKey{}, nil
	case err != nil:
		return nil, fmt.Errorf("store: read keyring: %w", err)
	}
	keys, err := decodeKeyring(raw)
	if err != nil {
		return nil, fmt.Errorf("store: keyring %s: %w; restore it from a copy (it is never rewritten while damaged)", f.path, err)
	}
	return keys, nil
}

func (f fileKeys) add(all map[string]caseKey, added []string) (map[string]caseKey, error) {
	if err := writeFileSync(f.path, encodeKeyring(all)); err != nil {
		return nil, fmt.Errorf("store: write keyring: %w", err)
	}
	out := make(map[string]caseKey, len(added))
	for _, id := range added {
		out[id] = all[id]
	}
	return out, nil
}

func (f fileKeys) remove(all map[string]caseKey, _ []string) error {
	if err := writeFileSync(f.path, encodeKeyring(all)); err != nil {
		return fmt.Errorf("store: write keyring: %w", err)
	}
	return nil
}

func (f fileKeys) lookup(string) (caseKey, bool, error) { return caseKey{}, false, nil }

func keyAD(caseID string, id [keyIDLen]byte) []byte {
	return append(append([]byte("casebot case key\x00"+caseID), 0), id[:]...)
}

func decodeKeyring(raw []byte) (map[string]caseKey, error) {
	if len(raw) < len(keyringMagic)+sha256.Size || !bytes.HasPrefix(raw, []byte(keyringMagic)) {
		return nil, errors.New("not a casebot keyring (or an unknown version)")
	}
	body, sum := raw[:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	if h := sha256.Sum256(body); !bytes.Equal(h[:], sum) {
		return nil, errors.New("checksum mismatch (damaged or truncated)")
	}
	d := dec{b: body[len(keyringMagic):]}
	n := d.count(1 + keyIDLen + 1)
	keys := make(map[string]caseKey, n)
	for range n {
		caseID := d.str()
		var k caseKey
		copy(k.id[:], d.rawN(keyIDLen))
		k.wrapped = d.bytes()
		if d.err != nil {
			break
		}
		keys[caseID] = k
	}
	if d.err != nil {
		return nil, d.err
	}
	if len(d.b) != 0 {
		return nil, errors.New("trailing bytes")
	}
	return keys, nil
}

func encodeKeyring(keys map[string]caseKey) []byte {
	e := enc{b: []byte(keyringMagic)}
	e.uint(uint64(len(keys)))
	for _, id := range slices.Sorted(maps.Keys(keys)) {
		k := keys[id]
		e.str(id)
		e.b = append(e.b, k.id[:]...)
		e.bytes(k.wrapped)
	}
	sum := sha256.Sum256(e.b)
	return append(e.b, sum[:]...)
}

// get returns the data key of case id from the cache.
func (r *keyring) get(id string) (caseKey, bool) {
	k, ok := (*r.keys.Load())[id]
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
	next := maps.Clone(*r.keys.Load())
	next[id] = k
	r.keys.Store(&next)
	return k, true, nil
}

// size returns the number of keys.
func (r *keyring) size() int { return len(*r.keys.Load()) }

// ensure gives every case in ids that has no key a new one, in one write
// of the store; it returns once the keys are durable.
func (r *keyring) ensure(ids ...string) error {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	old := *r.keys.Load()
	var next map[string]caseKey
	var added []string
	for _, id := range ids {
		if _, ok := old[id]; ok {
			continue
		}
		if next == nil {
			next = maps.Clone(old)
		}
		if _, ok := next[id]; ok {
			continue
		}
		k, err := r.newKey(id)
		if err != nil {
			return err
		}
		next[id] = k
		added = append(added, id)
	}
	if next == nil {
		return nil
	}
	if r.readOnly {
		return errReadOnlyKeyring
	}
	stored, err := r.store.add(next, added)
	if err != nil {
		return err
	}
	for id, k := range stored {
		if k.id == next[id].id {
			continue
		}
		// Another instance made this case's key first: use theirs.
		if next[id], err = r.unwrap(id, k); err != nil {
			return fmt.Errorf("store: keyring %s: %w", r.store, err)
		}
	}
	r.publish(next)
	return nil
}

// remove destroys the keys of ids, in one write of the store.
func (r *keyring) remove(ids ...string) error {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	old := *r.keys.Load()
	next := maps.Clone(old)
	for _, id := range ids {
		delete(next, id)
	}
	if _, file := r.store.(fileKeys); file && len(next) == len(old) {
		return nil
	}
	if r.readOnly {
		return errReadOnlyKeyring
	}
	if err := r.store.remove(next, ids); err != nil {
		return err
	}
	r.publish(next)
	return nil
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

// publish makes keys the cache. Callers hold writeMu.
func (r *keyring) publish(keys map[string]caseKey) {
	r.keys.Store(&keys)
	if r.afterWrite != nil {
		r.afterWrite()
	}
}

// writeFileSync replaces path with data: a temporary file beside it,
// fsynced, renamed over path, and the directory fsynced, so that after a
// crash path holds either the old or the new content, whole.
func writeFileSync(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	err = dir.Sync()
	if cerr := dir.Close(); err == nil {
		err = cerr
	}
	return err
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
