package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"iter"
	"maps"
	"os"
	"path/filepath"
	"slices"
)

// The keyring file beside a bbolt store, <store path>.keys, mode 0600.
//
// Format (version 2):
//
//	"casebot keyring 2\n"
//	per key, a record:
//	  uvarint  length of the payload
//	  payload: uvarint length, case ID; 8-byte key ID; uvarint length, wrapped key
//	  4 bytes  CRC-32C (Castagnoli) of the length and the payload, big-endian
//
// A new key is appended and the file fsynced: the cost of a new case does
// not grow with the cases before it (the whole file rewritten, checksummed
// and fsynced for every new case took 130 ms at 100,000 cases). When keys
// are destroyed the file is rewritten whole, beside it and renamed over
// it, so that no copy of a destroyed key stays in it.
//
// A crash while a key is appended can leave its record unfinished at the
// end of the file (or zeros where it was to be, on file systems that grow
// a file before its bytes are written); that key was never used (it is durable before the
// commit that first uses it), and Open drops the record, after checking
// that every case's content has its key, and rewrites the file. An
// unreadable record anywhere else, or a last one some content's key is
// missing without, is damage: Open refuses the keyring and never rewrites
// it.
//
// Version 1 (read, and rewritten as version 2 at the first writable Open)
// was the magic "casebot keyring 1\n", a uvarint count, the same payloads
// one after the other, and a SHA-256 of everything before it.
const (
	keyringMagic   = "casebot keyring 2\n"
	keyringMagicV1 = "casebot keyring 1\n"
	// maxKeyRecord bounds a record's payload: a length beyond it is
	// damage, not a record cut short.
	maxKeyRecord = 1024
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// fileKeys is the keyring file beside a bbolt store; one process holds
// the store, so the file is the whole truth and lookup finds nothing new.
type fileKeys struct {
	path string
	// What load found: whether the file exists, its length up to the end
	// of its last whole record, whether it must be rewritten (version 1,
	// or a record dropped at its end) and how many bytes were dropped.
	exists  bool
	size    int64
	untidy  bool
	dropped int
	// broken is set when an append failed and what it may have left
	// could not be cut off: no more appends until a restart repairs it.
	broken error
}

func (f *fileKeys) String() string { return f.path }

func (f *fileKeys) load() (map[string]caseKey, error) {
	raw, err := os.ReadFile(f.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return map[string]caseKey{}, nil
	case err != nil:
		return nil, fmt.Errorf("store: read keyring: %w", err)
	}
	kf, err := decodeKeyringFile(raw)
	if err != nil {
		return nil, fmt.Errorf("store: keyring %s: %w; restore it from a copy (it is never rewritten while damaged)", f.path, err)
	}
	f.exists, f.size, f.untidy, f.dropped = true, int64(kf.size), kf.v1 || kf.dropped > 0, kf.dropped
	return kf.keys, nil
}

// add appends the records of keys and fsyncs the file (creating it whole
// when there is none).
func (f *fileKeys) add(keys map[string]caseKey) (map[string]caseKey, error) {
	if f.broken != nil {
		return nil, f.broken
	}
	if f.untidy {
		// rewrite runs at a writable Open, before any key is added.
		return nil, fmt.Errorf("store: keyring %s: not rewritten since Open found it old or unfinished", f.path)
	}
	var recs []byte
	for _, id := range slices.Sorted(maps.Keys(keys)) {
		recs = appendKeyRecord(recs, id, keys[id])
	}
	if !f.exists {
		data := append([]byte(keyringMagic), recs...)
		if err := writeFileSync(f.path, data); err != nil {
			return nil, fmt.Errorf("store: write keyring: %w", err)
		}
		f.exists, f.size = true, int64(len(data))
		return keys, nil
	}
	if err := f.append(recs); err != nil {
		return nil, fmt.Errorf("store: write keyring: %w", err)
	}
	return keys, nil
}

// append writes recs at the end of the file and fsyncs it. On a failure
// it cuts the file back to where it was, so that the next record does not
// follow half of this one.
func (f *fileKeys) append(recs []byte) error {
	fh, err := os.OpenFile(f.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	if fi, err := fh.Stat(); err != nil || fi.Size() != f.size {
		// Not the file this process wrote last (replaced by another copy,
		// say): appending to it could leave keys out. The caller rewrites
		// it whole instead.
		_ = fh.Close()
		if err == nil {
			err = fmt.Errorf("keyring %s is %d bytes, not the %d written", f.path, fi.Size(), f.size)
		}
		return err
	}
	_, err = fh.Write(recs)
	if err == nil {
		err = fh.Sync()
	}
	if err != nil {
		if terr := fh.Truncate(f.size); terr != nil || fh.Sync() != nil {
			f.broken = fmt.Errorf("store: keyring %s: a failed write may have left half a record at its end; restart casebot to repair it (%w)", f.path, err)
		}
		_ = fh.Close()
		return err
	}
	if err := fh.Close(); err != nil {
		return err
	}
	f.size += int64(len(recs))
	return nil
}

// remove rewrites the file with the keys of rest alone.
func (f *fileKeys) remove(_ []string, rest iter.Seq2[string, caseKey]) error {
	return f.rewrite(maps.Collect(rest))
}

// rewrite replaces the file with a version 2 file of keys: beside it,
// fsynced, renamed over it.
func (f *fileKeys) rewrite(keys map[string]caseKey) error {
	data := encodeKeyring(keys)
	if err := writeFileSync(f.path, data); err != nil {
		return fmt.Errorf("store: write keyring: %w", err)
	}
	f.exists, f.size, f.untidy, f.dropped, f.broken = true, int64(len(data)), false, 0, nil
	return nil
}

func (f *fileKeys) lookup(string) (caseKey, bool, error) { return caseKey{}, false, nil }

// keyringFile is a decoded keyring file.
type keyringFile struct {
	keys    map[string]caseKey
	v1      bool
	size    int // bytes up to the end of the last whole record
	dropped int // bytes of an unfinished last record, dropped
}

// decodeKeyring returns the keys of a keyring file of either version,
// without an unfinished last record.
func decodeKeyring(raw []byte) (map[string]caseKey, error) {
	kf, err := decodeKeyringFile(raw)
	return kf.keys, err
}

func decodeKeyringFile(raw []byte) (keyringFile, error) {
	switch {
	case bytes.HasPrefix(raw, []byte(keyringMagic)):
		return decodeKeyringV2(raw)
	case bytes.HasPrefix(raw, []byte(keyringMagicV1)):
		keys, err := decodeKeyringV1(raw)
		return keyringFile{keys: keys, v1: true, size: len(raw)}, err
	}
	return keyringFile{}, errors.New("not a casebot keyring (or an unknown version)")
}

func decodeKeyringV2(raw []byte) (keyringFile, error) {
	kf := keyringFile{keys: map[string]caseKey{}}
	off := len(keyringMagic)
	for off < len(raw) {
		b := raw[off:]
		if allZero(b) {
			// An append whose length reached the disk before its bytes
			// (some file systems leave zeros after a crash); no record
			// starts with a zero byte.
			kf.dropped = len(b)
			break
		}
		n, k := binary.Uvarint(b)
		if k < 0 || k > 0 && (n == 0 || n > maxKeyRecord) {
			return kf, fmt.Errorf("key record at byte %d: bad length", off)
		}
		end := k + int(n) + crc32.Size
		if k == 0 || end > len(b) {
			// Cut short by the end of the file: an append a crash
			// interrupted.
			kf.dropped = len(b)
			break
		}
		rec := b[:k+int(n)]
		if crc32.Checksum(rec, castagnoli) != binary.BigEndian.Uint32(b[k+int(n):end]) {
			if end == len(b) {
				kf.dropped = len(b) // the last record: possibly unfinished
				break
			}
			return kf, fmt.Errorf("key record at byte %d: checksum mismatch (damaged)", off)
		}
		d := dec{b: rec[k:]}
		id := d.str()
		var key caseKey
		copy(key.id[:], d.rawN(keyIDLen))
		key.wrapped = d.bytes()
		if d.err == nil && len(d.b) != 0 {
			d.err = errors.New("trailing bytes")
		}
		if d.err != nil {
			return kf, fmt.Errorf("key record at byte %d: %w", off, d.err)
		}
		if _, dup := kf.keys[id]; dup {
			return kf, fmt.Errorf("key record at byte %d: a second key for case %s", off, id)
		}
		kf.keys[id] = key
		off += end
	}
	kf.size = off
	return kf, nil
}

// allZero reports whether every byte of b is zero.
func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func decodeKeyringV1(raw []byte) (map[string]caseKey, error) {
	if len(raw) < len(keyringMagicV1)+sha256.Size {
		return nil, errors.New("not a casebot keyring (or an unknown version)")
	}
	body, sum := raw[:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	if h := sha256.Sum256(body); !bytes.Equal(h[:], sum) {
		return nil, errors.New("checksum mismatch (damaged or truncated)")
	}
	d := dec{b: body[len(keyringMagicV1):]}
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

// encodeKeyring returns a version 2 keyring file of keys, in case ID
// order.
func encodeKeyring(keys map[string]caseKey) []byte {
	b := []byte(keyringMagic)
	for _, id := range slices.Sorted(maps.Keys(keys)) {
		b = appendKeyRecord(b, id, keys[id])
	}
	return b
}

// appendKeyRecord appends the record of case id's key k to b.
func appendKeyRecord(b []byte, id string, k caseKey) []byte {
	e := enc{}
	e.str(id)
	e.b = append(e.b, k.id[:]...)
	e.bytes(k.wrapped)
	start := len(b)
	b = binary.AppendUvarint(b, uint64(len(e.b)))
	b = append(b, e.b...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
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
