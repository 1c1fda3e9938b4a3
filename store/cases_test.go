package store

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casebot/casebot"
)

func TestCaseIDs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ids.db")
	clk := newClock()
	db := openAt(t, path, clk, Options{CasePrefix: "ADR"})
	var got []string
	for i := 0; i < 3; i++ {
		got = append(got, newCase(t, db, "c", "U1").ID)
	}
	// A rejected case uses no ID.
	if _, err := db.CreateCase(context.Background(), &casebot.Case{Title: "", Mediator: "U1"}, casebot.Change{}); casebot.ErrorCode(err) != casebot.EINVALID {
		t.Fatalf("CreateCase(no title): got %v, want EINVALID", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, path, clk, Options{CasePrefix: "ADR"})
	got = append(got, newCase(t, db, "after reopen", "U1").ID)
	clk.Set(time.Date(2027, 1, 1, 0, 0, 1, 0, time.UTC))
	got = append(got, newCase(t, db, "new year", "U1").ID)
	clk.Set(time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC)) // a clock stepping back
	got = append(got, newCase(t, db, "late", "U1").ID)
	want := []string{"ADR-2026-0001", "ADR-2026-0002", "ADR-2026-0003", "ADR-2026-0004", "ADR-2027-0001", "ADR-2026-0005"}
	if !slices.Equal(got, want) {
		t.Fatalf("IDs = %v, want %v", got, want)
	}
	c, err := db.Case(context.Background(), "ADR-2026-0001")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Token) != 8 || strings.Trim(c.Token, tokenAlphabet) != "" {
		t.Errorf("token %q is not 8 base32 characters", c.Token)
	}
	if c.Status != casebot.StatusIntake || c.Priority != casebot.PriorityNormal || !c.Created.Equal(newClock().Now()) {
		t.Errorf("defaults: status %s priority %s created %s", c.Status, c.Priority, c.Created)
	}
}

// TestIndexesAfterEveryChange applies every kind of change and checks after
// each that the stored indexes equal a rebuild from the records, and that
// the queries built on them see the change.
func TestIndexesAfterEveryChange(t *testing.T) {
	db, clk := openTest(t)
	ctx := context.Background()
	now := clk.Now()
	alice := casebot.Party{Role: casebot.RoleClaimant, Name: "Alice Martin", Email: "alice@example.com"}
	c := newCase(t, db, "Boundary dispute", "U1", alice)
	other := newCase(t, db, "Lease", "U2", casebot.Party{Role: casebot.RoleRespondent, Name: "Martin, Alice", Email: "am@example.org"})
	mustCheck(t, db, "create")

	steps := []struct {
		name  string
		fn    func(c *casebot.Case)
		check func(t *testing.T)
	}{
		{"party add", func(c *casebot.Case) {
			c.Parties = append(c.Parties, casebot.Party{Role: casebot.RoleRespondent, Name: "Bob O'Neil", Email: "bob@example.com"})
		}, func(t *testing.T) {
			if m, _ := db.FindParty(ctx, "BOB@example.com"); len(m) != 1 || m[0].CaseID != c.ID || m[0].Party.Name != "Bob O'Neil" {
				t.Errorf("FindParty(bob) = %+v", m)
			}
		}},
		{"party remove", func(c *casebot.Case) { c.Parties = c.Parties[:1] }, func(t *testing.T) {
			if m, _ := db.FindParty(ctx, "bob@example.com"); len(m) != 0 {
				t.Errorf("FindParty(bob) after remove = %+v", m)
			}
			if m, _ := db.FindParty(ctx, "o'neil"); len(m) != 0 {
				t.Errorf("FindParty(o'neil) after remove = %+v", m)
			}
		}},
		{"assign", func(c *casebot.Case) { c.Mediator = "U3" }, func(t *testing.T) {
			if cs, _ := db.Cases(ctx, casebot.CaseFilter{Mediator: "U1"}); len(cs) != 0 {
				t.Errorf("U1 still has %v", ids(cs))
			}
			if cs, _ := db.Cases(ctx, casebot.CaseFilter{Mediator: "U3"}); len(cs) != 1 || cs[0].ID != c.ID {
				t.Errorf("U3 has %v", ids(cs))
			}
		}},
		{"deadline add", func(c *casebot.Case) {
			c.Deadlines = append(c.Deadlines,
				casebot.Deadline{N: 1, Due: now.Add(-time.Hour), Text: "brief"},
				casebot.Deadline{N: 2, Due: now.Add(48 * time.Hour), Text: "exhibits"})
		}, func(t *testing.T) {
			if od, _ := db.Overdue(ctx, now, ""); len(od) != 1 || od[0].Deadline.N != 1 || od[0].Mediator != "U3" || od[0].Title != "Boundary dispute" {
				t.Errorf("Overdue = %+v", od)
			}
			if ds, _ := db.DeadlinesBetween(ctx, now, now.Add(72*time.Hour)); len(ds) != 1 || ds[0].Deadline.N != 2 {
				t.Errorf("DeadlinesBetween = %+v", ds)
			}
		}},
		{"deadline done", func(c *casebot.Case) { c.Deadlines[0].Met, c.Deadlines[0].MetAt = true, now }, func(t *testing.T) {
			if od, _ := db.Overdue(ctx, now, ""); len(od) != 0 {
				t.Errorf("Overdue after done = %+v", od)
			}
		}},
		{"session add", func(c *casebot.Case) {
			c.Sessions = append(c.Sessions, casebot.Session{N: 1, Start: now.Add(24 * time.Hour), Duration: 2 * time.Hour, Title: "Joint session"})
		}, func(t *testing.T) {
			if ss, _ := db.SessionsBetween(ctx, now, now.Add(25*time.Hour)); len(ss) != 1 || ss[0].Session.Title != "Joint session" {
				t.Errorf("SessionsBetween = %+v", ss)
			}
		}},
		{"session reschedule", func(c *casebot.Case) { c.Sessions[0].Start = now.Add(72 * time.Hour); c.Sessions[0].Sequence++ }, func(t *testing.T) {
			if ss, _ := db.SessionsBetween(ctx, now, now.Add(25*time.Hour)); len(ss) != 0 {
				t.Errorf("old slot still has %+v", ss)
			}
			if ss, _ := db.SessionsBetween(ctx, now, now.Add(73*time.Hour)); len(ss) != 1 || ss[0].Session.Sequence != 1 {
				t.Errorf("new slot has %+v", ss)
			}
		}},
		{"session cancel", func(c *casebot.Case) { c.Sessions[0].Cancelled = true }, func(t *testing.T) {
			if ss, _ := db.SessionsBetween(ctx, now, now.Add(100*time.Hour)); len(ss) != 0 {
				t.Errorf("cancelled session listed: %+v", ss)
			}
		}},
		{"priority and title", func(c *casebot.Case) { c.Priority = casebot.PriorityUrgent; c.Title = "Boundary dispute (fence)" }, func(t *testing.T) {
			if ds, _ := db.DeadlinesBetween(ctx, now, now.Add(72*time.Hour)); len(ds) != 1 || ds[0].Priority != casebot.PriorityUrgent || ds[0].Title != "Boundary dispute (fence)" {
				t.Errorf("deadline ref not refreshed: %+v", ds)
			}
		}},
		{"status", func(c *casebot.Case) { c.Status = casebot.StatusActive }, func(t *testing.T) {
			st, _ := db.Stats(ctx, now)
			if st.OpenByStatus[casebot.StatusActive] != 1 || st.OpenByStatus[casebot.StatusIntake] != 1 {
				t.Errorf("OpenByStatus = %v", st.OpenByStatus)
			}
		}},
		{"close", func(c *casebot.Case) { c.Status, c.Outcome = casebot.StatusSettled, casebot.StatusSettled }, func(t *testing.T) {
			if ds, _ := db.DeadlinesBetween(ctx, time.Time{}, now.Add(1000*time.Hour)); len(ds) != 0 {
				t.Errorf("closed case deadlines listed: %+v", ds)
			}
			if cs, _ := db.Cases(ctx, casebot.CaseFilter{State: "closed"}); len(cs) != 1 || cs[0].ID != c.ID || cs[0].Closed.IsZero() {
				t.Errorf("closed cases = %+v", cs)
			}
			if m, _ := db.FindParty(ctx, "Alice Martin"); len(m) != 2 {
				t.Errorf("FindParty(Alice Martin) after close = %+v, want both cases", m)
			}
		}},
		{"reopen", func(c *casebot.Case) { c.Status = casebot.StatusActive }, func(t *testing.T) {
			if cs, _ := db.Cases(ctx, casebot.CaseFilter{}); len(cs) != 2 {
				t.Errorf("open cases after reopen = %v", ids(cs))
			}
		}},
	}
	for _, s := range steps {
		clk.Advance(time.Minute)
		got := update(t, db, c.ID, s.name, s.fn)
		if !got.Updated.Equal(clk.Now()) || !got.Activity.Equal(clk.Now()) {
			t.Errorf("%s: Updated %s Activity %s, want %s", s.name, got.Updated, got.Activity, clk.Now())
		}
		mustCheck(t, db, s.name)
		t.Run(s.name, s.check)
	}
	if _, err := db.AddNote(ctx, &casebot.Note{CaseID: other.ID, Author: "U2", Body: "hello"}, casebot.Change{Actor: "U2"}); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, db, "note")
	ev, err := db.Audit(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev) != len(steps)+1 || ev[0].Action != "case.create" || ev[len(ev)-1].Action != "reopen" || ev[1].Actor != "U1" {
		t.Errorf("audit = %+v", ev)
	}
}

func TestUpdateCaseErrorWritesNothing(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	c := newCase(t, db, "Fence", "U1")
	refuse := casebot.Errorf(casebot.ECONFLICT, "no")
	_, err := db.UpdateCase(ctx, c.ID, func(c *casebot.Case) (casebot.Change, error) {
		c.Title = "changed"
		c.Mediator = "U9"
		return casebot.Change{Outbox: []casebot.OutMessage{{Key: "k", To: "U9"}}}, refuse
	})
	if err != refuse {
		t.Fatalf("UpdateCase: got %v, want the fn's error unchanged", err)
	}
	got, _ := db.Case(ctx, c.ID)
	ev, _ := db.Audit(ctx, c.ID)
	depth, _ := db.OutboxDepth(ctx)
	if got.Title != "Fence" || len(ev) != 1 || depth != 0 {
		t.Errorf("after refused update: title %q, %d audit events, outbox %d", got.Title, len(ev), depth)
	}
	mustCheck(t, db, "refused update")
	// The ID and token cannot be changed through fn.
	got = update(t, db, c.ID, "tamper", func(x *casebot.Case) { x.ID, x.Token = "MED-2026-0999", "zzzzzzzz" })
	if got.ID != c.ID || got.Token != c.Token {
		t.Errorf("fn changed ID/token to %s/%s", got.ID, got.Token)
	}
}

func TestCasesOrder(t *testing.T) {
	db, clk := openTest(t)
	ctx := context.Background()
	now := clk.Now()
	mk := func(title, med string, p casebot.Priority, due time.Duration, st casebot.Status) string {
		c := newCase(t, db, title, med)
		return update(t, db, c.ID, "setup", func(c *casebot.Case) {
			c.Priority, c.Status = p, st
			if due != 0 {
				c.Deadlines = []casebot.Deadline{{N: 1, Due: now.Add(due), Text: "d"}}
			}
		}).ID
	}
	a := mk("normal, no deadline", "U1", casebot.PriorityNormal, 0, casebot.StatusIntake)
	b := mk("normal, late deadline", "U1", casebot.PriorityNormal, 48*time.Hour, casebot.StatusActive)
	c := mk("urgent", "U2", casebot.PriorityUrgent, 0, casebot.StatusScheduled)
	d := mk("normal, early deadline", "U2", casebot.PriorityNormal, time.Hour, casebot.StatusIntake)
	e := mk("low", "U1", casebot.PriorityLow, time.Hour, casebot.StatusActive)
	f := mk("closed", "U1", casebot.PriorityUrgent, 0, casebot.StatusImpasse)
	tests := []struct {
		name   string
		filter casebot.CaseFilter
		want   []string
	}{
		{"open", casebot.CaseFilter{}, []string{c, d, b, a, e}},
		{"mine", casebot.CaseFilter{Mediator: "U1", State: "open"}, []string{b, a, e}},
		{"closed", casebot.CaseFilter{State: "closed"}, []string{f}},
		{"all of U1", casebot.CaseFilter{Mediator: "U1", State: "all"}, []string{f, b, a, e}},
		{"limit", casebot.CaseFilter{Limit: 2}, []string{c, d}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := db.Cases(ctx, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(cs); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := db.Cases(ctx, casebot.CaseFilter{State: "bogus"}); casebot.ErrorCode(err) != casebot.EINVALID {
		t.Errorf("bad state: got %v", err)
	}
	loads, err := db.Caseloads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(loads) != 2 || loads[0].Mediator != "U1" || loads[0].Open != 3 || loads[0].ByPriority[casebot.PriorityNormal] != 2 ||
		loads[1].Mediator != "U2" || loads[1].Open != 2 || loads[1].ByPriority[casebot.PriorityUrgent] != 1 {
		t.Errorf("Caseloads = %+v", loads)
	}
}

func TestFindParty(t *testing.T) {
	t.Run("no key", func(t *testing.T) { testFindParty(t, nil) })
	// With a key the indexes hold keyed hashes: the answers are the same.
	t.Run("key", func(t *testing.T) { testFindParty(t, testKey) })
}

func testFindParty(t *testing.T, key []byte) {
	db := openAt(t, filepath.Join(t.TempDir(), "casebot.db"), newClock(), Options{EncryptionKey: key})
	ctx := context.Background()
	p := func(name, email string) casebot.Party {
		return casebot.Party{Role: casebot.RoleClaimant, Name: name, Email: email}
	}
	c1 := newCase(t, db, "one", "U1", p("John Smith", "john@example.com"), p("Mary Jones", "mary@example.com"))
	c2 := newCase(t, db, "two", "U2", p("Smith, John", "js@other.example"))
	c3 := newCase(t, db, "three", "U1", p("John Paul Smith", "jps@example.com"), p("Johnny Walker", "jw@example.com"))
	tests := []struct {
		query string
		want  []string // case/name
	}{
		{"john@example.com", []string{c1.ID + "/John Smith"}},
		{"JOHN@EXAMPLE.COM", []string{c1.ID + "/John Smith"}},
		{"john smith", []string{c1.ID + "/John Smith", c2.ID + "/Smith, John", c3.ID + "/John Paul Smith"}},
		{"Smith", []string{c1.ID + "/John Smith", c2.ID + "/Smith, John", c3.ID + "/John Paul Smith"}},
		{"john", []string{c1.ID + "/John Smith", c2.ID + "/Smith, John", c3.ID + "/John Paul Smith", c3.ID + "/Johnny Walker"}},
		{"walker", []string{c3.ID + "/Johnny Walker"}},
		{"jo", []string{c1.ID + "/John Smith", c1.ID + "/Mary Jones", c2.ID + "/Smith, John", c3.ID + "/John Paul Smith", c3.ID + "/Johnny Walker"}},
		{"john paul smi", []string{c3.ID + "/John Paul Smith"}},
		{"john paul smith", []string{c3.ID + "/John Paul Smith"}},
		{"paul", []string{c3.ID + "/John Paul Smith"}},
		{"pau", nil},
		{"nobody", nil},
		{"nobody@example.com", nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			ms, err := db.FindParty(ctx, tt.query)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range ms {
				got = append(got, m.CaseID+"/"+m.Party.Name)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := db.FindParty(ctx, " ,. "); casebot.ErrorCode(err) != casebot.EINVALID {
		t.Errorf("empty query: got %v", err)
	}
}

func TestStats(t *testing.T) {
	db, clk := openTest(t)
	ctx := context.Background()
	start := clk.Now()
	closeAfter := func(days int, outcome casebot.Status) {
		c := newCase(t, db, "c", "U1")
		clk.Advance(time.Duration(days) * 24 * time.Hour)
		update(t, db, c.ID, "close", func(c *casebot.Case) { c.Status = outcome })
		clk.Set(start)
	}
	closeAfter(2, casebot.StatusSettled)
	closeAfter(10, casebot.StatusImpasse)
	closeAfter(4, casebot.StatusPartial)
	closeAfter(30, casebot.StatusWithdrawn)
	o := newCase(t, db, "open", "U2")
	update(t, db, o.ID, "deadlines", func(c *casebot.Case) {
		c.Priority = casebot.PriorityHigh
		c.Deadlines = []casebot.Deadline{{N: 1, Due: start.Add(-time.Hour)}, {N: 2, Due: start.Add(-2 * time.Hour)}, {N: 3, Due: start.Add(time.Hour)}}
	})
	st, err := db.Stats(ctx, start)
	if err != nil {
		t.Fatal(err)
	}
	if st.Closed != 4 || st.Settled != 2 || st.MedianDaysToClose != 7 || st.Overdue != 2 ||
		st.OpenByStatus[casebot.StatusIntake] != 1 || st.OpenByPriority[casebot.PriorityHigh] != 1 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestConcurrentUpdates(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	c := newCase(t, db, "busy", "U1")
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := db.UpdateCase(ctx, c.ID, func(c *casebot.Case) (casebot.Change, error) {
				c.Deadlines = append(c.Deadlines, casebot.Deadline{N: len(c.Deadlines) + 1, Due: time.Now(), Text: fmt.Sprint(i)})
				return casebot.Change{Actor: "U1", Action: "deadline.add"}, nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, _ := db.Case(ctx, c.ID)
	if len(got.Deadlines) != 20 {
		t.Errorf("%d deadlines, want 20 (a lost update)", len(got.Deadlines))
	}
	mustCheck(t, db, "concurrent updates")
}
