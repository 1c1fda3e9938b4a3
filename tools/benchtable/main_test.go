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
