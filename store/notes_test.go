package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

func TestAddNoteConcurrent(t *testing.T) {
	db, clk := openTest(t)
	ctx := context.Background()
	c := newCase(t, db, "notes", "U1")
	clk.Advance(time.Hour)
	const n = 40
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := &casebot.Note{CaseID: c.ID, Author: "U1", Body: fmt.Sprintf("note body %d", i), Private: i%2 == 0}
			got, err := db.AddNote(ctx, in, casebot.Change{Actor: "U1", Action: "note.add", Outbox: []casebot.OutMessage{{Key: fmt.Sprintf("n%d", i), Kind: casebot.OutSlack, To: "U1"}}})
			if err != nil {
				t.Error(err)
				return
			}
			if in.N != 0 {
				t.Error("AddNote changed the caller's note")
			}
			if got.Body != in.Body || got.N < 1 || got.N > n {
				t.Errorf("AddNote returned %+v", got)
			}
		}()
	}
	wg.Wait()
	notes, err := db.Notes(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != n {
		t.Fatalf("%d notes, want %d", len(notes), n)
	}
	bodies := make(map[string]bool)
	for i, nt := range notes {
		if nt.N != i+1 || nt.Source != casebot.SourceSlack || !nt.Created.Equal(clk.Now()) {
			t.Errorf("note %d: %+v", i, nt)
		}
		bodies[nt.Body] = true
	}
	if len(bodies) != n {
		t.Errorf("%d distinct bodies, want %d", len(bodies), n)
	}
	got, _ := db.Case(ctx, c.ID)
	if got.NoteCount != n || !got.Activity.Equal(clk.Now()) {
		t.Errorf("case NoteCount %d Activity %s", got.NoteCount, got.Activity)
	}
	ev, _ := db.Audit(ctx, c.ID)
	if len(ev) != n+1 {
		t.Errorf("%d audit events, want %d", len(ev), n+1)
	}
	if d, _ := db.OutboxDepth(ctx); d != n {
		t.Errorf("outbox depth %d, want %d", d, n)
	}
	mustCheck(t, db, "notes")
}

func TestRecordView(t *testing.T) {
	db, clk := openTest(t)
	ctx := context.Background()
	c := newCase(t, db, "viewed", "U1")
	clk.Advance(time.Minute)
	if err := db.RecordView(ctx, c.ID, "U7", "the case"); err != nil {
		t.Fatal(err)
	}
	ev, _ := db.Audit(ctx, c.ID)
	want := casebot.AuditEvent{CaseID: c.ID, At: clk.Now(), Actor: "U7", Action: "view", About: casebot.About{Text: "the case"}}
	if len(ev) != 2 || ev[1] != want {
		t.Fatalf("audit = %+v, want last %+v", ev, want)
	}
	// Appending keeps the earlier events as they were.
	update(t, db, c.ID, "x", func(*casebot.Case) {})
	if ev2, _ := db.Audit(ctx, c.ID); len(ev2) != 3 || ev2[0] != ev[0] || ev2[1] != ev[1] {
		t.Errorf("trail changed: %+v", ev2)
	}
}

func TestSearch(t *testing.T) {
	db, clk := openTest(t)
	ctx := context.Background()
	mine := newCase(t, db, "mine", "U1")
	theirs := newCase(t, db, "theirs", "U2")
	add := func(c *casebot.Case, body string, email *casebot.EmailMeta) {
		clk.Advance(time.Minute)
		if _, err := db.AddNote(ctx, &casebot.Note{CaseID: c.ID, Author: "U1", Body: body, Email: email}, casebot.Change{Actor: "U1"}); err != nil {
			t.Fatal(err)
		}
	}
	add(mine, "The fence is two metres into the neighbour's garden.", nil)
	add(mine, "Offer: repaint the FENCE and split costs", nil)
	add(theirs, "fence offer in the other case", nil)
	add(mine, strings.Repeat("padding words ", 20)+"the Garage roof leaks "+strings.Repeat("more padding ", 20), nil)
	add(mine, "see attached", &casebot.EmailMeta{Subject: "Garage photos", From: "a@example.com"})
	visible := casebot.Actor{ID: "U1"}
	tests := []struct {
		words []string
		want  []int // note numbers in mine, newest first
	}{
		{[]string{"fence"}, []int{2, 1}},
		{[]string{"FENCE", "offer"}, []int{2}},
		{[]string{"fence offer"}, []int{2}},
		{[]string{"garage"}, []int{4, 3}},
		{[]string{"nothing"}, nil},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.words, " "), func(t *testing.T) {
			hits, err := db.Search(ctx, tt.words, visible, 0)
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, h := range hits {
				if h.Note.CaseID != mine.ID {
					t.Errorf("hit from invisible case %s", h.Note.CaseID)
				}
				got = append(got, h.Note.N)
				if len([]rune(h.Snippet)) > 84 || !strings.Contains(strings.ToLower(h.Snippet), strings.ToLower(strings.Fields(tt.words[0])[0])) {
					t.Errorf("snippet %q", h.Snippet)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got notes %v, want %v", got, tt.want)
			}
		})
	}
	if hits, _ := db.Search(ctx, []string{"fence"}, visible, 1); len(hits) != 1 || hits[0].Note.N != 2 {
		t.Errorf("limit 1: %+v", hits)
	}
	if _, err := db.Search(ctx, nil, visible, 0); casebot.ErrorCode(err) != casebot.EINVALID {
		t.Errorf("no words: %v", err)
	}
}

func TestSnippetUnicode(t *testing.T) {
	text := strings.Repeat("é", 100) + " İstanbul Straße " + strings.Repeat("ü", 100)
	s, ok := matchAll(text, []string{"straße"})
	if !ok || !strings.Contains(s, "Straße") || !strings.HasPrefix(s, "…") || !strings.HasSuffix(s, "…") {
		t.Fatalf("snippet %q ok=%v", s, ok)
	}
	if !utf8Valid(s) {
		t.Fatalf("snippet %q is not valid UTF-8", s)
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func TestCheckDetectsDrift(t *testing.T) {
	db, clk := openTest(t)
	c := newCase(t, db, "drift", "U1", casebot.Party{Role: casebot.RoleClaimant, Name: "Ann Lee", Email: "ann@example.com"})
	update(t, db, c.ID, "deadline", func(c *casebot.Case) {
		c.Deadlines = []casebot.Deadline{{N: 1, Due: clk.Now().Add(time.Hour), Text: "x"}}
	})
	mustCheck(t, db, "setup")
	tamper := []struct {
		name string
		fn   func(tx kv.Tx) error
		want string
	}{
		{"missing", func(tx kv.Tx) error { return tx.Bucket(bucketIdxEmail).Delete(keyOf("ann@example.com", c.ID)) }, "idx_email lacks key"},
		{"stray", func(tx kv.Tx) error { return tx.Bucket(bucketIdxName).Put(keyOf("ghost", c.ID), []byte{}) }, "idx_name has stray key"},
		{"stale", func(tx kv.Tx) error {
			return tx.Bucket(bucketIdxStatus).Put(keyOf("intake", c.ID), []byte("0123456789"))
		}, "idx_status key"},
	}
	for _, tt := range tamper {
		t.Run(tt.name, func(t *testing.T) {
			if err := db.testUpdate(tt.fn); err != nil {
				t.Fatal(err)
			}
			err := db.Check(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Check: got %v, want %q", err, tt.want)
			}
			if err := db.testUpdate(db.reindex); err != nil {
				t.Fatal(err)
			}
			mustCheck(t, db, "reindex")
		})
	}
}

func TestRecordViewsIsOneTransaction(t *testing.T) {
	ctx := context.Background()
	db := openAt(t, filepath.Join(t.TempDir(), "c.db"), newClock(), Options{})
	var ids []string
	for i := range 3 {
		c, err := db.CreateCase(ctx, &casebot.Case{Title: fmt.Sprintf("Case %d", i), Mediator: "U1"}, casebot.Change{Actor: "U1", Action: "case.create"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	if err := db.RecordViews(ctx, ids, "U7", "conflict check"); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		evs, err := db.Audit(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if last := evs[len(evs)-1]; last.Action != "view" || last.Actor != "U7" || last.About.Text != "conflict check" {
			t.Errorf("%s: last event %+v, want U7's conflict-check view", id, last)
		}
	}
	// A missing case refuses the whole batch: no view is half-recorded.
	before, _ := db.Audit(ctx, ids[0])
	if err := db.RecordViews(ctx, []string{ids[0], "MED-2026-9999"}, "U7", "search"); casebot.ErrorCode(err) != casebot.ENOTFOUND {
		t.Fatalf("RecordViews with a missing case: %v, want ENOTFOUND", err)
	}
	if after, _ := db.Audit(ctx, ids[0]); len(after) != len(before) {
		t.Fatalf("a refused batch recorded %d events", len(after)-len(before))
	}
}

// snippet collapses white space as strings.Fields and Join would, on
// random text of words, Unicode spaces and broken bytes.
func TestSnippetSpaces(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	parts := []string{"fence", "Zaun", "\u00a0", " ", "\t", "\n\n", "\u2003", "é", "\xff", "日本", "  ", "x"}
	for range 2000 {
		var b strings.Builder
		for range rng.IntN(40) {
			b.WriteString(parts[rng.IntN(len(parts))])
		}
		text := b.String()
		at := 0
		if len(text) > 0 {
			at = rng.IntN(len(text))
		}
		width := 1 + rng.IntN(30)
		got := snippet(text, at, width)
		start := max(at-width/3, 0)
		for start > 0 && !utf8.RuneStart(text[start]) {
			start--
		}
		end := start
		for n := 0; end < len(text) && n < width; n++ {
			_, size := utf8.DecodeRuneInString(text[end:])
			end += size
		}
		want := strings.Join(strings.Fields(text[start:end]), " ")
		if start > 0 {
			want = "…" + want
		}
		if end < len(text) {
			want += "…"
		}
		if got != want {
			t.Fatalf("snippet(%q, %d, %d) = %q, want %q", text, at, width, got, want)
		}
	}
}

// matchAll's substring search over ASCII text finds what reading the
// text word by word finds (matchWords): the same answer and snippet, on
// random text of words that contain, prefix and suffix one another, in
// any case, with digits and punctuation.
func TestMatchAllASCII(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	parts := []string{"fence", "Fence", "FENCE", "fences", "defence", "fen", "ce", "2019", "20190", "x",
		" ", ", ", ".", "-", "\n", "'", "_", "boundary", "Boundary's"}
	queries := [][]string{{"fence"}, {"fen"}, {"fence", "2019"}, {"boundary", "fence"}, {"x"}, {"s"}, {"ce", "fen"}, {"straße"}}
	for range 5000 {
		var b strings.Builder
		for range rng.IntN(30) {
			b.WriteString(parts[rng.IntN(len(parts))])
		}
		text := b.String()
		ws := queries[rng.IntN(len(queries))]
		first, ok, done := matchASCII(text, ws)
		if !done {
			t.Fatalf("matchASCII(%q) did not take the ASCII path", text)
		}
		wantSnip, wantOK := matchWords(text, ws)
		var gotSnip string
		if ok {
			gotSnip = snippet(text, first, 80)
		}
		if ok != wantOK || gotSnip != wantSnip {
			t.Fatalf("matchASCII(%q, %q) = %q %v, want %q %v", text, ws, gotSnip, ok, wantSnip, wantOK)
		}
	}
	if _, _, done := matchASCII("Straße und Zaun", []string{"zaun"}); done {
		t.Fatal("matchASCII took text beyond ASCII")
	}
	if s, ok := matchAll("Straße und Zaun", []string{"zaun"}); !ok || !strings.Contains(s, "Zaun") {
		t.Fatalf("matchAll beyond ASCII = %q %v", s, ok)
	}
}
