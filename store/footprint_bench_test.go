package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

const (
	footprintCases        = 100_000
	footprintNotesPerCase = 10 // 1,000,000 notes
	footprintEnv          = "CASEBOT_FOOTPRINT_DB"
)

// footprintKey encrypts the footprint store, as a practice would run it.
var footprintKey = []byte("0123456789abcdef0123456789abcdef")

// buildFootprint writes an encrypted store with 100,000 cases and 1,000,000
// notes (about 400 bytes each, with their search index) through the
// store's own record encoders, in
// large transactions: AddNote's one-commit-per-batch would take minutes.
func buildFootprint(b *testing.B, path string) {
	b.Helper()
	db, err := Open(context.Background(), path, Options{EncryptionKey: footprintKey, Now: func() time.Time { return fixtureNow }})
	if err != nil {
		b.Fatal(err)
	}
	db.boltDB().NoSync = true
	body := strings.Repeat("The respondent says the fence was built on the boundary agreed in 2019. ", 5)
	const perTx = 2000
	for start := 0; start < footprintCases; start += perTx {
		err := db.testUpdate(func(tx kv.Tx) error {
			pb := newPostingBatch(0)
			for i := start; i < start+perTx && i < footprintCases; i++ {
				id := casebot.FormatCaseID("MED", 2026, uint64(i+1))
				c := footprintCase(i)
				if err := db.putCase(tx, nil, c); err != nil {
					return err
				}
				for n := 1; n <= footprintNotesPerCase; n++ {
					seq, err := appendBucket(tx, bucketNotes).NextSequence()
					if err != nil {
						return err
					}
					key := be64(seq)
					text := body
					if n == 1 && i%footprintRareEvery == 0 {
						text += " " + footprintRareWord
					}
					note := &casebot.Note{CaseID: id, N: n, Author: "U001", Source: casebot.SourceSlack, Body: text, Created: fixtureNow}
					v, err := db.encodeNote(key, note)
					if err != nil {
						return err
					}
					if err := tx.Bucket(bucketNotes).Put(key, v); err != nil {
						return err
					}
					if err := tx.Bucket(bucketNoteN).Put(numberedKey(id, n), key); err != nil {
						return err
					}
					if err := db.indexNoteTx(tx, pb, note, seq); err != nil {
						return err
					}
				}
			}
			if err := pb.write(tx); err != nil {
				return err
			}
			return tx.Bucket(bucketSeq).Put([]byte("2026"), be64(footprintCases))
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := db.boltDB().Sync(); err != nil {
		b.Fatal(err)
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
}

// footprintRareWord is in the first note of every footprintRareEvery-th
// case (20 notes); every note holds the common words of the body.
const (
	footprintRareWord  = "zeppelin"
	footprintRareEvery = 5000
)

// footprintCase is the footprint store's case i: over 200 mediators, four
// types and three sources, opened over the year before fixtureNow; every
// tenth (never one of U007's) is closed, settled or not, within 120 days.
func footprintCase(i int) *casebot.Case {
	created := fixtureNow.AddDate(0, 0, -(i % 365))
	c := &casebot.Case{
		ID: casebot.FormatCaseID("MED", 2026, uint64(i+1)), Title: fmt.Sprintf("Dispute number %d", i), Priority: casebot.Priorities[i%4],
		Type: []string{"family", "commercial", "neighbour", "workplace"}[(i/4)%4], Source: []string{"court", "agency", "self"}[(i/16)%3],
		Status: casebot.StatusActive, Mediator: fmt.Sprintf("U%03d", i%200), Token: "abcdefgh",
		Created: created, Updated: fixtureNow, Activity: fixtureNow, NoteCount: footprintNotesPerCase,
		Parties: []casebot.Party{
			{Role: casebot.RoleClaimant, Name: fmt.Sprintf("Claimant %d", i), Email: fmt.Sprintf("c%d@example.com", i)},
			{Role: casebot.RoleRespondent, Name: fmt.Sprintf("Respondent %d", i), Email: fmt.Sprintf("r%d@example.com", i)}},
		Deadlines: []casebot.Deadline{{N: 1, Due: fixtureNow.Add(time.Duration(i%2400-24) * time.Hour), Text: "exhibits"}},
	}
	if i%10 == 9 {
		c.Status = []casebot.Status{casebot.StatusSettled, casebot.StatusImpasse, casebot.StatusPartial}[(i/10)%3]
		c.Outcome = c.Status
		c.Closed = created.AddDate(0, 0, (i*7)%120)
		if c.Closed.After(fixtureNow) {
			c.Closed = fixtureNow
		}
	}
	return c
}

// BenchmarkFootprint reports the db file size and the resident memory of a
// fresh process that opens the 100,000-case, 1,000,000-note store and serves
// a mediator's list, a case's notes and the overdue scan. The baseline is
// the same process's resident memory before it opens the store.
//
// The store is the one BenchmarkInsight reads (footprintFixture), built or
// migrated once and kept in the temp directory: with its search index a
// build takes about an hour on this machine, and the testing package calls
// a benchmark more than once to size b.N, which built it anew each time.
func BenchmarkFootprint(b *testing.B) {
	path := footprintFixture(b)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var before, after, anon, file float64
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFootprintChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), footprintEnv+"="+path)
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("child: %v\n%s", err, out)
		}
		sc := bufio.NewScanner(strings.NewReader(string(out)))
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "footprint" {
				v, _ := strconv.ParseFloat(f[2], 64)
				switch f[1] {
				case "rss_before_kb":
					before = v
				case "rss_after_kb":
					after = v
				case "rss_anon_kb":
					anon = v
				case "rss_file_kb":
					file = v
				}
			}
		}
	}
	if after == 0 {
		b.Fatal("child reported no resident memory")
	}
	b.ReportMetric(float64(st.Size())/(1<<20), "db_MB")
	b.ReportMetric(after/1024, "rss_MB")
	b.ReportMetric(before/1024, "rss_baseline_MB")
	// What is resident after, by kind: the process's own memory (heap,
	// stacks) and pages of mapped files (the db file bbolt maps, which the
	// kernel can drop and read again).
	b.ReportMetric(anon/1024, "rss_anon_MB")
	b.ReportMetric(file/1024, "rss_file_MB")
}

// TestFootprintChild is the measured process of BenchmarkFootprint.
func TestFootprintChild(t *testing.T) {
	path := os.Getenv(footprintEnv)
	if path == "" {
		t.Skip("run by BenchmarkFootprint")
	}
	fmt.Printf("footprint rss_before_kb %d\n", rssKB(t))
	ctx := context.Background()
	db, err := Open(ctx, path, Options{EncryptionKey: footprintKey, Now: func() time.Time { return fixtureNow }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cs, err := db.Cases(ctx, casebot.CaseFilter{Mediator: "U007"})
	if err != nil || len(cs) != footprintCases/200 {
		t.Fatalf("list mine: %d cases, %v", len(cs), err)
	}
	notes, err := db.Notes(ctx, cs[0].ID)
	if err != nil || len(notes) != footprintNotesPerCase {
		t.Fatalf("notes: %d, %v", len(notes), err)
	}
	if _, err := db.Overdue(ctx, fixtureNow, ""); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("footprint rss_after_kb %d\n", rssKB(t))
	fmt.Printf("footprint rss_anon_kb %d\n", statusKB(t, "RssAnon:"))
	fmt.Printf("footprint rss_file_kb %d\n", statusKB(t, "RssFile:"))
}

// rssKB returns this process's resident set size from /proc.
func rssKB(t *testing.T) int { return statusKB(t, "VmRSS:") }

// statusKB returns a field of /proc/self/status counted in kB (VmRSS:,
// RssAnon:, RssFile:).
func statusKB(t *testing.T, field string) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc: resident memory unknown")
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}
