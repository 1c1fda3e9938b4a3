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
// file of its own beside the store: <store path>.keys, mode 0600. Keeping
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
	wrapped []byte  // as stored in the file
	seal    *sealer // version sealCaseGCM
}

// keyring is the in-memory copy of the keyring file. Reads take the current
// map without locking; writers build a new map, write the file and then
// publish the map, one writer at a time.
type keyring struct {
	path     string
	master   *sealer
	readOnly bool

	keys    atomic.Pointer[map[string]caseKey]
	writeMu sync.Mutex

	// afterWrite, when set (tests), runs after each file replacement.
	afterWrite func()
}

// keyringPath is the keyring file of the store at dbPath.
func keyringPath(dbPath string) string { return dbPath + ".keys" }

// loadKeyring reads the keyring at path, unwrapping every key with master.
// A missing file is an empty keyring; a damaged one, or one whose keys the
// master key does not unwrap, is an error: it is never overwritten.
func loadKeyring(path string, master *sealer, readOnly bool) (*keyring, error) {
	r := &keyring{path: path, master: master, readOnly: readOnly}
	keys := map[string]caseKey{}
	raw, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("store: read keyring: %w", err)
	default:
		if keys, err = decodeKeyring(raw, master); err != nil {
			return nil, fmt.Errorf("store: keyring %s: %w; restore it from a copy (it is never rewritten while damaged)", path, err)
		}
	}
	r.keys.Store(&keys)
	return r, nil
}

func keyAD(caseID string, id [keyIDLen]byte) []byte {
	return append(append([]byte("casebot case key\x00"+caseID), 0), id[:]...)
}

func decodeKeyring(raw []byte, master *sealer) (map[string]caseKey, error) {
	keys, err := parseKeyring(raw)
	if err != nil {
		return nil, err
	}
	for caseID, k := range keys {
		plain, err := master.open(keyAD(caseID, k.id), k.wrapped)
		if err != nil {
			return nil, fmt.Errorf("key of %s: %w (is this the store's master key?)", caseID, err)
		}
		if k.seal, err = newCaseSealer(plain); err != nil {
			return nil, fmt.Errorf("key of %s: %w", caseID, err)
		}
		keys[caseID] = k
	}
	return keys, nil
}

// parseKeyring reads a keyring file's keys as stored, still wrapped (no
// seal): what copy-store moves without the master key.
func parseKeyring(raw []byte) (map[string]caseKey, error) {
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

// get returns the data key of case id.
func (r *keyring) get(id string) (caseKey, bool) {
	k, ok := (*r.keys.Load())[id]
	return k, ok
}

// size returns the number of keys.
func (r *keyring) size() int { return len(*r.keys.Load()) }

// ensure gives every case in ids that has no key a new one, in one write of
// the file; it returns once the file is durable.
func (r *keyring) ensure(ids ...string) error {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	old := *r.keys.Load()
	var next map[string]caseKey
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
	}
	if next == nil {
		return nil
	}
	return r.replace(next)
}

// remove destroys the keys of ids, in one write of the file.
func (r *keyring) remove(ids ...string) error {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	old := *r.keys.Load()
	next := maps.Clone(old)
	for _, id := range ids {
		delete(next, id)
	}
	if len(next) == len(old) {
		return nil
	}
	return r.replace(next)
}

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
	var err error
	k.seal, err = newCaseSealer(raw)
	clear(raw)
	return k, err
}

// replace writes keys to the file atomically and durably, then publishes
// them. Callers hold writeMu.
func (r *keyring) replace(keys map[string]caseKey) error {
	if r.readOnly {
		return errors.New("store: keyring is read-only (the store was opened read-only)")
	}
	if err := writeFileSync(r.path, encodeKeyring(keys)); err != nil {
		return fmt.Errorf("store: write keyring: %w", err)
	}
	r.keys.Store(&keys)
	if r.afterWrite != nil {
		r.afterWrite()
	}
	return nil
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
