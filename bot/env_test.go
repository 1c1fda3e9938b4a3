package bot

import (
	"context"
	"log/slog"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store"
)

// Test users: an admin, the mediator of the case under test, another
// mediator and a stranger.
const (
	uAdmin    = "UADM1"
	uMed      = "UMED1"
	uOther    = "UMED2"
	uStranger = "USTR1"
)

// env is a Bot over a real bbolt store in t.TempDir() with an injected clock.
type env struct {
	t   testing.TB
	db  *store.DB
	bot *Bot
	now time.Time
	loc map[string]*time.Location
}

func newEnv(t *testing.T) *env { t.Helper(); return newEnvTB(t) }

func newEnvTB(t testing.TB) *env { t.Helper(); return newEnvWith(t, nil) }

// newEnvWith is newEnv with the Config changed by with (services, hooks)
// before the Bot is built.
func newEnvWith(t testing.TB, with func(c *Config)) *env {
	t.Helper()
	e := &env{t: t, now: testNow, loc: map[string]*time.Location{}}
	clock := func() time.Time { return e.now }
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "casebot.db"), store.Options{Now: clock})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	e.db = db
	cfg := Config{
		Store: db, Admins: []string{uAdmin}, Now: clock, Purger: db,
		Location: func(u string) *time.Location { return e.loc[u] },
		Logger:   slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if with != nil {
		with(&cfg)
	}
	e.bot = New(cfg)
	return e
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

func (e *env) run(user, text string) Reply {
	e.t.Helper()
	return e.bot.Run(context.Background(), user, text)
}

// must runs text and fails the test when it is refused.
func (e *env) must(user, text string) Reply {
	e.t.Helper()
	r := e.run(user, text)
	if r.Err != nil {
		e.t.Fatalf("%s: %q refused: %s", user, text, r.Text)
	}
	return r
}

// refused runs text and fails the test unless it is refused with code.
func (e *env) refused(user, text, code string) Reply {
	e.t.Helper()
	r := e.run(user, text)
	if got := casebot.ErrorCode(r.Err); got != code {
		e.t.Fatalf("%s: %q: code %q, want %q; reply %q", user, text, got, code, r.Text)
	}
	return r
}

var openedRe = regexp.MustCompile(`^Opened ([A-Z]+-\d{4}-\d{4,}):`)

// newCase opens a case as user and returns its ID.
func (e *env) newCase(user, args string) string {
	e.t.Helper()
	r := e.must(user, "new "+args)
	m := openedRe.FindStringSubmatch(r.Text)
	if m == nil {
		e.t.Fatalf("new %s: reply %q has no case ID", args, r.Text)
	}
	return m[1]
}

func (e *env) getCase(id string) *casebot.Case {
	e.t.Helper()
	c, err := e.db.Case(context.Background(), id)
	if err != nil {
		e.t.Fatalf("Case(%s): %v", id, err)
	}
	return c
}

func (e *env) audit(id string) []casebot.AuditEvent {
	e.t.Helper()
	a, err := e.db.Audit(context.Background(), id)
	if err != nil {
		e.t.Fatalf("Audit(%s): %v", id, err)
	}
	return a
}

func (e *env) notes(id string) []*casebot.Note {
	e.t.Helper()
	n, err := e.db.Notes(context.Background(), id)
	if err != nil {
		e.t.Fatalf("Notes(%s): %v", id, err)
	}
	return n
}

// snapshot is everything a refused command must leave unchanged.
type snapshot struct {
	cases  int
	audit  int
	notes  int
	outbox int
	c      *casebot.Case
}

func (e *env) snap(id string) snapshot {
	e.t.Helper()
	ctx := context.Background()
	all, err := e.db.Cases(ctx, casebot.CaseFilter{State: "all"})
	if err != nil {
		e.t.Fatal(err)
	}
	depth, err := e.db.OutboxDepth(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	s := snapshot{cases: len(all), outbox: depth}
	if c, err := e.db.Case(ctx, id); err == nil {
		s.audit, s.notes = len(e.audit(id)), len(e.notes(id))
		s.c = c
	}
	return s
}
