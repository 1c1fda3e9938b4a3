package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/casebot/casebot"
)

// Store is what the scheduler needs of storage (store.DB implements it).
// Reminders are derived from the store's time indexes, never kept as timers:
// a pending reminder costs nothing until it falls due.
type Store interface {
	Case(ctx context.Context, id string) (*casebot.Case, error)
	Cases(ctx context.Context, f casebot.CaseFilter) ([]*casebot.Case, error)
	Overdue(ctx context.Context, now time.Time, mediator string) ([]casebot.DeadlineRef, error)
	Caseloads(ctx context.Context) ([]casebot.Caseload, error)
	User(ctx context.Context, id string) (casebot.UserInfo, bool, error)
	DeadlinesBetween(ctx context.Context, from, to time.Time) ([]casebot.DeadlineRef, error)
	SessionsBetween(ctx context.Context, from, to time.Time) ([]casebot.SessionRef, error)
	EachDeadlineFrom(ctx context.Context, from time.Time, fn func(casebot.DeadlineRef) bool) error
	EachSessionFrom(ctx context.Context, from time.Time, fn func(casebot.SessionRef) bool) error
	ScheduleState(ctx context.Context) (casebot.ScheduleState, error)
	CommitReminders(ctx context.Context, b casebot.ReminderBatch) (int, error)
	CommitDigest(ctx context.Context, d casebot.DigestCommit) (bool, error)
	Missed(ctx context.Context, user string) ([]casebot.MissedReminder, error)
	NotesSince(ctx context.Context, since time.Time) ([]casebot.NoteMeta, error)
	// NotesAfter reads only the notes stored since the one numbered after.
	NotesAfter(ctx context.Context, after uint64, since time.Time) ([]casebot.NoteMeta, uint64, error)
	// OpenOffers counts the open offers of the cases named.
	OpenOffers(ctx context.Context, caseIDs []string) (map[string]int, error)
	// OpenSummaries, EachDeadlineOf, EachDeadlineKeyOf and SessionsOf
	// serve the Slack Home from the store's indexes.
	OpenSummaries(ctx context.Context, user string, pick func(s *casebot.CaseSummary) (keep, open bool)) ([]casebot.CaseSummary, error)
	EachDeadlineOf(ctx context.Context, user string, from, to time.Time, fn func(casebot.DeadlineRef) bool) error
	EachDeadlineKeyOf(ctx context.Context, user string, from, to time.Time, fn func(caseID []byte, n int, due time.Time) bool) error
	DeadlineTexts(ctx context.Context, refs []casebot.DeadlineRef) error
	SessionsOf(ctx context.Context, user string, from, to time.Time) ([]casebot.SessionRef, error)
	// PollsDue and UpdateCase serve the poll reminders.
	PollsDue(ctx context.Context, now time.Time) ([]string, time.Time, error)
	UpdateCase(ctx context.Context, id string, fn func(c *casebot.Case) (casebot.Change, error)) (*casebot.Case, error)
}

// Clock is the scheduler's time source. Tests pass a fake that they advance.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Config is what a Scheduler needs.
type Config struct {
	Store Store
	// Composer builds the reminder emails to parties; nil means outbound mail
	// is off and parties get no reminders.
	Composer casebot.Composer
	// Digest is when digests go out, on each user's wall clock; nil: no digests.
	Digest *Daily
	// Reminders are the offsets before each deadline and session. A whole
	// number of days counts wall-clock days in the mediator's zone (a "1d"
	// reminder of a 09:00 deadline comes at 09:00 the day before, also across
	// a DST change); other offsets are exact durations.
	Reminders []time.Duration
	// Catchup is how old a reminder or digest that fell due while the daemon
	// was down may be and still be sent; older ones are listed as missed in
	// the next digest.
	Catchup time.Duration
	// Location is the zone of users whose own zone is unknown; UTC when nil.
	Location *time.Location
	// Admins are the user IDs whose digests cover every case.
	Admins []string
	// Quarantined returns the number of quarantined emails for admins'
	// digests; nil leaves it out.
	Quarantined func(ctx context.Context) (int, error)
	// Clock is the time source; the system clock when nil.
	Clock Clock
	// MaxSleep bounds one wait of Run, a safety net against wall-clock steps;
	// 10 minutes when zero. Run otherwise sleeps until the next due time.
	MaxSleep time.Duration
	// NoSlack means Slack is off: nothing is queued for mediators (their
	// reminders and digests would pile up in the outbox and go out stale
	// once Slack is configured); parties' email reminders still are.
	NoSlack bool
	// Purger runs the daily retention purge when RetainDays > 0: cases
	// closed more than RetainDays days ago, not on hold, lose their content
	// (SPEC §10). Nil or RetainDays 0: no retention purge.
	Purger     casebot.Purger
	RetainDays int
	// PurgeWarningDays is how far ahead the admins' digest lists the cases
	// the retention purge will take.
	PurgeWarningDays int
	// OnQueued is called with the number of reminders and digests each
	// commit queued (metrics; waking the outbox worker).
	OnQueued func(n int)
	Logger   *slog.Logger
}

// Scheduler sends reminders before deadlines and sessions, daily overdue
// notices and digests, each exactly once, by queuing them in the store's
// outbox. Run drives it; Tick does one pass at a given time.
type Scheduler struct {
	cfg    Config
	clock  Clock
	log    *slog.Logger
	admins map[string]bool
	kick   chan struct{}

	mu sync.Mutex // serialises ticks
	// scanned is the end of the last scan, also when it found nothing and
	// so wrote nothing (the store's mark may lag it; see scanReminders).
	scanned time.Time
	// usersAt is when the digest users were last read, digestNext the
	// earliest next digest among them.
	usersAt, digestNext time.Time
	// purgedAt is when the retention purge last ran (zero: not yet since
	// start; it runs at the first tick, then daily).
	purgedAt time.Time
	// recent keeps the metadata of recent notes for Homes (recent.go).
	recent recentNotes
}

// persistEvery is how long an empty scan window may grow before the mark is
// written anyway, so that a restart never rescans much.
const persistEvery = time.Hour

// New returns a Scheduler, or an error when cfg lacks a store.
func New(cfg Config) (*Scheduler, error) {
	if cfg.Store == nil {
		return nil, errors.New("scheduler: no store")
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.MaxSleep <= 0 {
		cfg.MaxSleep = 10 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Reminders = slices.Clone(cfg.Reminders)
	slices.Sort(cfg.Reminders)
	cfg.Reminders = slices.Compact(cfg.Reminders)
	s := &Scheduler{cfg: cfg, clock: cfg.Clock, log: cfg.Logger, admins: map[string]bool{}, kick: make(chan struct{}, 1)}
	if s.clock == nil {
		s.clock = realClock{}
	}
	for _, a := range cfg.Admins {
		s.admins[a] = true
	}
	return s, nil
}

// Kick makes Run look again now (call it after a command that may have added
// a deadline or session). It never blocks.
func (s *Scheduler) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// IsAdmin reports whether user is one of Config.Admins.
func (s *Scheduler) IsAdmin(user string) bool { return s.admins[user] }

// Run ticks at start-up (sending what fell due while the daemon was down, or
// recording it as missed), then sleeps until the next due time, a Kick or
// MaxSleep, whichever is first, until ctx ends; it returns nil then. Between
// due times it does no work. A failing or panicking tick is logged and
// retried after a short pause.
func (s *Scheduler) Run(ctx context.Context) error {
	for {
		now := s.clock.Now()
		next, err := s.safeTick(ctx, now)
		if ctx.Err() != nil {
			return nil
		}
		wait := s.cfg.MaxSleep
		switch {
		case err != nil:
			s.log.Error("scheduler: tick failed", slog.Any("error", err))
			wait = min(wait, 30*time.Second)
		case !next.IsZero():
			wait = min(wait, max(next.Sub(now), 0))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.kick:
		case <-s.clock.After(wait):
		}
	}
}

// safeTick runs Tick through robfig/cron's Recover wrapper, so a panic is
// logged with its stack and the loop goes on (cron v3 recovers nothing by
// default); a panicked tick reports errTickPanicked.
func (s *Scheduler) safeTick(ctx context.Context, now time.Time) (next time.Time, err error) {
	err = errTickPanicked
	cron.NewChain(cron.Recover(cronLogger{s.log})).Then(cron.FuncJob(func() {
		next, err = s.Tick(ctx, now)
	})).Run()
	return next, err
}

// errTickPanicked is the error of a tick that panicked.
var errTickPanicked = errors.New("scheduler: tick panicked (logged)")

// cronLogger routes robfig/cron's log calls to slog.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Info("scheduler: "+msg, kv...) }
func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error("scheduler: "+msg, append([]any{slog.Any("error", err)}, kv...)...)
}

// Tick does everything due at now: reminders and overdue notices whose
// time lies between the last scan and now, and the digests due. It returns
// when something next falls due (zero when nothing is pending at all).
func (s *Scheduler) Tick(ctx context.Context, now time.Time) (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now = now.UTC()
	zones := s.zoneCache(ctx)
	st, err := s.cfg.Store.ScheduleState(ctx)
	if err != nil {
		return time.Time{}, err
	}
	nextOverdue, err := s.scanReminders(ctx, st.ScannedTo, now, zones)
	if err != nil {
		return time.Time{}, err
	}
	nextPurge, err := s.runRetention(ctx, now)
	if err != nil {
		return time.Time{}, err
	}
	nextDigest, err := s.runDigests(ctx, st, now, zones)
	if err != nil {
		return time.Time{}, err
	}
	nextPoll, err := s.remindPolls(ctx, now)
	if err != nil {
		return time.Time{}, err
	}
	next, err := s.nextReminder(ctx, now, zones)
	if err != nil {
		return time.Time{}, err
	}
	return earliest(next, nextOverdue, nextDigest, nextPurge, nextPoll), nil
}

// earliest returns the earliest non-zero time, zero when all are zero.
func earliest(ts ...time.Time) time.Time {
	var e time.Time
	for _, t := range ts {
		if !t.IsZero() && (e.IsZero() || t.Before(e)) {
			e = t
		}
	}
	return e
}

// zoneCache returns a lookup of users' zones for one tick: the zone from
// the users.info cache in the store, else Config.Location.
func (s *Scheduler) zoneCache(ctx context.Context) func(user string) *time.Location {
	cache := map[string]*time.Location{}
	return func(user string) *time.Location {
		if loc, ok := cache[user]; ok {
			return loc
		}
		loc := s.cfg.Location
		if u, ok, err := s.cfg.Store.User(ctx, user); err != nil {
			s.log.Warn("scheduler: user zone", slog.String("user", user), slog.Any("error", err))
		} else if ok && u.TZ != "" {
			if l, err := time.LoadLocation(u.TZ); err == nil {
				loc = l
			} else {
				s.log.Warn("scheduler: unknown time zone", slog.String("user", user), slog.String("tz", u.TZ))
			}
		}
		cache[user] = loc
		return loc
	}
}

// Zone returns a user's zone: from the users.info cache, else Config.Location.
func (s *Scheduler) Zone(ctx context.Context, user string) *time.Location {
	return s.zoneCache(ctx)(user)
}

func (s *Scheduler) queued(n int) {
	if n > 0 && s.cfg.OnQueued != nil {
		s.cfg.OnQueued(n)
	}
}
