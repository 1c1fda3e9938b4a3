package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/bot"
	"github.com/casebot/casebot/internal/testclock"
	"github.com/casebot/casebot/store"
)

// testComposer builds one email per party, as the mail package does.
type testComposer struct{}

func (testComposer) CaseMail(c *casebot.Case, roles []casebot.Role, subject, text string, auto bool, key string) ([]casebot.OutMessage, error) {
	var out []casebot.OutMessage
	for _, p := range c.Parties {
		if p.Bouncing {
			continue
		}
		out = append(out, casebot.OutMessage{Key: key + "/" + p.Email, Kind: casebot.OutEmail, To: p.Email, ToName: p.Name,
			CaseID: c.ID, Subject: "[" + c.ID + "] " + subject, Text: text, Auto: auto})
	}
	return out, nil
}

func (testComposer) Invitation(c *casebot.Case, s casebot.Session, method string) ([]casebot.OutMessage, error) {
	return nil, nil
}

func (testComposer) DocumentRequest(*casebot.Case, casebot.Role, time.Time, string, string) ([]casebot.OutMessage, error) {
	return nil, nil
}

// SessionReminder names the session and offset; the wording is mail's
// (mail.TestSessionReminderMail).
func (k testComposer) SessionReminder(c *casebot.Case, s casebot.Session, offset time.Duration, key string) ([]casebot.OutMessage, error) {
	return k.CaseMail(c, nil, "Reminder: "+s.Title, fmt.Sprintf("session #%d %s at %s, %s before", s.N, s.Title, s.Start.UTC().Format(time.RFC3339), offset), true, key)
}

// env is a scheduler over a real store file, with a fake clock.
type env struct {
	t     *testing.T
	path  string
	clk   *testclock.Clock
	db    *store.DB
	s     *Scheduler
	cfg   Config
	sent  []casebot.OutMessage // delivered so far, in order
	count int                  // OnQueued total
}

var t0 = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC) // a Monday

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	e := &env{t: t, path: filepath.Join(t.TempDir(), "casebot.db"), clk: testclock.New(t0)}
	if cfg.Reminders == nil {
		cfg.Reminders = []time.Duration{7 * day, day, 2 * time.Hour}
	}
	if cfg.Catchup == 0 {
		cfg.Catchup = 12 * time.Hour
	}
	if cfg.Admins == nil {
		cfg.Admins = []string{"UADMIN"}
	}
	e.cfg = cfg
	e.open()
	t.Cleanup(func() { _ = e.db.Close() })
	return e
}

// open opens the store and a new scheduler (a daemon start).
func (e *env) open() {
	e.t.Helper()
	db, err := store.Open(context.Background(), e.path, store.Options{Now: e.clk.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		e.t.Fatal(err)
	}
	e.db = db
	cfg := e.cfg
	cfg.Store = db
	cfg.Clock = e.clk
	cfg.Logger = slog.New(slog.NewTextHandler(e.t.Output(), nil))
	cfg.OnQueued = func(n int) { e.count += n }
	if e.s, err = New(cfg); err != nil {
		e.t.Fatal(err)
	}
}

// restart closes the store (a stop or a kill: nothing is held in memory
// that is not in the file) and opens it again with a new scheduler.
func (e *env) restart() {
	e.t.Helper()
	if err := e.db.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.open()
}

// tick sets the clock to at, runs one tick and returns the next due time.
func (e *env) tick(at time.Time) time.Time {
	e.t.Helper()
	e.clk.Set(at)
	next, err := e.s.Tick(context.Background(), at)
	if err != nil {
		e.t.Fatalf("Tick(%v): %v", at, err)
	}
	return next
}

// deliver takes every queued message out of the outbox, as the worker
// would, and returns them; a notice's text and buttons are rendered as the
// Slack sender renders them.
func (e *env) deliver() []casebot.OutMessage {
	e.t.Helper()
	ctx := context.Background()
	var out []casebot.OutMessage
	for {
		msgs, err := e.db.OutboxDue(ctx, time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC), 0)
		if err != nil {
			e.t.Fatal(err)
		}
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			if err := e.db.OutboxDone(ctx, m.ID); err != nil {
				e.t.Fatal(err)
			}
			if m.Notice != nil {
				m.Text, m.Buttons = bot.RenderNotice(m.Notice)
			}
			out = append(out, m)
		}
	}
	e.sent = append(e.sent, out...)
	return out
}

func keysOf(ms []casebot.OutMessage) []string {
	var ks []string
	for _, m := range ms {
		ks = append(ks, m.Key)
	}
	return ks
}

// newCase stores an open case of mediator with parties.
func (e *env) newCase(title, mediator string, prio casebot.Priority, parties ...casebot.Party) *casebot.Case {
	e.t.Helper()
	c, err := e.db.CreateCase(context.Background(), &casebot.Case{Title: title, Mediator: mediator, Priority: prio, Parties: parties},
		casebot.Change{Actor: mediator, Action: "case.create"})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) update(id string, fn func(c *casebot.Case)) *casebot.Case {
	e.t.Helper()
	c, err := e.db.UpdateCase(context.Background(), id, func(c *casebot.Case) (casebot.Change, error) {
		fn(c)
		return casebot.Change{Actor: "U1", Action: "test"}, nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) addDeadline(id string, due time.Time, text string) int {
	e.t.Helper()
	var n int
	e.update(id, func(c *casebot.Case) {
		n = len(c.Deadlines) + 1
		c.Deadlines = append(c.Deadlines, casebot.Deadline{N: n, Due: due, Text: text, Created: e.clk.Now()})
	})
	return n
}

func (e *env) addSession(id string, start time.Time, title, where string) int {
	e.t.Helper()
	var n int
	e.update(id, func(c *casebot.Case) {
		n = len(c.Sessions) + 1
		c.Sessions = append(c.Sessions, casebot.Session{N: n, Start: start, Duration: 2 * time.Hour, Title: title, Where: where, Created: e.clk.Now()})
	})
	return n
}

func (e *env) setZone(user, tz string) {
	e.t.Helper()
	if err := e.db.PutUser(context.Background(), casebot.UserInfo{ID: user, TZ: tz}); err != nil {
		e.t.Fatal(err)
	}
}

// isNotice reports whether m is a notice of kind k.
func isNotice(m casebot.OutMessage, k casebot.NoticeKind) bool {
	return m.Notice != nil && m.Notice.Kind == k
}

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

func party(name, email string) casebot.Party {
	return casebot.Party{Role: casebot.RoleClaimant, Name: name, Email: email}
}
