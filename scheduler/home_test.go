package scheduler

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store"
)

// The Home, built from the store's indexes alone, shows what the digest
// (built from whole case records) shows of the same cases: overdue
// deadlines, today's sessions, the next 7 days' deadlines and party
// emails, for the mediator and a co-mediator; never another's case, a
// closed case, a met deadline or a cancelled session.
func TestHomeMatchesDigest(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	now := t0.Add(2 * time.Hour)
	e.clk.Set(now)
	urgent := e.newCase("Urgent one", "U1", casebot.PriorityUrgent, party("Ann", "ann@example.com"))
	low := e.newCase("Low one", "U1", casebot.PriorityLow)
	shared := e.newCase("Shared", "U2", casebot.PriorityHigh)
	e.update(shared.ID, func(c *casebot.Case) { c.CoMediators = []string{"U1"} })
	other := e.newCase("Not U1's", "U2", casebot.PriorityUrgent)
	closed := e.newCase("Closed", "U1", casebot.PriorityUrgent)

	e.addDeadline(urgent.ID, now.Add(-30*day), "long overdue")
	met := e.addDeadline(urgent.ID, now.Add(-day), "met already")
	e.update(urgent.ID, func(c *casebot.Case) { c.Deadlines[met-1].Met = true })
	e.addDeadline(urgent.ID, now.Add(3*day), "this week")
	e.addDeadline(urgent.ID, now.Add(20*day), "later on")
	e.addDeadline(low.ID, now.Add(time.Hour), "soon")
	e.addDeadline(shared.ID, now.Add(-time.Hour), "shared overdue")
	e.addDeadline(other.ID, now.Add(-time.Hour), "other's overdue")
	e.addDeadline(closed.ID, now.Add(time.Hour), "closed case's")
	e.addSession(urgent.ID, now.Add(3*time.Hour), "Opening", "Room 4")
	gone := e.addSession(low.ID, now.Add(4*time.Hour), "Cancelled one", "")
	e.update(low.ID, func(c *casebot.Case) { c.Sessions[gone-1].Cancelled = true })
	e.addSession(shared.ID, now.Add(5*time.Hour), "Shared session", "")
	e.addSession(other.ID, now.Add(5*time.Hour), "Other's session", "")
	e.addSession(urgent.ID, now.Add(day), "Tomorrow", "")
	e.update(closed.ID, func(c *casebot.Case) { c.Status = casebot.StatusSettled })
	for _, id := range []string{urgent.ID, urgent.ID, shared.ID, other.ID} {
		if _, err := e.db.AddNote(ctx, &casebot.Note{CaseID: id, Author: "ann@example.com", Source: casebot.SourceEmail, Body: "hi"}, casebot.Change{Actor: "ann@example.com"}); err != nil {
			t.Fatal(err)
		}
	}

	for _, user := range []string{"U1", "U2"} {
		h, err := e.s.HomeNow(ctx, user, now)
		if err != nil {
			t.Fatal(err)
		}
		d, err := e.s.BuildDigest(ctx, user, now, time.UTC, h.Since, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, part := range []struct {
			name       string
			home, want []casebot.DigestItem
		}{{"overdue", h.Overdue, d.Overdue}, {"sessions", h.Sessions, d.Sessions}, {"deadlines", h.Deadlines, d.Deadlines}} {
			if got, want := itemKeys(part.home), itemKeys(part.want); !slices.Equal(got, want) {
				t.Errorf("%s's home %s = %q, digest's %q", user, part.name, got, want)
			}
		}
		if !slices.Equal(h.Emails, d.Emails) {
			t.Errorf("%s's home emails = %+v, digest's %+v", user, h.Emails, d.Emails)
		}
		if h.OpenCases != d.OpenCases || len(h.Cases) != d.OpenCases {
			t.Errorf("%s's home: %d cases (%d listed), digest %d", user, h.OpenCases, len(h.Cases), d.OpenCases)
		}
	}
	h, err := e.s.HomeNow(ctx, "U1", now)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range h.Cases {
		ids = append(ids, c.ID)
	}
	if want := []string{urgent.ID, shared.ID, low.ID}; !slices.Equal(ids, want) {
		t.Errorf("U1's home cases = %q, want %q (most urgent first; not U2's own, not the closed one)", ids, want)
	}
	if h.Cases[0].Title != "Urgent one" || h.Cases[0].Next.Text != "long overdue" {
		t.Errorf("first case on U1's home: %+v", h.Cases[0])
	}
	if got := itemKeys(h.Overdue); !slices.Equal(got, []string{urgent.ID + " long overdue", shared.ID + " shared overdue"}) {
		t.Errorf("U1's overdue = %q", got)
	}
	if got := itemKeys(h.Sessions); !slices.Equal(got, []string{urgent.ID + " Opening Room 4", shared.ID + " Shared session"}) {
		t.Errorf("U1's sessions today = %q", got)
	}
	if len(h.Emails) != 2 || h.Emails[0].CaseID != urgent.ID || h.Emails[0].Count != 2 {
		t.Errorf("U1's emails = %+v", h.Emails)
	}
	// An admin's Home: every case's overdue deadlines, as the admin's
	// digest lists them, the most urgent shown and all counted.
	ah, err := e.s.HomeNow(ctx, "UADMIN", now)
	if err != nil {
		t.Fatal(err)
	}
	ad, err := e.s.BuildDigest(ctx, "UADMIN", now, time.UTC, ah.Since, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := itemKeys(ah.Overdue), itemKeys(ad.Overdue); !slices.Equal(got, want) || ah.OverdueTotal != len(ad.Overdue) || len(want) != 3 {
		t.Errorf("admin's home overdue = %q (of %d), digest's %q", got, ah.OverdueTotal, want)
	}
	if s, err := e.s.HomeNow(ctx, "U9", now); err != nil || len(s.Cases) != 0 || len(s.Overdue) != 0 || len(s.Sessions) != 0 {
		t.Errorf("a stranger's home: %+v, %v", s, err)
	}
}

// itemKeys names digest items by case and text (a session by its title
// and place), in order.
func itemKeys(items []casebot.DigestItem) []string {
	var out []string
	for _, it := range items {
		k := it.CaseID + " " + it.Text
		if it.Session != nil {
			k = it.CaseID + " " + it.Session.Title
			if it.Session.Where != "" {
				k += " " + it.Session.Where
			}
		}
		out = append(out, k)
	}
	return out
}

// afterCounter is the store, noting the notes NotesAfter reads.
type afterCounter struct {
	*store.DB
	read int
}

func (a *afterCounter) NotesAfter(ctx context.Context, after uint64, since time.Time) ([]casebot.NoteMeta, uint64, error) {
	notes, last, err := a.DB.NotesAfter(ctx, after, since)
	a.read += len(notes)
	return notes, last, err
}

// TestHomeReadsOnlyNewNotes: a Home counts a mediator's party emails since
// their last digest, yet each Home reads from the store only the notes
// written since the one before it.
func TestHomeReadsOnlyNewNotes(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	now := t0.Add(2 * time.Hour)
	e.clk.Set(now)
	c := e.newCase("Mine", "U1", casebot.PriorityHigh, party("Ann", "ann@example.com"))
	other := e.newCase("Theirs", "U2", casebot.PriorityHigh, party("Bo", "bo@example.com"))
	email := func(id, from string) {
		t.Helper()
		if _, err := e.db.AddNote(ctx, &casebot.Note{CaseID: id, Author: from, Source: casebot.SourceEmail, Body: "hi"}, casebot.Change{Actor: from}); err != nil {
			t.Fatal(err)
		}
	}
	counter := &afterCounter{DB: e.db}
	cfg := e.cfg
	cfg.Store = counter
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	emails := func() int {
		t.Helper()
		h, err := s.HomeNow(ctx, "U1", now)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ec := range h.Emails {
			if ec.CaseID != c.ID {
				t.Fatalf("Home of U1 counts emails of %s", ec.CaseID)
			}
			n += ec.Count
		}
		return n
	}
	email(c.ID, "ann@example.com")
	email(other.ID, "bo@example.com")
	if n := emails(); n != 1 || counter.read != 2 {
		t.Fatalf("first Home: %d emails (want 1), %d notes read (want 2)", n, counter.read)
	}
	email(c.ID, "ann@example.com")
	email(c.ID, "ann@example.com")
	if n := emails(); n != 3 || counter.read != 4 {
		t.Fatalf("second Home: %d emails (want 3), %d notes read in all (want 4: only the 2 new ones)", n, counter.read)
	}
	if n := emails(); n != 3 || counter.read != 4 {
		t.Fatalf("third Home: %d emails (want 3), %d notes read in all (want still 4)", n, counter.read)
	}
}

// casesCounter is the store, counting the calls to Cases, which reads
// whole case records.
type casesCounter struct {
	*store.DB
	calls int
}

func (c *casesCounter) Cases(ctx context.Context, f casebot.CaseFilter) ([]*casebot.Case, error) {
	c.calls++
	return c.DB.Cases(ctx, f)
}

// An admin's Home shows the caseload balance and the quarantine count of
// the admin digest, not its purge lists: it reads no case record for them
// (the digest reads every closed case).
func TestAdminHomeReadsNoClosedCases(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	now := t0.Add(2 * time.Hour)
	e.clk.Set(now)
	e.newCase("Open", "U1", casebot.PriorityHigh)
	shared := e.newCase("Shared", "U2", casebot.PriorityUrgent)
	e.update(shared.ID, func(c *casebot.Case) { c.CoMediators = []string{"U1"} })
	closed := e.newCase("Closed", "U1", casebot.PriorityUrgent)
	e.update(closed.ID, func(c *casebot.Case) { c.Status = casebot.StatusSettled })
	counter := &casesCounter{DB: e.db}
	cfg := e.cfg
	cfg.Store = counter
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.HomeNow(ctx, "UADMIN", now)
	if err != nil {
		t.Fatal(err)
	}
	if counter.calls != 0 {
		t.Errorf("an admin's Home read whole cases %d times", counter.calls)
	}
	d, err := s.BuildDigest(ctx, "UADMIN", now, time.UTC, h.Since, nil)
	if err != nil {
		t.Fatal(err)
	}
	if counter.calls == 0 {
		t.Errorf("the admin digest read no closed cases: the count above proves nothing")
	}
	if !reflect.DeepEqual(h.Caseloads, d.Caseloads) || h.Quarantine != d.Quarantine || len(h.Caseloads) != 2 ||
		h.Caseloads[0].Mediator != "U1" || h.Caseloads[0].Open != 2 || h.Caseloads[1].Open != 1 {
		t.Errorf("admin's Home caseloads %+v (quarantine %d), digest's %+v (%d)", h.Caseloads, h.Quarantine, d.Caseloads, d.Quarantine)
	}
}
