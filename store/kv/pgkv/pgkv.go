// Package pgkv is the kv engine over PostgreSQL: several casebot instances
// share one database. It keeps bbolt's rules (package kv) on four tables of
// its own, created at Open in the connection's search_path:
//
//	kv_engine    (version int)                   the engine's own schema version
//	kv_buckets   (name bytea PRIMARY KEY)        which buckets exist
//	kv_sequences (name bytea PRIMARY KEY, value bigint NOT NULL)
//	kv           (bucket bytea, key bytea, value bytea NOT NULL, PRIMARY KEY (bucket, key))
//
// plus casebot_lease, the leader lease the fencing check reads. Sequences
// live apart from bucket existence so that a transaction that only asks
// which buckets exist does not conflict, under SSI, with every sequence
// increment. bytea compares bytewise (memcmp, then length), so the primary
// key keeps a bucket's keys in bbolt's order.
//
// Write transactions run SERIALIZABLE and are retried on serialization
// failures and deadlocks (SQLSTATE 40001, 40P01); their writes are
// buffered in the transaction (tx.go) and flushed at commit in one round
// trip together with the fencing check and COMMIT. Read-only transactions
// run REPEATABLE READ READ ONLY: one consistent snapshot, like bbolt's
// View, without the predicate locks that would make concurrent writers
// fail (a long scan such as Check or a report would otherwise abort them),
// and never retried. One process runs its write transactions one at a
// time, like bbolt, so retries are only for conflicts between instances.
//
// Every read that is not in hand is a round trip. A transaction's start
// (BEGIN and the list of buckets) also reads what its context's kv.Reads
// name: keys it will Get, sequences it will use, and the first keys of
// cursor walks (reads.go), so a transaction that names its reads makes two
// round trips in all, one to start and one to commit.
package pgkv

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/casebot/casebot/internal/backoff"
	"github.com/casebot/casebot/store/kv"
)

// engineVersion is the version of the engine's own tables.
const engineVersion = 1

// pageSize and rowOverhead turn written rows into Writes' pages: a
// row's key and value plus about what PostgreSQL adds to a heap tuple and
// its index entry.
const (
	pageSize    = 8 << 10
	rowOverhead = 48
)

// Defaults of Options.
const (
	DefaultMaxBatchSize  = 1000
	DefaultMaxBatchDelay = 10 * time.Millisecond
	DefaultMaxAttempts   = 20
)

// schemaSQL creates the engine's tables; it runs under an advisory lock so
// that instances starting together do not race on the catalog.
const schemaSQL = `
CREATE TABLE IF NOT EXISTS kv_engine (version int NOT NULL);
CREATE TABLE IF NOT EXISTS kv_buckets (name bytea PRIMARY KEY);
CREATE TABLE IF NOT EXISTS kv_sequences (name bytea PRIMARY KEY, value bigint NOT NULL);
CREATE TABLE IF NOT EXISTS kv (bucket bytea NOT NULL, key bytea NOT NULL, value bytea NOT NULL, PRIMARY KEY (bucket, key));
CREATE TABLE IF NOT EXISTS casebot_lease (name text PRIMARY KEY, holder text NOT NULL, token bigint NOT NULL, expires_at timestamptz NOT NULL);
`

// Options tune an Engine; zero values take the defaults.
type Options struct {
	// MaxBatchSize is the most calls Batch coalesces into one transaction.
	MaxBatchSize int
	// MaxBatchDelay is how long Batch waits for more callers.
	MaxBatchDelay time.Duration
	// MaxAttempts bounds the runs of one transaction that keeps failing
	// on serialization conflicts.
	MaxAttempts int
	// ReadOnly creates nothing at Open and refuses write transactions.
	ReadOnly bool
}

// Engine is a kv.Engine over a PostgreSQL connection pool.
type Engine struct {
	pool *pgxpool.Pool
	// wpool is the write transactions' own connection: they run one at a
	// time (writeMu), and a writer that queued behind readers for a
	// connection of pool would hold up every writer behind it.
	wpool *pgxpool.Pool
	host  string
	opts  Options

	// writeMu runs this process's write transactions one at a time.
	writeMu sync.Mutex
	writes  atomic.Int64
	retries atomic.Int64
	// freshClashes counts the runs redone because a PutNew's key was
	// there after all.
	freshClashes atomic.Int64
	roundTrips   atomic.Int64
	txs          atomic.Int64

	batchMu        sync.Mutex
	batch          *batch // gathering callers
	batchesRunning int
	lastBatch      int // calls in the last batch run
}

var _ kv.Engine = (*Engine)(nil)

// Open connects to the database at url (a postgres:// URL; pgxpool's
// pool_* parameters apply), creates the engine's tables when missing and
// checks their version. A database that cannot be reached gives an error
// naming the host and wrapping kv.ErrUnavailable.
func Open(ctx context.Context, url string, opts Options) (*Engine, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message may quote the URL, password included.
		return nil, fmt.Errorf("pgkv: the PostgreSQL URL is not valid (postgres://user@host:port/database?options)")
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = 16
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	host := fmt.Sprintf("%s:%d", cfg.ConnConfig.Host, cfg.ConnConfig.Port)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgkv: PostgreSQL at %s: %w", host, err)
	}
	e, err := New(ctx, pool, opts)
	if err != nil {
		pool.Close()
		return nil, err
	}
	e.host = host
	return e, nil
}

// New makes an Engine over pool, creating the tables when missing; write
// transactions run on a connection of their own, from a pool of one made
// with pool's configuration. Close closes both pools.
func New(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Engine, error) {
	if opts.MaxBatchSize <= 0 {
		opts.MaxBatchSize = DefaultMaxBatchSize
	}
	if opts.MaxBatchDelay <= 0 {
		opts.MaxBatchDelay = DefaultMaxBatchDelay
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	cc := pool.Config().ConnConfig
	e := &Engine{pool: pool, opts: opts, host: fmt.Sprintf("%s:%d", cc.Host, cc.Port)}
	if err := e.setup(ctx); err != nil {
		return nil, err
	}
	if !opts.ReadOnly {
		wcfg := pool.Config()
		wcfg.MaxConns, wcfg.MinConns = 1, 0
		wpool, err := pgxpool.NewWithConfig(ctx, wcfg)
		if err != nil {
			return nil, fmt.Errorf("pgkv: PostgreSQL at %s: %w", e.host, err)
		}
		e.wpool = wpool
	}
	return e, nil
}

// setup creates the tables and checks the engine's version; read-only,
// it only checks the version.
func (e *Engine) setup(ctx context.Context) error {
	if e.opts.ReadOnly {
		var v int
		err := e.pool.QueryRow(ctx, `SELECT CASE WHEN to_regclass('kv_engine') IS NULL THEN 0 ELSE (SELECT max(version) FROM kv_engine) END`).Scan(&v)
		if err != nil {
			return e.wrap(ctx, fmt.Errorf("check tables: %w", err))
		}
		if v == 0 {
			return errors.New("pgkv: the database has no casebot store; open it read-write once to create one")
		}
		if v > engineVersion {
			return fmt.Errorf("pgkv: the database's kv tables have version %d, newer than this casebot's (%d); upgrade casebot", v, engineVersion)
		}
		return nil
	}
	var newer error
	err := pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.casebot kv setup'))`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, schemaSQL); err != nil {
			return err
		}
		var v int
		err := tx.QueryRow(ctx, `SELECT version FROM kv_engine`).Scan(&v)
		if errors.Is(err, pgx.ErrNoRows) {
			_, err = tx.Exec(ctx, `INSERT INTO kv_engine (version) VALUES ($1)`, engineVersion)
			return err
		} else if err != nil {
			return err
		}
		if v > engineVersion {
			newer = fmt.Errorf("the database's kv tables have version %d, newer than this casebot's (%d); upgrade casebot", v, engineVersion)
		}
		return nil
	})
	if newer != nil {
		return fmt.Errorf("pgkv: %w", newer)
	}
	if err != nil {
		return e.wrap(ctx, fmt.Errorf("set up tables: %w", err))
	}
	return nil
}

// Pool returns the engine's connection pool.
func (e *Engine) Pool() *pgxpool.Pool { return e.pool }

// Writes implements kv.Engine: the pages of PostgreSQL's heap (8 KiB) that
// the rows written by committed transactions fill, at least one per
// transaction that wrote; bbolt's engine counts pages too, so a caller
// that bounds its transactions by their writes bounds them alike.
func (e *Engine) Writes() int64 { return e.writes.Load() }

// Retries returns how many transaction runs were retried after
// serialization conflicts.
func (e *Engine) Retries() int64 { return e.retries.Load() }

// RoundTrips returns how many round trips to the database transactions
// have made, and how many transactions ran, for benchmarks.
func (e *Engine) RoundTrips() (trips, txs int64) { return e.roundTrips.Load(), e.txs.Load() }

// FreshClashes returns how many write transactions ran again because a
// key put with PutNew was already there.
func (e *Engine) FreshClashes() int64 { return e.freshClashes.Load() }

// Close implements kv.Engine; it waits for transactions in progress.
func (e *Engine) Close() error {
	if e.wpool != nil {
		e.wpool.Close()
	}
	e.pool.Close()
	return nil
}

// View implements kv.Engine.
func (e *Engine) View(ctx context.Context, fn func(kv.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	tx, err := e.begin(ctx, false)
	if err != nil {
		return err
	}
	ferr := safeCall(fn, tx)
	if tx.err != nil {
		tx.rollback()
		return e.wrap(ctx, tx.err)
	}
	tx.rollback()
	return ferr
}

// Update implements kv.Engine.
func (e *Engine) Update(ctx context.Context, fn func(kv.Tx) error) error {
	if e.opts.ReadOnly {
		return fmt.Errorf("pgkv: the store was opened read-only: %w", kv.ErrTxNotWritable)
	}
	return e.update(ctx, fn)
}

// retryPolicy spaces the runs of a conflicting transaction.
var retryPolicy = backoff.Policy{Min: 2 * time.Millisecond, Max: 200 * time.Millisecond}

// update runs fn in write transactions until one commits, fn fails, or a
// failure that is not a serialization conflict happens. A run whose
// PutNew met a key already there is run again at once with PutNew taken
// as Put.
func (e *Engine) update(ctx context.Context, fn func(kv.Tx) error) error {
	var last error
	noFresh := false
	for attempt := 1; attempt <= e.opts.MaxAttempts; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		err, retry := e.attempt(ctx, fn, noFresh)
		if !retry {
			return err
		}
		if !noFresh && isKeyClash(err) {
			noFresh = true
			e.freshClashes.Add(1)
			continue
		}
		last = err
		e.retries.Add(1)
		if !backoff.Sleep(ctx, retryPolicy.Delay(attempt)) {
			return ctx.Err()
		}
	}
	return fmt.Errorf("pgkv: transaction still conflicting after %d attempts: %w", e.opts.MaxAttempts, last)
}

// attempt runs fn once in a write transaction (with PutNew taken as Put
// when noFresh); retry reports a serialization conflict, or a key that a
// PutNew inserted already there.
func (e *Engine) attempt(ctx context.Context, fn func(kv.Tx) error, noFresh bool) (err error, retry bool) {
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	tx, err := e.begin(ctx, true)
	if err != nil {
		return err, isConflict(err)
	}
	tx.noFresh = noFresh
	ferr := safeCall(fn, tx)
	if tx.err == nil && ferr != nil {
		tx.rollback()
		return ferr, false
	}
	if tx.err == nil {
		tx.commit()
	}
	if tx.err != nil {
		tx.rollback()
		if isConflict(tx.err) || (!noFresh && isKeyClash(tx.err)) {
			return tx.err, true
		}
		return e.wrap(ctx, tx.err), false
	}
	if tx.written > 0 {
		e.writes.Add(int64((tx.written + pageSize - 1) / pageSize))
	}
	return nil, false
}

// safeCall runs fn, turning a panic into an error after the transaction
// is rolled back by the caller.
func safeCall(fn func(kv.Tx) error, tx *Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			tx.rollback()
			panic(p)
		}
	}()
	return fn(tx)
}

// isConflict reports a serialization failure or deadlock, which a rerun
// of the transaction may clear.
func isConflict(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// isKeyClash reports a unique violation of the kv table's key: a PutNew's
// plain INSERT of a key already there (no other write of the engine
// inserts without ON CONFLICT).
func isKeyClash(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == "kv_pkey"
}

// Wrap returns err, a failure of a query on the engine's pool, as the
// engine returns its own: kv.ErrUnavailable when the database cannot be
// reached.
func (e *Engine) Wrap(ctx context.Context, err error) error { return e.wrap(ctx, err) }

// wrap turns a failure of the database into the engine's error: the
// context's own error when it ended, ErrFenced as is, and kv.ErrUnavailable
// for a database that cannot be reached.
func (e *Engine) wrap(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, kv.ErrFenced) {
		return err
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("pgkv: %w (%v)", cerr, err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("pgkv: %w", err)
	}
	if unreachable(err) {
		return fmt.Errorf("PostgreSQL at %s: %w: %w", e.host, kv.ErrUnavailable, err)
	}
	return fmt.Errorf("pgkv: %w", err)
}

// unreachable reports whether err means the database cannot be reached or
// is not serving: connection failures and the server's shutdown, connection
// and resource error classes.
func unreachable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P") || strings.HasPrefix(pe.Code, "53")
	}
	var se interface{ SQLState() string }
	if errors.As(err, &se) {
		return false
	}
	return true
}
