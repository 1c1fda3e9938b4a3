package store

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/internal/testclock"
	"github.com/casebot/casebot/store/kv"
)

// v1Fixture is the frozen schema-1 file: cases, notes, audit and sequences,
// no indexes and no outbox. Regenerate it only if it is lost, with
// CASEBOT_WRITE_V1_FIXTURE=1 go test -run TestWriteV1Fixture ./store/
const v1Fixture = "testdata/v1.db"

var v1Time = time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)

// TestWriteV1Fixture writes testdata/v1.db the way schema 1 stored data,
// with raw bbolt calls so later changes to the store code cannot alter it.
func TestWriteV1Fixture(t *testing.T) {
	if os.Getenv("CASEBOT_WRITE_V1_FIXTURE") == "" {
		t.Skip("set CASEBOT_WRITE_V1_FIXTURE=1 to regenerate " + v1Fixture)
	}
	_ = os.Remove(v1Fixture)
	raw, err := bolt.Open(v1Fixture, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	cases := []casebot.Case{
		{ID: "MED-2025-0001", Title: "Boundary fence", Type: "neighbour", Priority: casebot.PriorityHigh, Status: casebot.StatusActive, Mediator: "U01",
			Token: "abcd2345", CreatedBy: "U01", Created: v1Time, Updated: v1Time, Activity: v1Time, NoteCount: 2,
			Parties: []casebot.Party{
				{Role: casebot.RoleClaimant, Name: "Alice Martin", Email: "alice@example.com", Added: v1Time},
				{Role: casebot.RoleRespondent, Name: "Bob O'Neil", Email: "bob@example.com", Added: v1Time}},
			Deadlines: []casebot.Deadline{
				{N: 1, Due: v1Time.Add(24 * time.Hour), Text: "position statements", Created: v1Time},
				{N: 2, Due: v1Time.Add(-24 * time.Hour), Text: "met already", Met: true, MetAt: v1Time, MetBy: "U01", Created: v1Time}},
			Sessions: []casebot.Session{{N: 1, Start: v1Time.Add(72 * time.Hour), Duration: 2 * time.Hour, Title: "Joint session", Created: v1Time}}},
		{ID: "MED-2025-0002", Title: "Unpaid invoice", Priority: casebot.PriorityNormal, Status: casebot.StatusSettled, Outcome: casebot.StatusSettled,
			Mediator: "U02", Token: "efgh6723", Created: v1Time, Updated: v1Time, Closed: v1Time.Add(96 * time.Hour), Activity: v1Time,
			Parties: []casebot.Party{{Role: casebot.RoleClaimant, Name: "Martin, Alice", Email: "alice@example.com", Added: v1Time}}},
		{ID: "MED-2025-0003", Title: "Lease terms", Priority: casebot.PriorityLow, Status: casebot.StatusIntake, Mediator: "U01",
			Token: "ijkl7234", Created: v1Time, Updated: v1Time, Activity: v1Time},
	}
	notes := []struct {
		n    noteHeader
		body string
	}{
		{noteHeader{CaseID: "MED-2025-0001", N: 1, Author: "U01", Source: casebot.SourceSlack, Created: v1Time}, `{"Body":"Parties agree to meet on site."}`},
		{noteHeader{CaseID: "MED-2025-0001", N: 2, Author: "U01", Source: casebot.SourceSlack, Private: true, Created: v1Time}, `{"Body":"Caucus: Bob would accept half."}`},
	}
	err = raw.Update(func(tx *bolt.Tx) error {
		b := func(name string) *bolt.Bucket {
			bk, err := tx.CreateBucket([]byte(name))
			if err != nil {
				t.Fatal(err)
			}
			return bk
		}
		meta, seq, cs, ns, audit := b("meta"), b("seq"), b("cases"), b("notes"), b("audit")
		must := func(err error) {
			if err != nil {
				t.Fatal(err)
			}
		}
		must(meta.Put([]byte("schema_version"), be64(1)))
		must(meta.Put([]byte("created"), []byte(v1Time.Format(time.RFC3339Nano))))
		must(seq.Put([]byte("2025"), be64(3)))
		for i, c := range cases {
			v, err := json.Marshal(c)
			must(err)
			must(cs.Put([]byte(c.ID), v))
			ev, err := json.Marshal(casebot.AuditEvent{CaseID: c.ID, At: v1Time, Actor: c.Mediator, Action: "case.create"})
			must(err)
			must(audit.Put(append([]byte(c.ID+"\x00"), be64(uint64(i+1))...), ev))
		}
		must(audit.SetSequence(uint64(len(cases))))
		for _, n := range notes {
			h, err := json.Marshal(n.n)
			must(err)
			key := append([]byte(n.n.CaseID+"\x00"), 0, 0, 0, byte(n.n.N))
			// Schema 1 note record: uvarint header length, header, sealed
			// payload (version byte 0: plain).
			v := append([]byte{byte(len(h))}, h...)
			v = append(v, 0)
			must(ns.Put(key, append(v, n.body...)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMigrateFromV1(t *testing.T) {
	src, err := os.ReadFile(v1Fixture)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "v1.db")
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Read-only cannot migrate and says so.
	if _, err := Open(ctx, storePath(t, path), Options{ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "schema version 1") {
		t.Fatalf("read-only Open of v1: got %v", err)
	}
	clk := testclock.New(v1Time.Add(48 * time.Hour))
	db := openAt(t, path, clk, Options{})
	err = db.testView(func(tx kv.Tx) error {
		if v := schemaVersion(tx); v != currentVersion {
			t.Errorf("schema version %d after migration, want %d", v, currentVersion)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, db, "migration")

	c, err := db.Case(ctx, "MED-2025-0001")
	if err != nil || c.Title != "Boundary fence" || len(c.Parties) != 2 || c.Token != "abcd2345" {
		t.Fatalf("Case = %+v, %v", c, err)
	}
	notes, err := db.Notes(ctx, c.ID)
	if err != nil || len(notes) != 2 || notes[1].Body != "Caucus: Bob would accept half." || !notes[1].Private {
		t.Fatalf("Notes = %+v, %v", notes, err)
	}
	if ev, err := db.Audit(ctx, c.ID); err != nil || len(ev) != 1 || ev[0].Action != "case.create" {
		t.Fatalf("Audit = %+v, %v", ev, err)
	}
	// The indexes the migration built answer the queries.
	if cs, _ := db.Cases(ctx, casebot.CaseFilter{Mediator: "U01"}); len(cs) != 2 || cs[0].ID != "MED-2025-0001" {
		t.Errorf("U01 cases = %v", ids(cs))
	}
	if m, _ := db.FindParty(ctx, "alice martin"); len(m) != 2 {
		t.Errorf("FindParty = %+v", m)
	}
	if od, _ := db.Overdue(ctx, clk.Now(), ""); len(od) != 1 || od[0].Deadline.Text != "position statements" {
		t.Errorf("Overdue = %+v", od)
	}
	if ss, _ := db.SessionsBetween(ctx, v1Time, v1Time.Add(100*time.Hour)); len(ss) != 1 {
		t.Errorf("SessionsBetween = %+v", ss)
	}
	if st, _ := db.Stats(ctx, clk.Now()); st.Closed != 1 || st.Settled != 1 || st.MedianDaysToClose != 4 {
		t.Errorf("Stats = %+v", st)
	}
	// Migrations 5 and 6 built the pages, aggregates and search index.
	if pg, _ := db.CasePage(ctx, casebot.CaseFilter{State: "open"}, 1); pg.Total != 2 || len(pg.Cases) != 2 || pg.Cases[0].ID != "MED-2025-0001" {
		t.Errorf("CasePage = %+v", pg)
	}
	if hits, _ := db.Search(ctx, []string{"site"}, casebot.Actor{ID: "UADM", Admin: true}, 0); len(hits) != 1 || hits[0].Note.N != 1 {
		t.Errorf("Search after migration = %+v", hits)
	}
	if r, err := db.Report(ctx, casebot.ReportQuery{FromMonth: "2025-06", ToMonth: "2025-06"}); err != nil || r.Opened != 3 || r.All.Closed != 1 || r.All.MedianDays != 4 {
		t.Errorf("Report after migration = %+v, %v", r, err)
	}
	// The sequence carries on; the next audit event follows the old ones.
	n := newCase(t, db, "after migration", "U01")
	if n.ID != "MED-2025-0004" {
		t.Errorf("next ID %s, want MED-2025-0004", n.ID)
	}
	if _, err := db.AddNote(ctx, &casebot.Note{CaseID: c.ID, Author: "U01", Body: "third"}, casebot.Change{Actor: "U01"}); err != nil {
		t.Fatal(err)
	}
	if ev, _ := db.Audit(ctx, c.ID); len(ev) != 2 || ev[1].Action != "note.add" {
		t.Errorf("audit after note = %+v", ev)
	}
	if err := db.Enqueue(ctx, casebot.OutMessage{Key: "x", To: "U01", Kind: casebot.OutSlack}); err != nil {
		t.Fatalf("outbox after migration: %v", err)
	}
}
