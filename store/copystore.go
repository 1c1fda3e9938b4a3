package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/casebot/casebot/internal/pgurl"
	"github.com/casebot/casebot/store/kv"
)

// Copying a store (SPEC §2, copy-store) works on the engines, below the
// store's logic: every bucket, every key and value and every bucket
// sequence, byte for byte, so sealed content stays sealed and no
// migration runs on the target; then the keyring, its keys still wrapped.
// The source is read in one read transaction (one consistent state, also
// on PostgreSQL) and written in bounded write transactions, a chunk of
// keys at a time, so neither side ever holds the whole store in memory.
// Then both sides are read again, in key order, and compared.

// Bounds of one write transaction of a copy: whichever is reached first.
// A single larger value (a document) makes a chunk of its own. Variables
// so that tests can make chunks small.
var (
	copyChunkBytes = 16 << 20
	copyChunkKeys  = 20000
)

// progressStep is how many bytes pass between two progress lines.
const progressStep = 256 << 20

// ErrTargetNotEmpty is CopyStore's error, wrapped with what was found,
// for a target that holds data or a keyring; nothing is then changed.
var ErrTargetNotEmpty = errors.New("the target is not empty")

// CopyOptions configure CopyStore.
type CopyOptions struct {
	// Timeout bounds the wait for a bbolt file's lock, the source's or
	// the target's; 1.5 s when zero.
	Timeout time.Duration
	// Progress, when set, receives a line now and then while a large
	// store is copied and verified.
	Progress io.Writer
}

// BucketCount is one bucket of a verified copy.
type BucketCount struct {
	Name     string
	Keys     int64
	Bytes    int64 // of keys and values
	Sequence uint64
}

// CopyReport is what CopyStore copied and then verified.
type CopyReport struct {
	Buckets []BucketCount // in bucket order
	Keys    int64
	Bytes   int64
	// Keyring is whether the source has a keyring (an encrypted store
	// with cases); KeyringKeys counts its keys.
	Keyring     bool
	KeyringKeys int
}

// MismatchError is a copy that does not read back as its source. It
// names the bucket and, when it is about one record, the key; never a
// value.
type MismatchError struct {
	Bucket string
	Key    []byte // nil when the difference is the bucket's
	What   string
}

func (e *MismatchError) Error() string {
	if e.Key == nil {
		return fmt.Sprintf("the copy differs from its source: bucket %s: %s", e.Bucket, e.What)
	}
	return fmt.Sprintf("the copy differs from its source: bucket %s, key %x: %s", e.Bucket, e.Key, e.What)
}

// CopyStore copies the whole store at from to to, each a bbolt file path
// or a PostgreSQL URL: every bucket, key, value and sequence as stored,
// and the keyring; then it reads both back and compares them record by
// record. It refuses, changing nothing, a target that holds any key, a
// bucket sequence or a keyring (ErrTargetNotEmpty), a source that is not
// a casebot store or has a newer schema, and a bbolt source another
// process holds (ErrInUse, within opts.Timeout). When the copy or its
// verification fails, what it wrote is removed again.
func CopyStore(ctx context.Context, from, to string, opts CopyOptions) (CopyReport, error) {
	var rep CopyReport
	if opts.Timeout <= 0 {
		opts.Timeout = 1500 * time.Millisecond
	}
	if sameLocation(from, to) {
		return rep, fmt.Errorf("store: copy-store: %s is the source itself", pgurl.Redact(to))
	}
	src, err := openEngine(ctx, from, Options{ReadOnly: true, Timeout: opts.Timeout})
	if errors.Is(err, ErrInUse) {
		return rep, fmt.Errorf("store: copy-store: the source %s is %w (a running casebot serve?); stop it first, so that the copy misses nothing", from, ErrInUse)
	} else if err != nil {
		return rep, err
	}
	defer src.Close()
	if err := checkCopySource(ctx, src, from); err != nil {
		return rep, err
	}
	srcKeys, err := storedKeyringOf(from, src)
	if err != nil {
		return rep, err
	}

	created := false
	if !pgurl.Is(to) {
		if _, err := os.Lstat(to); errors.Is(err, os.ErrNotExist) {
			created = true
		}
	}
	dst, err := openEngine(ctx, to, Options{Timeout: opts.Timeout})
	if errors.Is(err, ErrInUse) {
		return rep, fmt.Errorf("store: copy-store: the target %s is %w; nothing was copied", to, ErrInUse)
	} else if err != nil {
		return rep, err
	}
	closed := false
	defer func() {
		if !closed {
			_ = dst.Close()
		}
	}()
	dstKeys, err := storedKeyringOf(to, dst)
	if err == nil {
		err = checkCopyTarget(ctx, dst, dstKeys, to)
	}
	if err != nil {
		closed = true
		_ = dst.Close()
		if created {
			_ = os.Remove(to)
		}
		return rep, err
	}

	rep, err = copyAndVerify(ctx, src, dst, srcKeys, dstKeys, newProgress(opts.Progress))
	if err != nil {
		// Undo: the target was empty, so everything in it is ours.
		_ = dstKeys.drop(context.WithoutCancel(ctx))
		if !created {
			_ = dst.Update(context.WithoutCancel(ctx), deleteAllBuckets)
		}
		closed = true
		_ = dst.Close()
		if created {
			_ = os.Remove(to)
		}
		return CopyReport{}, err
	}
	closed = true
	if err := dst.Close(); err != nil {
		return rep, fmt.Errorf("store: copy-store: close %s: %w", pgurl.Redact(to), err)
	}
	return rep, nil
}

// copyTestHook, when set (tests), runs between the copy and its
// verification.
var copyTestHook func(dst kv.Engine) error

// copyAndVerify copies the buckets and the keyring, then compares.
func copyAndVerify(ctx context.Context, src, dst kv.Engine, srcKeys, dstKeys storedKeyring, p *progress) (CopyReport, error) {
	if err := copyBuckets(ctx, src, dst, p); err != nil {
		return CopyReport{}, err
	}
	if copyTestHook != nil {
		if err := copyTestHook(dst); err != nil {
			return CopyReport{}, err
		}
	}
	n, exists, err := copyStoredKeyring(ctx, srcKeys, dstKeys)
	if err != nil {
		return CopyReport{}, err
	}
	rep, err := compareBuckets(ctx, src, dst, p)
	if err != nil {
		return CopyReport{}, err
	}
	rep.Keyring, rep.KeyringKeys = exists, n
	return rep, nil
}

// checkCopySource refuses what is not a casebot store, or one of a newer
// schema than this casebot knows.
func checkCopySource(ctx context.Context, src kv.Engine, from string) error {
	return src.View(ctx, func(tx kv.Tx) error {
		v := schemaVersion(tx)
		if v == 0 {
			return fmt.Errorf("store: copy-store: %s is not a casebot store (it has no schema version)", pgurl.Redact(from))
		}
		if err := checkNewer(v); err != nil {
			return fmt.Errorf("store: copy-store: %s: %w", pgurl.Redact(from), err)
		}
		return nil
	})
}

// checkCopyTarget refuses a target holding any key, any bucket sequence
// or a keyring.
func checkCopyTarget(ctx context.Context, dst kv.Engine, keys storedKeyring, to string) error {
	err := dst.View(ctx, func(tx kv.Tx) error {
		return tx.ForEachBucket(func(name []byte) error {
			b := tx.Bucket(name)
			if k, _ := b.Cursor().First(); k != nil {
				return fmt.Errorf("store: copy-store: %s: %w (bucket %s holds keys); nothing was copied", pgurl.Redact(to), ErrTargetNotEmpty, name)
			}
			if s := b.Sequence(); s != 0 {
				return fmt.Errorf("store: copy-store: %s: %w (bucket %s has sequence %d); nothing was copied", pgurl.Redact(to), ErrTargetNotEmpty, name, s)
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	if exists, err := keys.exists(ctx); err != nil {
		return err
	} else if exists {
		return fmt.Errorf("store: copy-store: %s: %w (it has a keyring: %s); nothing was copied", pgurl.Redact(to), ErrTargetNotEmpty, keys.where())
	}
	return nil
}

// deleteAllBuckets removes every bucket of tx.
func deleteAllBuckets(tx kv.Tx) error {
	names, err := bucketNames(tx)
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := tx.DeleteBucket(name); err != nil {
			return err
		}
	}
	return nil
}

// bucketNames lists tx's buckets, copied out of the transaction.
func bucketNames(tx kv.Tx) ([][]byte, error) {
	var names [][]byte
	err := tx.ForEachBucket(func(name []byte) error {
		names = append(names, bytes.Clone(name))
		return nil
	})
	return names, err
}

// chunk is a run of one bucket's keys and values, copied out of the
// source's transaction, to be written in one target transaction.
type chunk struct {
	keys, vals [][]byte
	size       int
}

// copyBuckets copies every bucket of src into dst, whose buckets hold
// nothing: one read transaction on src, a write transaction on dst per
// chunk of keys (and one per bucket for its creation and sequence).
func copyBuckets(ctx context.Context, src, dst kv.Engine, p *progress) error {
	return src.View(ctx, func(stx kv.Tx) error {
		names, err := bucketNames(stx)
		if err != nil {
			return err
		}
		for _, name := range names {
			b := stx.Bucket(name)
			seq := b.Sequence()
			if err := dst.Update(ctx, func(tx kv.Tx) error {
				db, err := tx.CreateBucketIfNotExists(name)
				if err != nil {
					return fmt.Errorf("create bucket %s: %w", name, err)
				}
				return db.SetSequence(seq)
			}); err != nil {
				return fmt.Errorf("store: copy-store: %w", err)
			}
			c := b.Cursor()
			k, v := c.First()
			for k != nil {
				var ch chunk
				for ; k != nil && (len(ch.keys) == 0 || ch.size+len(k)+len(v) <= copyChunkBytes && len(ch.keys) < copyChunkKeys); k, v = c.Next() {
					ch.keys = append(ch.keys, bytes.Clone(k))
					ch.vals = append(ch.vals, bytes.Clone(v))
					ch.size += len(k) + len(v)
				}
				if err := dst.Update(ctx, func(tx kv.Tx) error { return putChunk(tx, name, &ch) }); err != nil {
					return fmt.Errorf("store: copy-store: bucket %s: %w", name, err)
				}
				p.add("copied", name, len(ch.keys), ch.size)
			}
		}
		return nil
	})
}

func putChunk(tx kv.Tx, name []byte, ch *chunk) error {
	b := tx.Bucket(name)
	if b == nil {
		return fmt.Errorf("bucket %s vanished from the target", name)
	}
	b.AppendMostly()
	for i, k := range ch.keys {
		// The target was empty and the source's keys are unique: every
		// key is new (PostgreSQL inserts it without looking first).
		if err := b.PutNew(k, ch.vals[i]); err != nil {
			return err
		}
	}
	return nil
}

// compareBuckets reads src and dst again, each in one read transaction,
// and compares every bucket's sequence and keys and values in key order.
// A bucket only in dst is a difference unless it is empty, with no
// sequence. It returns the counts of what matched.
func compareBuckets(ctx context.Context, src, dst kv.Engine, p *progress) (CopyReport, error) {
	var rep CopyReport
	err := src.View(ctx, func(stx kv.Tx) error {
		return dst.View(ctx, func(dtx kv.Tx) error {
			names, err := bucketNames(stx)
			if err != nil {
				return err
			}
			seen := map[string]bool{}
			for _, name := range names {
				seen[string(name)] = true
				bc, err := compareBucket(stx.Bucket(name), dtx.Bucket(name), name, p)
				if err != nil {
					return err
				}
				rep.Buckets = append(rep.Buckets, bc)
				rep.Keys += bc.Keys
				rep.Bytes += bc.Bytes
			}
			return dtx.ForEachBucket(func(name []byte) error {
				if seen[string(name)] {
					return nil
				}
				b := dtx.Bucket(name)
				if k, _ := b.Cursor().First(); k != nil || b.Sequence() != 0 {
					return &MismatchError{Bucket: string(name), What: "is in the copy but not in the source"}
				}
				return nil
			})
		})
	})
	return rep, err
}

func compareBucket(sb, db kv.Bucket, name []byte, p *progress) (BucketCount, error) {
	bc := BucketCount{Name: string(name), Sequence: sb.Sequence()}
	mismatch := func(key []byte, what string) error {
		return &MismatchError{Bucket: bc.Name, Key: bytes.Clone(key), What: what}
	}
	if db == nil {
		return bc, &MismatchError{Bucket: bc.Name, What: "missing from the copy"}
	}
	if s := db.Sequence(); s != bc.Sequence {
		return bc, &MismatchError{Bucket: bc.Name, What: fmt.Sprintf("sequence %d in the source, %d in the copy", bc.Sequence, s)}
	}
	sc, dc := sb.Cursor(), db.Cursor()
	sk, sv := sc.First()
	dk, dv := dc.First()
	var pending, pendingBytes int
	for sk != nil || dk != nil {
		switch c := cmpKeys(sk, dk); {
		case c < 0:
			return bc, mismatch(sk, "missing from the copy")
		case c > 0:
			return bc, mismatch(dk, "is in the copy but not in the source")
		case !bytes.Equal(sv, dv):
			return bc, mismatch(sk, fmt.Sprintf("the values differ (%d bytes in the source, %d in the copy)", len(sv), len(dv)))
		}
		n := len(sk) + len(sv)
		bc.Keys++
		bc.Bytes += int64(n)
		pending++
		pendingBytes += n
		if pendingBytes >= copyChunkBytes {
			p.add("verified", name, pending, pendingBytes)
			pending, pendingBytes = 0, 0
		}
		sk, sv = sc.Next()
		dk, dv = dc.Next()
	}
	p.add("verified", name, pending, pendingBytes)
	return bc, nil
}

// cmpKeys orders keys with nil (past the end) after every key.
func cmpKeys(a, b []byte) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return bytes.Compare(a, b)
}

// progress writes a line each time another progressStep bytes passed.
type progress struct {
	w         io.Writer
	keys      int64
	bytes     int64
	next      int64
	lastPhase string
}

func newProgress(w io.Writer) *progress { return &progress{w: w, next: progressStep} }

func (p *progress) add(phase string, bucket []byte, keys, n int) {
	if p == nil || p.w == nil {
		return
	}
	if phase != p.lastPhase {
		p.keys, p.bytes, p.next, p.lastPhase = 0, 0, progressStep, phase
	}
	p.keys += int64(keys)
	p.bytes += int64(n)
	if p.bytes >= p.next {
		for p.next <= p.bytes {
			p.next += progressStep
		}
		fmt.Fprintf(p.w, "copy-store: %s %d keys, %d MiB (now in %s)\n", phase, p.keys, p.bytes>>20, bucket)
	}
}

// sameLocation reports whether two store locations are the same store:
// the same URL, or paths of the same file.
func sameLocation(a, b string) bool {
	if pgurl.Is(a) || pgurl.Is(b) {
		return a == b
	}
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false
	}
	return os.SameFile(fa, fb)
}
