package main

import (
	"strings"
	"testing"
)

const sample = `goos: linux
pkg: github.com/casebot/casebot/store
BenchmarkAddNoteVsRaw-2   	    2000	    893000 ns/op	      2033 notes/s	      2585 puts/s	         0.787 ratio
BenchmarkOverdue-2        	       3	   3900000 ns/op	       792.0 deadlines	  770000 B/op	    9700 allocs/op
pkg: github.com/casebot/casebot/bot/slackbot
BenchmarkSlackCommands64-2	       1	9000000000 ns/op	       360.0 help_p99_ms	       1.13 show/help_p99	       3.5 list/help_p99
PASS
`

func TestTable(t *testing.T) {
	rs, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 3 || rs[0].pkg != "store" || rs[0].name != "BenchmarkAddNoteVsRaw" {
		t.Fatalf("parsed %+v", rs)
	}
	var b strings.Builder
	missed := write(&b, rs)
	out := b.String()
	for _, want := range []string{
		"| store | AddNoteVsRaw | 893.0 µs | 2033 notes/s, 2585 puts/s | 0.787 ratio (≥ 0.7: met) |",
		"1.13 show/help_p99 (≤ 3: met)",
		"3.5 list/help_p99 (≤ 3: MISSED)",
		"| store | Overdue | 3.90 ms | 792 deadlines, 770000 B/op, 9700 allocs/op |  |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if missed != 1 {
		t.Errorf("missed = %d, want 1", missed)
	}
}

func TestRawRatios(t *testing.T) {
	rs, err := parse(strings.NewReader(`pkg: github.com/casebot/casebot/scheduler
BenchmarkDigests/raw-scan-cases-2   	1	2000000000 ns/op
BenchmarkDigests/digests-200x500-2  	1	7000000000 ns/op
`))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	missed := write(&b, withRawRatios(rs))
	if !strings.Contains(b.String(), "3.5 x_raw (≤ 3: MISSED)") || missed != 1 {
		t.Fatalf("missed %d, table:\n%s", missed, b.String())
	}
}

// A goal whose package ran but whose figure is missing (a benchmark renamed
// or moved) is reported, not silently dropped; one whose package did not
// run is not.
func TestUnmatchedGoals(t *testing.T) {
	rs, err := parse(strings.NewReader(`pkg: github.com/casebot/casebot/bot/slackbot
BenchmarkSlackCommandsRenamed-2	1	9000000000 ns/op	1.1 show/help_p99
`))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range unmatched(rs) {
		if !strings.HasPrefix(g.bench, "slackbot ") {
			t.Errorf("unmatched lists %+v, whose package did not run", g)
		}
		if g.bench == "slackbot BenchmarkSlackCommands64" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("unmatched = %+v, want both SlackCommands64 goals", unmatched(rs))
	}
	rs, _ = parse(strings.NewReader(sample))
	for _, g := range unmatched(rs) {
		if g.bench == "slackbot BenchmarkSlackCommands64" || g.bench == "store BenchmarkAddNoteVsRaw" {
			t.Errorf("unmatched on the sample lists %+v, whose figure is there", g)
		}
	}
}

// A PostgreSQL benchmark that skipped is shown as not measured, its goals
// not missed: without CASEBOT_POSTGRES_URL (go test prints nothing for
// it), or from a "--- SKIP" line of -v output. With the variable set, a
// missing figure is a goal missed.
func TestNotMeasured(t *testing.T) {
	defer func(f func(string) string) { getenv = f }(getenv)
	getenv = func(string) string { return "" }
	out := `pkg: github.com/casebot/casebot/mail
BenchmarkIngest10k-2	1	9000000000 ns/op	0.6 ratio
pkg: github.com/casebot/casebot/store
BenchmarkPostgresNoteWrites32
    postgres_bench_test.go:29: CASEBOT_POSTGRES_URL not set
--- SKIP: BenchmarkPostgresNoteWrites32
BenchmarkAddNoteVsRaw-2	1	893000 ns/op	0.8 ratio
`
	rs, err := parse(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	rs = withNotMeasured(rs)
	for _, g := range unmatched(rs) {
		if needs[g.bench] != "" {
			t.Errorf("unmatched lists %+v, which was not measured", g)
		}
	}
	var b strings.Builder
	missed := write(&b, rs)
	for _, want := range []string{
		"| store | PostgresNoteWrites32 | — | not measured (skipped: CASEBOT_POSTGRES_URL not set) | ratio (≥ 0.5: not measured) |",
		"| mail | Ingest10kPostgres | — | not measured (CASEBOT_POSTGRES_URL not set) | ratio (≥ 0.3: not measured) |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	if missed != 0 {
		t.Errorf("missed = %d, want 0", missed)
	}

	getenv = func(string) string { return "postgres://db/x" }
	rs, _ = parse(strings.NewReader(`pkg: github.com/casebot/casebot/mail
BenchmarkIngest10k-2	1	9000000000 ns/op	0.6 ratio
`))
	rs = withNotMeasured(rs)
	found := false
	for _, g := range unmatched(rs) {
		found = found || g.bench == "mail BenchmarkIngest10kPostgres"
	}
	if !found {
		t.Errorf("with CASEBOT_POSTGRES_URL set, a missing Ingest10kPostgres is not reported: %+v", unmatched(rs))
	}
}
