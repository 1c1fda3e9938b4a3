// Package store keeps casebot's state in one bbolt file: cases and their
// indexes, notes (encrypted at rest when a key is set), the append-only audit
// trail and the outbox.
//
// Layout: every bucket is a package-level name created in one transaction at
// Open; the meta bucket holds the schema version, and migrations (an
// append-only slice in migrate.go) bring an older file up to date. Every
// write commits its record, its index entries, its audit event and its outbox
// messages in one transaction.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/internal/pgurl"
	"github.com/casebot/casebot/store/kv"
	"github.com/casebot/casebot/store/kv/boltkv"
)

// Bucket names. Adapters that later keep their own small state add their
// buckets here so that Open creates them with the rest.
var (
	bucketMeta   = []byte("meta")
	bucketSeq    = []byte("seq")       // year -> last case sequence (big-endian uint64)
	bucketCases  = []byte("cases")     // case ID -> case record (casecodec.go; JSON before schema 6)
	bucketNotes  = []byte("note_data") // global note sequence (uint64) -> note record
	bucketNoteN  = []byte("note_idx")  // case ID \x00 N (uint32) -> global note sequence
	bucketAudit  = []byte("audit_log") // global event sequence (uint64) -> audit event
	bucketAuditN = []byte("audit_idx") // case ID \x00 event sequence -> ""

	bucketIdxMediator = []byte("idx_mediator") // mediator \x00 case ID -> sort value
	bucketIdxCoMed    = []byte("idx_comed")    // co-mediator \x00 case ID -> sort value
	bucketIdxStatus   = []byte("idx_status")   // status \x00 case ID -> sort value
	bucketIdxEmail    = []byte("idx_email")    // email \x00 case ID -> ""
	bucketIdxName     = []byte("idx_name")     // normalised name \x00 case ID -> ""
	bucketIdxWord     = []byte("idx_word")     // name word \x00 case ID \x00 normalised name -> ""
	bucketIdxDeadline = []byte("idx_deadline") // due (8) case ID \x00 N (4) -> JSON DeadlineRef; unmet deadlines of open cases
	bucketIdxSession  = []byte("idx_session")  // start (8) case ID \x00 N (4) -> JSON SessionRef; live sessions of open cases
	bucketIdxPoll     = []byte("idx_poll")     // reminder time (8) case ID -> ""; open polls of open cases not yet reminded

	bucketOutbox    = []byte("outbox")      // ID (uint64) -> outbox record
	bucketOutboxKey = []byte("outbox_key")  // hashed Key (outKey) -> ID of the pending message
	bucketOutboxTo  = []byte("outbox_to")   // To \x00 ID -> ""
	bucketSent      = []byte("sent")        // hashed Key (outKey) of a delivered message -> delivery time
	bucketDead      = []byte("outbox_dead") // ID -> outbox record of a message that can never be delivered
	bucketMsgID     = []byte("msgid")       // Message-ID of an email we sent -> case ID

	bucketCaseKeys = []byte("case_keys") // case ID -> ID of its data key in the keyring; "" once purged (casekeys.go)
)

// indexBuckets are rebuilt from the case records by reindex and compared by Check.
var indexBuckets = [][]byte{bucketIdxMediator, bucketIdxCoMed, bucketIdxStatus, bucketIdxEmail, bucketIdxName, bucketIdxWord, bucketIdxDeadline, bucketIdxSession, bucketIdxPoll,
	bucketIdxUrgent, bucketIdxUrgentMed, bucketIdxClosed, bucketIdxDeadlineMed}

// allBuckets is every top-level bucket of the current schema.
var allBuckets = append([][]byte{bucketMeta, bucketSeq, bucketCases, bucketNotes, bucketNoteN, bucketAudit, bucketAuditN,
	bucketOutbox, bucketOutboxKey, bucketOutboxTo, bucketSent, bucketDead, bucketMsgID, bucketCaseKeys, bucketAgg, bucketTerms,
	bucketDeliveries, bucketIdxNoteMed}, indexBuckets...)

// Meta keys.
var (
	metaSchemaVersion = []byte("schema_version")
	metaKeyCheck      = []byte("key_check")
	metaCreated       = []byte("created")
	// metaKeysSettled is set once every case has its data key recorded
	// (settleKeys): putCase records a case's key in the commit that writes
	// it, so from then on only the purge marks need reading at Open.
	metaKeysSettled = []byte("case_keys_settled")
)

// keyCheckText is sealed into meta at creation so a wrong key is refused at Open.
const keyCheckText = "casebot store key check"

// Options configure Open.
type Options struct {
	// CasePrefix starts case IDs (MED in MED-2026-0042); "MED" when empty.
	CasePrefix string
	// EncryptionKey, nil or 32 bytes, encrypts notes (bodies and email meta,
	// including raw messages and attachments) and outbox bodies with
	// AES-256-GCM. Each case's content is encrypted under a data key of its
	// own, wrapped by this key in the keyring <path>.keys (keyring.go).
	EncryptionKey []byte
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// Timeout bounds the wait for the file lock; 1.5 s when zero.
	Timeout time.Duration
	// ReadOnly opens the file for reading only (backups, checks).
	ReadOnly bool
	// Logger receives migration notices; slog.Default when nil.
	Logger *slog.Logger
	// HomeRefresh queues, with every change to a case, a refresh of its
	// mediator's Slack Home (casebot.HomeRefresh); off when false (Slack
	// off: nothing would deliver them).
	HomeRefresh bool
	// HomeAdmins are the admins whose Homes (quarantine count, caseload
	// balance) are refreshed, as mediators' are, when the quarantine
	// changes or a case's mediators, status or priority do; with
	// HomeRefresh only.
	HomeAdmins []string
	// Zone is the programme's zone, in which reports count months; nil
	// keeps the stored one (UTC for a new store). A change rebuilds the
	// aggregates.
	Zone *time.Location
}

// DB is casebot's bbolt store. It is safe for concurrent use.
type DB struct {
	kv     kv.Engine
	path   string
	prefix string
	now    func() time.Time
	seal   *sealer
	keys   *keyring    // nil without an encryption key
	terms  *indexTerms // hashes index terms; nil without an encryption key
	log    *slog.Logger
	// homeRefresh: see Options.HomeRefresh.
	homeRefresh bool
	homeAdmins  []string

	// zone is Options.Zone; searchKey keys the search index's terms
	// (search_index.go): derived from the master key by terms, or a fixed
	// key without one.
	zone      *time.Location
	searchKey []byte

	// docsDecoded counts document records decoded, for the benchmark that
	// shows docs reads only its own case's documents.
	docsDecoded atomic.Int64
	// purgeTxHook, when set (tests, benchmarks), is told how long each
	// write transaction of a purge took, commit included.
	purgeTxHook func(time.Duration)
}

var _ casebot.CaseStore = (*DB)(nil)

// initialMmapSize is the address space bbolt maps at open. Until the file
// outgrows it, a growing store is never remapped: remapping copies every
// key and value a write transaction holds (a tenth of the intake writer's
// CPU while a fresh store grows), and it waits for every read transaction
// to end, holding up new ones behind it (bbolt's README). It reserves
// address space only; memory in use follows the pages actually read, as
// before.
const initialMmapSize = 1 << 30

// ErrInUse is the error Open returns, wrapped with the path and together with
// bbolt's ErrTimeout, when another process (or another Open in this one)
// holds the store's file lock.
var ErrInUse = errors.New("in use by another process")

// Open opens (creating if needed, mode 0600) the store at path and migrates it
// to the current schema. It fails within Options.Timeout with an error
// wrapping ErrInUse when another process holds the file; it refuses a file
// of a newer schema, a wrong encryption key, a key for a store created without
// one and a missing key for an encrypted store.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if opts.CasePrefix == "" {
		opts.CasePrefix = "MED"
	}
	if !casebot.CaseIDPattern.MatchString(opts.CasePrefix + "-2026-0001") {
		return nil, fmt.Errorf("store: case prefix %q must be 1-10 upper-case letters or digits, starting with a letter", opts.CasePrefix)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 1500 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	seal, err := newSealer(opts.EncryptionKey)
	if err != nil {
		return nil, err
	}
	eng, err := openEngine(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	if pgurl.Is(path) {
		path = pgurl.Redact(path)
	}
	db := &DB{kv: eng, path: path, prefix: opts.CasePrefix, seal: seal, log: opts.Logger, homeRefresh: opts.HomeRefresh,
		homeAdmins: slices.Clone(opts.HomeAdmins), now: func() time.Time { return opts.Now().UTC() }, zone: opts.Zone}
	if err := db.open(ctx, opts); err != nil {
		_ = eng.Close()
		return nil, err
	}
	return db, nil
}

// openEngine opens the kv engine path names: a PostgreSQL URL or a bbolt
// file.
func openEngine(ctx context.Context, path string, opts Options) (kv.Engine, error) {
	if pgurl.Is(path) {
		return openPostgres(ctx, path, opts)
	}
	if opts.ReadOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("store: open %s read-only: %w", path, err)
		}
	}
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.Timeout, ReadOnly: opts.ReadOnly, InitialMmapSize: initialMmapSize})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("store: %s is %w (lock not acquired within %s: %w); stop it or use its command interface", path, ErrInUse, opts.Timeout, err)
	} else if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return boltkv.New(bdb), nil
}

// open sets up everything above the engine: index keys, the keyring, the
// schema and the case keys.
func (db *DB) open(ctx context.Context, opts Options) error {
	var err error
	if db.terms, err = newIndexTerms(opts.EncryptionKey); err != nil {
		return err
	}
	db.searchKey = noKeyTerms
	if db.terms != nil {
		db.searchKey = db.terms.key("search index")
	}
	if db.seal.encrypted() {
		// Loaded under the file lock: one process writes the keyring.
		if db.keys, err = db.loadKeyring(ctx, opts.ReadOnly); err != nil {
			return err
		}
	}
	if err := db.init(ctx, opts.ReadOnly); err != nil {
		return err
	}
	if !opts.ReadOnly {
		if err := db.settleKeys(ctx); err != nil {
			return err
		}
	}
	return nil
}

// init checks the schema version and the key, migrating when writable.
func (db *DB) init(ctx context.Context, readOnly bool) error {
	if readOnly {
		return db.kv.View(ctx, func(tx kv.Tx) error {
			v := schemaVersion(tx)
			if v < currentVersion {
				return fmt.Errorf("store: %s has schema version %d; open it read-write once to migrate it to %d", db.path, v, currentVersion)
			}
			if err := checkNewer(v); err != nil {
				return err
			}
			return db.checkKey(tx, false)
		})
	}
	return db.kv.Update(ctx, func(tx kv.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return fmt.Errorf("store: create meta: %w", err)
		}
		v := schemaVersion(tx)
		if err := checkNewer(v); err != nil {
			return err
		}
		fresh := v == 0
		if err := db.checkKey(tx, fresh); err != nil {
			return err
		}
		if fresh {
			if err := meta.Put(metaCreated, []byte(db.now().Format(time.RFC3339Nano))); err != nil {
				return fmt.Errorf("store: put created: %w", err)
			}
		}
		if err := setReportZone(tx, db.zone); err != nil {
			return err
		}
		if err := db.migrate(tx, v); err != nil {
			return err
		}
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("store: create bucket %s: %w", name, err)
			}
		}
		return nil
	})
}

func checkNewer(v uint64) error {
	if v > currentVersion {
		return fmt.Errorf("store: schema version %d is newer than this casebot (%d); upgrade casebot", v, currentVersion)
	}
	return nil
}

// schemaVersion returns the stored schema version, 0 for a new file.
func schemaVersion(tx kv.Tx) uint64 {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return 0
	}
	v := meta.Get(metaSchemaVersion)
	if len(v) != 8 {
		return 0
	}
	return u64(v)
}

// checkKey compares the configured key with the key check value in meta,
// writing one into a fresh store.
func (db *DB) checkKey(tx kv.Tx, fresh bool) error {
	meta := tx.Bucket(bucketMeta)
	var stored []byte
	if meta != nil {
		stored = meta.Get(metaKeyCheck)
	}
	switch {
	case fresh && db.seal.encrypted():
		return meta.Put(metaKeyCheck, db.seal.seal(metaKeyCheck, []byte(keyCheckText)))
	case stored == nil && db.seal.encrypted():
		return fmt.Errorf("store: %s was created without an encryption key, but store.encryption_key_file is set; unset it or start a new store", db.path)
	case stored != nil && !db.seal.encrypted():
		return fmt.Errorf("store: %s is encrypted; set store.encryption_key_file to its key", db.path)
	case stored != nil:
		plain, err := db.seal.open(metaKeyCheck, stored)
		if err != nil || string(plain) != keyCheckText {
			return fmt.Errorf("store: wrong encryption key for %s (the key check value does not decrypt)", db.path)
		}
	}
	return nil
}

// Close closes the file. It waits for open transactions to finish.
func (db *DB) Close() error {
	if err := db.kv.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", db.path, err)
	}
	return nil
}

// Path returns the file the store was opened from.
func (db *DB) Path() string { return db.path }

// backupTxSize bounds each commit into a backup's compacted copy.
const backupTxSize = 64 << 20

// Backup writes a consistent, compacted copy of the store to w and returns
// the bytes written. bbolt never clears freed pages, and a raw copy
// (tx.WriteTo) carries them along, so deleted content (a purge) could live
// on in backups; instead bbolt.Compact copies only live keys and values,
// from one read transaction (so writers go on meanwhile), into a temporary
// bbolt file beside the store (mode 0600, else in the system's temporary
// folder), which is then copied to w and removed. The keyring is never
// part of a backup. It fails when ctx is done before it starts or the copy
// cannot be made.
func (db *DB) Backup(ctx context.Context, w io.Writer) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	be, ok := db.kv.(*boltkv.Engine)
	if !ok {
		return db.backupByCopy(ctx, w)
	}
	tmp, err := os.CreateTemp(filepath.Dir(db.path), filepath.Base(db.path)+".backup-*")
	if err != nil {
		tmp, err = os.CreateTemp("", "casebot-backup-*")
	}
	if err != nil {
		return 0, fmt.Errorf("store: backup: temporary file: %w", err)
	}
	name := tmp.Name()
	defer os.Remove(name)
	if err := tmp.Close(); err != nil {
		return 0, fmt.Errorf("store: backup: %w", err)
	}
	// First a consistent copy of the live file (one read transaction, the
	// way bbolt's hot backup works), then the compaction from that quiet
	// copy: compacting the live file while it is written gave values of
	// other pages' bytes (seen in the soak).
	snap := name + ".snap"
	defer os.Remove(snap)
	if err := be.DB().View(func(tx *bolt.Tx) error { return tx.CopyFile(snap, 0o600) }); err != nil {
		return 0, fmt.Errorf("store: backup: snapshot: %w", err)
	}
	src, err := bolt.Open(snap, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		return 0, fmt.Errorf("store: backup: open snapshot: %w", err)
	}
	defer src.Close()
	dst, err := bolt.Open(name, 0o600, &bolt.Options{Timeout: time.Second, NoSync: true})
	if err != nil {
		return 0, fmt.Errorf("store: backup: open copy: %w", err)
	}
	err = bolt.Compact(dst, src, backupTxSize)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("store: backup: compact: %w", err)
	}
	return sendBackup(name, w)
}

// sendBackup copies the finished backup file name to w.
func sendBackup(name string, w io.Writer) (int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, fmt.Errorf("store: backup: %w", err)
	}
	defer f.Close()
	n, err := io.Copy(w, f)
	if err != nil {
		return n, fmt.Errorf("store: backup: %w", err)
	}
	return n, nil
}

// view runs fn in a read transaction after checking ctx.
func (db *DB) view(ctx context.Context, fn func(tx kv.Tx) error) error {
	return engineError(db.kv.View(ctx, fn))
}

// update runs fn in a write transaction after checking ctx. A context
// carrying a fence (kv.WithFence) commits only while the lease is held.
func (db *DB) update(ctx context.Context, fn func(tx kv.Tx) error) error {
	return engineError(db.kv.Update(ctx, fn))
}

// batch runs fn through the engine's Batch, coalescing concurrent writers
// into one commit. fn may run more than once and must only depend on the
// transaction.
func (db *DB) batch(ctx context.Context, fn func(tx kv.Tx) error) error {
	return engineError(db.kv.Batch(ctx, fn))
}

// notFound returns an ENOTFOUND error naming what is missing.
func notFound(format string, args ...any) error {
	return casebot.Errorf(casebot.ENOTFOUND, format, args...)
}

// appendBucket returns the named bucket of tx set up for appends.
func appendBucket(tx kv.Tx, name []byte) kv.Bucket {
	b := tx.Bucket(name)
	b.AppendMostly()
	return b
}
