// Package leader elects one leader among the casebot instances that share
// a PostgreSQL database (SPEC §11). The leader holds a lease: a row of the
// table casebot_lease (name, holder, token, expires_at), taken when it is
// free or expired, renewed every third of its length, and released (its
// expiry set in the past) when the leader stops. Every acquisition
// increments the row's token, the fencing token: the leader's workers run
// with a context carrying kv.Fence{Name, Token}, and the store commits
// their writes only while the row still holds that token unexpired, so an
// instance that was paused or cut off past its lease cannot write after
// another took over.
//
// The database's clock decides expiry (now() in every statement), so the
// instances' clocks need not agree. A leader also steps down by its own
// clock when a renewal has not succeeded within the lease (a process
// resumed after a pause), and at once when a renewal fails or finds the
// lease gone.
//
// Between instances, wake-ups travel as NOTIFY casebot_wake (Notify,
// Listen): an instance that queued work for the leader's scheduler or
// outbox wakes it without waiting for its next tick.
package leader

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Name is the lease row of casebot's leader.
const Name = "leader"

// The SQL of the lease, over the table both the store engine and this
// package create (the contract between the PostgreSQL pieces).
const (
	createTable = `CREATE TABLE IF NOT EXISTS casebot_lease (name text PRIMARY KEY, holder text NOT NULL, token bigint NOT NULL, expires_at timestamptz NOT NULL)`

	// campaign takes the row when it is free (absent), expired, or still
	// this holder's (a renewal whose answer was lost): each acquisition
	// increments the token, so no earlier term's fence stays valid.
	campaignSQL = `INSERT INTO casebot_lease AS l (name, holder, token, expires_at)
VALUES ($1, $2, 1, now() + $3::bigint * interval '1 millisecond')
ON CONFLICT (name) DO UPDATE
SET holder = EXCLUDED.holder, token = l.token + 1, expires_at = EXCLUDED.expires_at
WHERE l.expires_at <= now() OR l.holder = EXCLUDED.holder
RETURNING token`

	// renew extends the lease only while this holder still has it with
	// this token and it has not expired.
	renewSQL = `UPDATE casebot_lease SET expires_at = now() + $4::bigint * interval '1 millisecond'
WHERE name = $1 AND holder = $2 AND token = $3 AND expires_at > now()`

	// release ends the lease at once, so another instance takes over
	// without waiting for it to expire.
	releaseSQL = `UPDATE casebot_lease SET expires_at = now() - interval '1 millisecond'
WHERE name = $1 AND holder = $2 AND token = $3`
)

// Role is an instance's role: the leader with its fencing token, or not.
type Role struct {
	Leader bool
	Token  int64
}

// Config configures an Elector.
type Config struct {
	// URL is the database's postgres:// URL.
	URL string
	// Lease is how long the lease lasts without renewal.
	Lease time.Duration
	// Name is the lease row; Name ("leader") when empty.
	Name string
	// Holder identifies this instance in the row; HolderID() when empty.
	Holder string
	// Poll is how often a follower tries to take the lease: a fifth of
	// the lease, between 100 ms and 1 s, when zero (a released lease is
	// taken within it).
	Poll time.Duration
	// Logger receives role changes and failures; discarded when nil.
	Logger *slog.Logger
	// OnChange is told every change of role, from Run's goroutine. It
	// must return only once the change is complete (on a step-down: the
	// leader's workers have stopped): Run campaigns again only then, so
	// two terms of this instance never overlap.
	OnChange func(Role)
}

// Elector campaigns for the lease and keeps it while it can.
type Elector struct {
	cfg  Config
	pool *pgxpool.Pool
	log  *slog.Logger

	mu   sync.Mutex
	role Role
	// validUntil is when the lease held ends by this process's clock
	// (unix nanoseconds); 0 when it holds none.
	validUntil atomic.Int64

	resign chan resignation // Resign to Run

	// noRelease (tests) makes Run end without releasing, as a crash would.
	noRelease bool
}

// HolderID returns an identifier unique to this process: host name,
// process ID and a random suffix (a restarted process with the same ID on
// another host or container still differs).
func HolderID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// New returns an Elector with a small connection pool of its own. It does
// not connect yet: Run does, and retries while the database is away.
func New(cfg Config) (*Elector, error) {
	if cfg.Lease <= 0 {
		return nil, errors.New("leader: lease must be positive")
	}
	if cfg.Name == "" {
		cfg.Name = Name
	}
	if cfg.Holder == "" {
		cfg.Holder = HolderID()
	}
	if cfg.Poll <= 0 {
		cfg.Poll = min(max(cfg.Lease/5, 100*time.Millisecond), time.Second)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	pool, err := newPool(cfg.URL, 2)
	if err != nil {
		return nil, err
	}
	return &Elector{cfg: cfg, pool: pool, log: cfg.Logger, resign: make(chan resignation, 4)}, nil
}

// resignation is a leader's request to give up its term.
type resignation struct {
	token int64
	why   string
}

// Resign gives up the term of token if this instance still holds it:
// Run steps down (OnChange), releases the lease so that another instance
// takes over at once, and campaigns again only a lease later, so that a
// leader whose work fails hands that work to another instance rather than
// taking it straight back. It reports whether the term was still this
// instance's; it never blocks.
func (e *Elector) Resign(token int64, why string) bool {
	if r := e.Role(); !r.Leader || r.Token != token {
		return false
	}
	select {
	case e.resign <- resignation{token, why}:
	default: // resignations are queued already
	}
	return true
}

// newPool returns a lazily connecting pool of at most n connections.
func newPool(url string, n int32) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("leader: %w", err) // pgconn redacts the password
	}
	pc.MaxConns = n
	pc.MinConns = 0
	pc.ConnConfig.ConnectTimeout = 5 * time.Second
	pool, err := pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		return nil, fmt.Errorf("leader: %w", err)
	}
	return pool, nil
}

// Holder returns this instance's holder ID.
func (e *Elector) Holder() string { return e.cfg.Holder }

// Role returns the current role.
func (e *Elector) Role() Role {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.role
}

// LeaseValidUntil returns when, by this process's clock, the lease this
// instance holds runs out unless renewed; ok is false when it does not
// lead. A leader's side effects outside the database (a Slack post, an
// email) should not start after it: a process paused past its lease
// (SIGSTOP, a stalled VM) resumes with another instance leading, and the
// fence only refuses its database writes.
func (e *Elector) LeaseValidUntil() (t time.Time, ok bool) {
	n := e.validUntil.Load()
	if n == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, n), true
}

// Close closes the pool. Call it after Run has returned.
func (e *Elector) Close() { e.pool.Close() }

// Run campaigns for the lease until ctx ends, renews it while it holds it,
// and tells OnChange of every change. When ctx ends while it leads, it
// steps down (OnChange) and then releases the lease, so that another
// instance takes over at once. It always returns nil once ctx ends.
func (e *Elector) Run(ctx context.Context) error {
	var (
		validUntil time.Time // by this process's clock
		failures   int
		lastLog    time.Time
	)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			if r := e.Role(); r.Leader {
				e.stepDown("shutting down")
				if !e.noRelease {
					e.release(r.Token)
				}
			}
			return nil
		case q := <-e.resign:
			if r := e.Role(); r.Leader && r.Token == q.token {
				e.stepDown(q.why)
				if !e.noRelease {
					e.release(r.Token)
				}
				timer.Reset(e.cfg.Lease)
			}
			continue
		case <-timer.C:
		}
		r := e.Role()
		if !r.Leader {
			start := time.Now()
			tok, ok, err := e.campaign(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				failures++
				if time.Since(lastLog) > 30*time.Second || failures == 1 {
					e.log.Warn("leader: cannot campaign for the lease; the database is unavailable",
						slog.Int("failures", failures), slog.Any("error", err))
					lastLog = time.Now()
				}
			case ok:
				failures = 0
				validUntil = start.Add(e.cfg.Lease)
				e.validUntil.Store(validUntil.UnixNano())
				e.setRole(Role{Leader: true, Token: tok})
				e.log.Info("role: leader", slog.Int64("token", tok), slog.String("holder", e.cfg.Holder),
					slog.Duration("lease", e.cfg.Lease))
				e.cfg.OnChange(Role{Leader: true, Token: tok})
				timer.Reset(e.cfg.Lease / 3)
				continue
			default:
				failures = 0
			}
			timer.Reset(e.cfg.Poll)
			continue
		}
		start := time.Now()
		if start.After(validUntil) {
			// Paused (SIGSTOP, a stalled VM) past the lease: another may
			// lead already; the fence refuses this term's writes anyway.
			e.stepDown("the lease expired before it could be renewed (was this process paused?)")
			timer.Reset(0)
			continue
		}
		rctx, cancel := context.WithDeadline(ctx, validUntil)
		held, err := e.renew(rctx, r.Token)
		cancel()
		switch {
		case ctx.Err() != nil:
			timer.Reset(0) // the shutdown branch steps down and releases
		case err != nil:
			e.stepDown("cannot renew the lease: " + err.Error())
			timer.Reset(e.cfg.Poll)
		case !held:
			e.stepDown("the lease was taken over by another instance")
			timer.Reset(e.cfg.Poll)
		default:
			validUntil = start.Add(e.cfg.Lease)
			e.validUntil.Store(validUntil.UnixNano())
			timer.Reset(e.cfg.Lease / 3)
		}
	}
}

func (e *Elector) setRole(r Role) {
	e.mu.Lock()
	e.role = r
	e.mu.Unlock()
}

// stepDown leaves the leader role and waits for OnChange to stop the
// leader's work.
func (e *Elector) stepDown(why string) {
	e.validUntil.Store(0)
	e.setRole(Role{})
	e.log.Warn("role: follower (stepped down)", slog.String("reason", why))
	e.cfg.OnChange(Role{})
}

// campaign tries to take the lease; ok reports whether it did.
func (e *Elector) campaign(ctx context.Context) (token int64, ok bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, max(e.cfg.Lease/2, time.Second))
	defer cancel()
	err = e.pool.QueryRow(ctx, campaignSQL, e.cfg.Name, e.cfg.Holder, e.cfg.Lease.Milliseconds()).Scan(&token)
	if isUndefinedTable(err) {
		if err = EnsureTable(ctx, e.pool); err == nil {
			err = e.pool.QueryRow(ctx, campaignSQL, e.cfg.Name, e.cfg.Holder, e.cfg.Lease.Milliseconds()).Scan(&token)
		}
	}
	if isNoRows(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("leader: campaign: %w", err)
	}
	return token, true, nil
}

// renew extends the lease; held is false when it is no longer ours.
func (e *Elector) renew(ctx context.Context, token int64) (held bool, err error) {
	tag, err := e.pool.Exec(ctx, renewSQL, e.cfg.Name, e.cfg.Holder, token, e.cfg.Lease.Milliseconds())
	if err != nil {
		return false, fmt.Errorf("leader: renew: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// release ends the lease now, on a context of its own (Run's has ended).
func (e *Elector) release(token int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := e.pool.Exec(ctx, releaseSQL, e.cfg.Name, e.cfg.Holder, token); err != nil {
		e.log.Warn("leader: could not release the lease; another instance takes over when it expires",
			slog.Duration("lease", e.cfg.Lease), slog.Any("error", err))
		return
	}
	e.log.Info("leader: lease released", slog.Int64("token", token))
}

// execer is what EnsureTable needs: a pool or a connection.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// EnsureTable creates casebot_lease when it does not exist. Instances
// starting together may race to create it: losing that race is no error.
func EnsureTable(ctx context.Context, db execer) error {
	_, err := db.Exec(ctx, createTable)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "23505" || pe.Code == "42P07") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("leader: create casebot_lease: %w", err)
	}
	return nil
}

func isUndefinedTable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42P01"
}

func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
