package store

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// EachDeadlineOf reads one user's unmet deadlines (as mediator or
// co-mediator) from idx_deadline_med, in a window, without their texts,
// which DeadlineTexts reads; a store of schema 9
// gets the index from its deadline index when it is opened (migration 10),
// and Check agrees with it, also with an encryption key.
func TestEachDeadlineOfAndMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "casebot.db")
	clk := newClock()
	opts := Options{EncryptionKey: testKey}
	db := openAt(t, path, clk, opts)
	now := clk.Now()
	a := newCase(t, db, "Lease", "U1")
	b := newCase(t, db, "Fence", "U2")
	update(t, db, a.ID, "deadline.add", func(c *casebot.Case) {
		c.Deadlines = []casebot.Deadline{{N: 1, Due: now.Add(-time.Hour), Text: "overdue"}, {N: 2, Due: now.Add(time.Hour), Text: "soon"},
			{N: 3, Due: now.Add(time.Hour), Text: "met", Met: true}, {N: 4, Due: now.Add(30 * 24 * time.Hour), Text: "later"}}
	})
	update(t, db, b.ID, "deadline.add", func(c *casebot.Case) {
		c.CoMediators = []string{"U1"}
		c.Deadlines = []casebot.Deadline{{N: 1, Due: now, Text: "shared"}}
	})
	texts := func(user string, from, to time.Time) []string {
		t.Helper()
		var refs []casebot.DeadlineRef
		if err := db.EachDeadlineOf(ctx, user, from, to, func(r casebot.DeadlineRef) bool {
			refs = append(refs, r)
			return true
		}); err != nil {
			t.Fatal(err)
		}
		// EachDeadlineKeyOf names the same deadlines from the keys alone.
		var keys, want []string
		if err := db.EachDeadlineKeyOf(ctx, user, from, to, func(id []byte, n int, due time.Time) bool {
			keys = append(keys, fmt.Sprintf("%s #%d %s", id, n, due.Format(time.RFC3339Nano)))
			return true
		}); err != nil {
			t.Fatal(err)
		}
		for _, r := range refs {
			want = append(want, fmt.Sprintf("%s #%d %s", r.CaseID, r.Deadline.N, r.Deadline.Due.UTC().Format(time.RFC3339Nano)))
		}
		if !slices.Equal(keys, want) {
			t.Errorf("%s's deadline keys = %q, want %q", user, keys, want)
		}
		for _, r := range refs {
			if r.Title != "" || r.Deadline.Text != "" {
				t.Errorf("EachDeadlineOf opened %s #%d", r.CaseID, r.Deadline.N)
			}
		}
		if err := db.DeadlineTexts(ctx, refs); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range refs {
			out = append(out, r.CaseID+" "+r.Deadline.Text)
		}
		return out
	}
	check := func(when string) {
		t.Helper()
		week := now.Add(7 * 24 * time.Hour)
		if got, want := texts("U1", time.Time{}, week), []string{a.ID + " overdue", b.ID + " shared", a.ID + " soon"}; !slices.Equal(got, want) {
			t.Errorf("%s: U1's deadlines = %q, want %q", when, got, want)
		}
		if got, want := texts("U2", now, week), []string{b.ID + " shared"}; !slices.Equal(got, want) {
			t.Errorf("%s: U2's deadlines = %q, want %q", when, got, want)
		}
		if got := texts("U3", time.Time{}, week); len(got) != 0 {
			t.Errorf("%s: a stranger's deadlines = %q", when, got)
		}
		mustCheck(t, db, when)
	}
	check("after the writes")
	update(t, db, b.ID, "assign", func(c *casebot.Case) { c.CoMediators = nil })
	if got := texts("U1", time.Time{}, now.Add(time.Hour)); slices.Contains(got, b.ID+" shared") {
		t.Errorf("a removed co-mediator still has the deadline: %q", got)
	}
	update(t, db, b.ID, "assign", func(c *casebot.Case) { c.CoMediators = []string{"U1"} })

	// Back to schema 9, without the index: opening migrates.
	if err := db.testUpdate(func(tx kv.Tx) error {
		if err := tx.DeleteBucket(bucketIdxDeadlineMed); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(metaSchemaVersion, be64(9))
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, path, clk, opts)
	check("after migration 10")
}
