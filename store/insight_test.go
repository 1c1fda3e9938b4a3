package store

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// randomCases opens n cases over three mediators with random priorities,
// deadlines and statuses.
func randomCases(t *testing.T, db *DB, rng *rand.Rand, n int) {
	t.Helper()
	now := db.now()
	for i := 0; i < n; i++ {
		c := newCase(t, db, fmt.Sprintf("case %d", i), fmt.Sprintf("U%d", rng.IntN(3)))
		update(t, db, c.ID, "x", func(c *casebot.Case) {
			c.Priority = casebot.Priorities[rng.IntN(4)]
			if rng.IntN(2) == 0 {
				c.Deadlines = append(c.Deadlines, casebot.Deadline{N: 1, Due: now.Add(time.Duration(rng.IntN(500)) * time.Hour), Text: "d"})
			}
			c.Status = casebot.Statuses[rng.IntN(len(casebot.Statuses))]
		})
	}
}

// TestCasePageOrder: the pages of every list, read from the urgency index,
// are the list Cases sorts from the index values, cut in fifties.
func TestCasePageOrder(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	randomCases(t, db, rand.New(rand.NewPCG(1, 2)), 130)
	mustCheck(t, db, "random cases")
	for _, med := range []string{"", "U1"} {
		for _, state := range []string{"open", "closed", "all"} {
			var want []string
			for _, st := range map[string][]string{"open": {"open"}, "closed": {"closed"}, "all": {"open", "closed"}}[state] {
				cs, err := db.Cases(ctx, casebot.CaseFilter{Mediator: med, State: st})
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, ids(cs)...)
			}
			var got []string
			for page := 1; ; page++ {
				pg, err := db.CasePage(ctx, casebot.CaseFilter{Mediator: med, State: state}, page)
				if err != nil {
					t.Fatal(err)
				}
				if pg.Total != len(want) || pg.Page != page || len(pg.Cases) > casebot.ListPageSize {
					t.Fatalf("%s/%s page %d: %+v, want total %d", med, state, page, pg, len(want))
				}
				for _, c := range pg.Cases {
					got = append(got, c.ID)
				}
				if page >= pg.Pages {
					break
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("mediator %q, %s: pages give\n%v\nwant\n%v", med, state, got, want)
			}
		}
	}
	// A mediator's pages past the first, and a page past the last (the
	// last page), come from one walk that keeps only the page asked for.
	for i := range 2*casebot.ListPageSize + 7 {
		newCase(t, db, fmt.Sprintf("busy %d", i), "U5")
	}
	busy, err := db.Cases(ctx, casebot.CaseFilter{Mediator: "U5", State: "open"})
	if err != nil {
		t.Fatal(err)
	}
	for _, page := range []int{1, 2, 3, 4, 0} {
		pg, err := db.CasePage(ctx, casebot.CaseFilter{Mediator: "U5", State: "open"}, page)
		if err != nil {
			t.Fatal(err)
		}
		shown := min(max(page, 1), 3)
		want := ids(busy)[(shown-1)*casebot.ListPageSize : min(shown*casebot.ListPageSize, len(busy))]
		var got []string
		for _, c := range pg.Cases {
			got = append(got, c.ID)
		}
		if pg.Page != shown || pg.Pages != 3 || pg.Total != len(busy) || !slices.Equal(got, want) {
			t.Errorf("U5 page %d: page %d of %d, total %d, %d cases; want page %d of 3, total %d, %v", page, pg.Page, pg.Pages, pg.Total, len(pg.Cases), shown, len(busy), want)
		}
	}
	// Stats counts a mediator's overdue deadlines, as mediator or as
	// co-mediator, from the keys of their part of idx_deadline_med.
	cs, err := db.Cases(ctx, casebot.CaseFilter{Mediator: "U1", State: "open"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs[:len(cs)/2] {
		update(t, db, c.ID, "x", func(c *casebot.Case) { c.CoMediators = []string{"U2"} })
	}
	mustCheck(t, db, "co-mediators")
	later := db.now().Add(300 * time.Hour)
	for _, med := range []string{"", "U1", "U2"} {
		od, err := db.Overdue(ctx, later, med)
		if err != nil {
			t.Fatal(err)
		}
		if st, err := db.StatsFor(ctx, later, med); err != nil || st.Overdue != len(od) || len(od) == 0 {
			t.Errorf("StatsFor(%q).Overdue = %d (%v), want %d", med, st.Overdue, err, len(od))
		}
	}
	if _, err := db.CasePage(ctx, casebot.CaseFilter{State: "bogus"}, 1); casebot.ErrorCode(err) != casebot.EINVALID {
		t.Errorf("bad state: %v", err)
	}
}

// TestAggregatesProperty applies random changes of every kind (open,
// priority, reassign, sessions, close, reopen, notes) and checks after
// each that the aggregates equal a recomputation from the records (Check),
// and that Stats agrees with figures computed from the cases themselves.
func TestAggregatesProperty(t *testing.T) {
	db, clk := openTest(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 8))
	var cs []string
	types, sources := []string{"", "family", "commercial"}, []string{"", "court", "self"}
	for step := 0; step < 300; step++ {
		clk.Advance(time.Duration(rng.IntN(72)) * time.Hour)
		op := rng.IntN(8)
		if len(cs) == 0 {
			op = 0
		}
		var id string
		if len(cs) > 0 {
			id = cs[rng.IntN(len(cs))]
		}
		what := ""
		switch op {
		case 0:
			c, err := db.CreateCase(ctx, &casebot.Case{Title: "c", Mediator: fmt.Sprintf("U%d", rng.IntN(3)), Type: types[rng.IntN(3)],
				Source: sources[rng.IntN(3)], Priority: casebot.Priorities[rng.IntN(4)]}, casebot.Change{Actor: "U0"})
			if err != nil {
				t.Fatal(err)
			}
			cs, what = append(cs, c.ID), "create"
		case 1:
			update(t, db, id, "prio", func(c *casebot.Case) { c.Priority = casebot.Priorities[rng.IntN(4)] })
			what = "priority"
		case 2:
			update(t, db, id, "assign", func(c *casebot.Case) { c.Mediator = fmt.Sprintf("U%d", rng.IntN(3)) })
			what = "reassign"
		case 3:
			update(t, db, id, "session", func(c *casebot.Case) {
				c.Sessions = append(c.Sessions, casebot.Session{N: len(c.Sessions) + 1, Start: clk.Now().Add(time.Duration(rng.IntN(100)-50) * time.Hour), Duration: time.Hour})
			})
			what = "session"
		case 4:
			update(t, db, id, "cancel", func(c *casebot.Case) {
				if len(c.Sessions) > 0 {
					c.Sessions[rng.IntN(len(c.Sessions))].Cancelled = true
				}
			})
			what = "cancel"
		case 5:
			update(t, db, id, "close", func(c *casebot.Case) {
				s := casebot.Statuses[3+rng.IntN(4)]
				c.Status, c.Outcome = s, s
			})
			what = "close"
		case 6:
			update(t, db, id, "reopen", func(c *casebot.Case) { c.Status = casebot.Statuses[rng.IntN(3)] })
			what = "reopen/status"
		case 7:
			if _, err := db.AddNote(ctx, &casebot.Note{CaseID: id, Author: "U0", Body: "a note about the fence"}, casebot.Change{Actor: "U0"}); err != nil {
				t.Fatal(err)
			}
			what = "note"
		}
		mustCheck(t, db, fmt.Sprintf("step %d (%s)", step, what))
	}
	// Stats from the aggregates equals the figures of the cases themselves.
	all, err := db.Cases(ctx, casebot.CaseFilter{State: "all"})
	if err != nil {
		t.Fatal(err)
	}
	for _, med := range []string{"", "U1"} {
		want := casebot.Stats{OpenByStatus: map[casebot.Status]int{}, OpenByPriority: map[casebot.Priority]int{}}
		h := histogram{}
		for _, c := range all {
			if med != "" && c.Mediator != med {
				continue
			}
			if c.Open() {
				want.OpenByStatus[c.Status]++
				want.OpenByPriority[c.Priority]++
				continue
			}
			want.Closed++
			if settled(c.Status) {
				want.Settled++
			}
			h[tenthsToClose(c)]++
		}
		want.MedianDaysToClose, _ = h.percentiles()
		got, err := db.StatsFor(ctx, clk.Now(), med)
		if err != nil {
			t.Fatal(err)
		}
		got.Overdue = 0
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("StatsFor(%q) = %+v, want %+v", med, got, want)
		}
	}
	// A rebuild (as a zone change does) gives the same counters.
	if err := db.testUpdate(func(tx kv.Tx) error { return setReportZone(tx, time.FixedZone("X", 3600)) }); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, db, "zone change")
}

// searchVocabulary mixes rare and common words, stop words, case and
// accents.
var searchVocabulary = []string{"fence", "Fence", "FENCE", "garden", "the", "and", "a", "rent", "arrears", "Straße", "strasse",
	"offer", "offers", "garage", "roof", "x", "42", "2019", "neighbour's", "e-mail", "café", "Café", "zebra"}

func randomText(rng *rand.Rand, n int) string {
	ws := make([]string, n)
	for i := range ws {
		ws[i] = searchVocabulary[rng.IntN(len(searchVocabulary))]
	}
	return strings.Join(ws, " ")
}

// TestSearchIndexMatchesScan: on random notes (Slack notes, and email
// notes with subjects and attachments through Ingest), random queries by
// an admin, a mediator and a stranger give through the index exactly what
// a scan of every visible note gives.
func TestSearchIndexMatchesScan(t *testing.T) {
	for _, key := range [][]byte{nil, footprintKey} {
		t.Run(fmt.Sprintf("key=%v", key != nil), func(t *testing.T) {
			db, clk := openTest(t)
			if key != nil {
				db = openAt(t, filepath.Join(t.TempDir(), "enc.db"), clk, Options{EncryptionKey: key})
			}
			ctx := context.Background()
			rng := rand.New(rand.NewPCG(3, 4))
			var cs []*casebot.Case
			var uid uint32
			for i := 0; i < 6; i++ {
				cs = append(cs, newCase(t, db, "c", fmt.Sprintf("U%d", i%2),
					casebot.Party{Role: casebot.RoleClaimant, Name: "P", Email: fmt.Sprintf("p%d@example.com", i)}))
			}
			update(t, db, cs[4].ID, "x", func(c *casebot.Case) { c.CoMediators = []string{"U1"} }) // U1 sees a case of U0's
			for i := 0; i < 150; i++ {
				if rng.IntN(4) > 0 {
					clk.Advance(time.Duration(rng.IntN(3)) * time.Minute) // ties too
				}
				c := cs[rng.IntN(len(cs))]
				if rng.IntN(3) > 0 {
					if _, err := db.AddNote(ctx, &casebot.Note{CaseID: c.ID, Author: "U0", Body: randomText(rng, 1+rng.IntN(12))}, casebot.Change{Actor: "U0"}); err != nil {
						t.Fatal(err)
					}
					continue
				}
				// An ingest batch of a few emails (one block per term), now
				// and then one over maxBlock emails.
				size := 1 + rng.IntN(12) // from minTermsAhead on, terms are hashed ahead
				if i == 100 {
					size = maxBlock + 20
				}
				b := casebot.IngestBatch{Mailbox: "INBOX", UIDValidity: 1}
				for j := 0; j < size; j++ {
					c := cs[rng.IntN(len(cs))]
					uid++
					n := &casebot.Note{CaseID: c.ID, Author: c.Parties[0].Email, Source: casebot.SourceEmail, Body: "fence " + randomText(rng, 1+rng.IntN(8)),
						Email: &casebot.EmailMeta{From: c.Parties[0].Email, Subject: randomText(rng, 2),
							Attachments: []casebot.Attachment{{Name: randomText(rng, 1) + ".pdf", Type: "application/pdf", Content: []byte(fmt.Sprint(uid))}}}}
					b.Items = append(b.Items, casebot.MailItem{UID: uid, Note: n})
				}
				b.LastUID = uid
				if _, err := db.Ingest(ctx, b); err != nil {
					t.Fatal(err)
				}
			}
			mustCheck(t, db, "notes")
			defer func(n, m int) { candidateGets, searchPostingSteps = n, m }(candidateGets, searchPostingSteps)
			actors := []casebot.Actor{{ID: "UA", Admin: true}, {ID: "U1"}, {ID: "U9"}}
			for q := 0; q < 200; q++ {
				query := strings.Fields(randomText(rng, 1+rng.IntN(3)))
				actor := actors[rng.IntN(len(actors))]
				limit := []int{0, 1, 5}[rng.IntN(3)]
				// A non-admin's candidate cases come from point reads, or
				// from the set of their IDs' hashes.
				candidateGets = []int{64, 0}[q%2]
				// searchMine by the postings, by the user's notes, or both.
				searchPostingSteps = []int{16, 0, 1 << 30}[q%3]
				got, err := db.Search(ctx, query, actor, limit)
				if err != nil {
					t.Fatal(err)
				}
				want, err := db.searchScan(ctx, queryWords(query), actor.CanSee, limit)
				if err != nil {
					t.Fatal(err)
				}
				if hitKeys(got) != hitKeys(want) {
					t.Fatalf("%s searching %q limit %d:\nindex %s\nscan  %s", actor.ID, query, limit, hitKeys(got), hitKeys(want))
				}
			}
		})
	}
}

func hitKeys(hs []casebot.NoteHit) string {
	var b strings.Builder
	for _, h := range hs {
		fmt.Fprintf(&b, "%s/%d(%s) ", h.Note.CaseID, h.Note.N, h.Snippet)
	}
	return b.String()
}

// TestSearchIndexKeepsSecrets: with a key, no indexed word (of a body, a
// subject or an attachment name) is anywhere in the db file, yet search
// finds each.
func TestSearchIndexKeepsSecrets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret.db")
	clk := newClock()
	db := openAt(t, path, clk, Options{EncryptionKey: footprintKey})
	ctx := context.Background()
	c := newCase(t, db, "c", "U1", casebot.Party{Role: casebot.RoleClaimant, Name: "P", Email: "p@example.com"})
	secrets := []string{"quixotically", "zymurgical", "xylophonist"}
	if _, err := db.AddNote(ctx, &casebot.Note{CaseID: c.ID, Author: "U1", Body: "the " + secrets[0] + " plan"}, casebot.Change{Actor: "U1"}); err != nil {
		t.Fatal(err)
	}
	n := &casebot.Note{CaseID: c.ID, Author: "p@example.com", Source: casebot.SourceEmail, Body: "see attached",
		Email: &casebot.EmailMeta{From: "p@example.com", Subject: "About " + secrets[1],
			Attachments: []casebot.Attachment{{Name: secrets[2] + ".pdf", Type: "application/pdf", Content: []byte("%PDF-1.4")}}}}
	if _, err := db.Ingest(ctx, casebot.IngestBatch{Mailbox: "INBOX", UIDValidity: 1, LastUID: 1, Items: []casebot.MailItem{{UID: 1, Note: n}}}); err != nil {
		t.Fatal(err)
	}
	for _, w := range secrets {
		if hits, err := db.Search(ctx, []string{strings.ToUpper(w)}, casebot.Actor{ID: "U1"}, 0); err != nil || len(hits) != 1 {
			t.Errorf("search %s: %d hits, %v", w, len(hits), err)
		}
	}
	var postings int
	if err := db.testView(func(tx kv.Tx) error { postings = tx.Bucket(bucketTerms).KeyN(); return nil }); err != nil || postings < 5 {
		t.Fatalf("the index holds %d postings (%v)", postings, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := readStore(t, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range append(secrets, "plan", "About") {
		if bytes.Contains(bytes.ToLower(raw), []byte(strings.ToLower(w))) {
			t.Errorf("the db file holds %q", w)
		}
	}
}

// TestRemoveCasePostings: purge's seam removes one case's postings (from
// blocks shared with other cases' notes), after which, with the notes
// gone, the index equals the notes again and search finds only the other
// case.
func TestRemoveCasePostings(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	var cs []*casebot.Case
	b := casebot.IngestBatch{Mailbox: "INBOX", UIDValidity: 1}
	for i := 0; i < 2; i++ {
		cs = append(cs, newCase(t, db, "c", "U1", casebot.Party{Role: casebot.RoleClaimant, Name: "P", Email: fmt.Sprintf("p%d@example.com", i)}))
	}
	for j := 0; j < 10; j++ {
		c := cs[j%2]
		b.Items = append(b.Items, casebot.MailItem{UID: uint32(j + 1), Note: &casebot.Note{CaseID: c.ID, Author: c.Parties[0].Email,
			Source: casebot.SourceEmail, Body: fmt.Sprintf("fence letter %d", j), Email: &casebot.EmailMeta{From: c.Parties[0].Email}}})
	}
	b.LastUID = 10
	if _, err := db.Ingest(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddNote(ctx, &casebot.Note{CaseID: cs[0].ID, Author: "U1", Body: "fence note"}, casebot.Change{Actor: "U1"}); err != nil {
		t.Fatal(err)
	}
	gone := cs[0].ID
	err := db.testUpdate(func(tx kv.Tx) error {
		if err := db.removeCasePostingsTx(tx, gone); err != nil {
			return err
		}
		if err := removeNoteMedTx(tx, gone); err != nil {
			return err
		}
		// What purge does next: the notes go.
		p := prefixOf(gone)
		c := tx.Bucket(bucketNoteN).Cursor()
		for k, seq := c.Seek(p); hasPrefix(k, p); k, seq = c.Seek(p) {
			if err := tx.Bucket(bucketNotes).Delete(seq); err != nil {
				return err
			}
			if err := tx.Bucket(bucketNoteN).Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, db, "removing a case's postings and notes")
	hits, err := db.Search(ctx, []string{"fence"}, casebot.Actor{ID: "UA", Admin: true}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 5 {
		t.Errorf("%d hits after the purge, want the other case's 5", len(hits))
	}
	for _, h := range hits {
		if h.Note.CaseID == gone {
			t.Errorf("hit from the purged case: %+v", h.Note)
		}
	}
}
