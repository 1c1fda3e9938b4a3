// Command benchtable turns `go test -bench` output into one table: each
// benchmark's time per operation, its own figures (rates, latencies, sizes)
// and its ratios to the baseline measured in the same run, checked against
// the goals the issues set.
//
//	go test -run '^$' -bench . ./... | go run ./tools/benchtable
//
// It exits non-zero when a goal is missed, so `make bench` says so. A
// benchmark that skipped (a "--- SKIP" line, with -v) or that needs a
// service whose variable is not set (the PostgreSQL benchmarks without
// CASEBOT_POSTGRES_URL) is shown as not measured, and its goals are not
// counted as missed.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

// goal is a bound on one reported metric of one benchmark.
type goal struct {
	bench, unit string
	max         bool // the value must be at most limit (else at least)
	limit       float64
}

// goals are the targets of the issues, by benchmark name (without -N) and unit.
var goals = []goal{
	{"store BenchmarkAddNoteVsRaw", "ratio", false, 0.7},
	{"slackbot BenchmarkSlackCommands64", "show/help_p99", true, 3},
	{"slackbot BenchmarkSlackCommands64", "list/help_p99", true, 3},
	{"mail BenchmarkIngest10k", "ratio", false, 0.5},
	// Memory flat in the mailbox size: at most twice the 10k peak for a
	// mailbox sixteen times larger (a per-message list would be ~16x).
	{"mail BenchmarkIngestMemory", "peak_160k/10k", true, 2},
	{"scheduler BenchmarkDigests/digests-200x500", "x_raw", true, 3},
	// doc streams a document to Slack: the heap it takes stays under
	// three times the document (10 MiB).
	{"slackbot BenchmarkDocDelivery", "peak_heap/size", true, 3},
	{"slackbot BenchmarkDocDelivery", "peak_live/size", true, 3},
	// docs reads only its own case's documents: one record per document
	// listed, in a store with 10,000 other documents.
	{"store BenchmarkDocs/case-of-1000-docs", "docs_read/listed", true, 1},
	{"store BenchmarkDocs/case-of-10-docs", "docs_read/listed", true, 1},
	// App Home of a mediator with 500 open cases and 2,000 deadlines,
	// event to views.publish, against help over the same signed path; and
	// the views.publish a burst of 1,000 changes to their cases costs.
	{"slackbot BenchmarkHome", "home/help_p99", true, 3},
	{"slackbot BenchmarkHome", "publishes/1000_changes", true, 10},
	// Insight at scale (issue 15), on the Footprint store (100,000 cases,
	// 1,000,000 encrypted notes): each query's p99 at most three times
	// that of show's reads, in the same run.
	{"store BenchmarkInsight", "search-rare-admin/show_p99", true, 3},
	{"store BenchmarkInsight", "search-rare-mediator/show_p99", true, 3},
	{"store BenchmarkInsight", "search-common-admin/show_p99", true, 3},
	{"store BenchmarkInsight", "search-common-mediator/show_p99", true, 3},
	{"store BenchmarkInsight", "search-two-words-mediator/show_p99", true, 3},
	{"store BenchmarkInsight", "stats-admin/show_p99", true, 3},
	{"store BenchmarkInsight", "stats-mediator/show_p99", true, 3},
	{"store BenchmarkInsight", "report-12-months-admin/show_p99", true, 3},
	{"store BenchmarkInsight", "report-12-months-mediator/show_p99", true, 3},
	{"store BenchmarkInsight", "list-all-page-1/show_p99", true, 3},
	// The same on PostgreSQL on the same machine (issue 16), beside the
	// bbolt figures; not measured without CASEBOT_POSTGRES_URL (needs).
	{"store BenchmarkPostgresNoteWrites32", "ratio", false, 0.5},
	{"mail BenchmarkIngest10kPostgres", "ratio", false, 0.3},
	{"slackbot BenchmarkSlackCommands64Postgres", "show/help_p99", true, 3},
	{"slackbot BenchmarkSlackCommands64Postgres", "list/help_p99", true, 3},
}

// needs names, by benchmark, the environment variable without which it
// skips: its goals are then not measured rather than missed.
var needs = map[string]string{
	"store BenchmarkPostgresNoteWrites32":       "CASEBOT_POSTGRES_URL",
	"mail BenchmarkIngest10kPostgres":           "CASEBOT_POSTGRES_URL",
	"slackbot BenchmarkSlackCommands64Postgres": "CASEBOT_POSTGRES_URL",
}

// getenv is os.Getenv; tests replace it.
var getenv = os.Getenv

// withRawRatios adds to every sub-benchmark a "x_raw" metric: its time per
// operation over that of its sibling whose name starts with "raw" (the
// baseline measured in the same run, e.g. BenchmarkDigests/raw-scan-cases).
func withRawRatios(rs []result) []result {
	raw := map[string]float64{}
	for _, r := range rs {
		if parent, sub, ok := strings.Cut(r.name, "/"); ok && strings.HasPrefix(sub, "raw") {
			if ns := r.value("ns/op"); ns > 0 {
				raw[r.pkg+" "+parent] = ns
			}
		}
	}
	for i, r := range rs {
		parent, sub, ok := strings.Cut(r.name, "/")
		base := raw[r.pkg+" "+parent]
		if !ok || strings.HasPrefix(sub, "raw") || base == 0 {
			continue
		}
		rs[i].metrics = append(rs[i].metrics, metric{r.value("ns/op") / base, "x_raw"})
	}
	return rs
}

// value returns the metric with the unit, 0 when absent.
func (r result) value(unit string) float64 {
	for _, m := range r.metrics {
		if m.unit == unit {
			return m.value
		}
	}
	return 0
}

// result is one benchmark line.
type result struct {
	pkg, name string
	n         int
	metrics   []metric
	skipped   string // why the benchmark was not measured; "" when it was
}

type metric struct {
	value float64
	unit  string
}

func main() {
	rs, err := parse(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(2)
	}
	if len(rs) == 0 {
		fmt.Fprintln(os.Stderr, "benchtable: no benchmark results on stdin")
		os.Exit(2)
	}
	rs = withNotMeasured(rs)
	missed := write(os.Stdout, withRawRatios(rs))
	for _, g := range unmatched(rs) {
		fmt.Fprintf(os.Stderr, "benchtable: goal %s %s: its package ran but the figure is not in the output (renamed or moved?)\n", g.bench, g.unit)
		missed++
	}
	if missed > 0 {
		fmt.Fprintf(os.Stderr, "benchtable: %d goal(s) missed\n", missed)
		os.Exit(1)
	}
}

// parse reads go test output: "pkg: …" lines name the package of the
// "BenchmarkX-N  iterations  value unit  value unit …" lines after them.
func parse(r io.Reader) ([]result, error) {
	var rs []result
	pkg, logged := "", ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = p[strings.LastIndex(p, "/")+1:]
			continue
		}
		// With -v, a benchmark's log lines (indented) come before its
		// "--- SKIP: BenchmarkX" line; the last one is why it skipped.
		if strings.HasPrefix(line, "    ") {
			logged = strings.TrimSpace(line)
			if _, msg, ok := strings.Cut(logged, ".go:"); ok {
				if _, after, ok := strings.Cut(msg, ": "); ok {
					logged = after
				}
			}
			continue
		}
		if name, ok := strings.CutPrefix(line, "--- SKIP: "); ok {
			rs = append(rs, result{pkg: pkg, name: trimProcs(strings.TrimSpace(name)), skipped: "skipped: " + logged})
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			continue
		}
		res := result{pkg: pkg, name: trimProcs(f[0]), n: n}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: value %q: %w", f[0], f[i], err)
			}
			res.metrics = append(res.metrics, metric{v, f[i+1]})
		}
		rs = append(rs, res)
	}
	return rs, sc.Err()
}

// trimProcs drops the -GOMAXPROCS suffix of a benchmark name.
func trimProcs(name string) string {
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			return name[:i]
		}
	}
	return name
}

// write prints the table and returns how many goals were missed.
func write(w io.Writer, rs []result) int {
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].pkg < rs[j].pkg })
	fmt.Fprintln(w, "| package | benchmark | time/op | figures | vs baseline (goal) |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	missed := 0
	for _, r := range rs {
		if r.skipped != "" {
			var gs []string
			for _, g := range goals {
				if g.bench == r.pkg+" "+r.name {
					gs = append(gs, fmt.Sprintf("%s (%s %g: not measured)", g.unit, bound(g), g.limit))
				}
			}
			fmt.Fprintf(w, "| %s | %s | — | not measured (%s) | %s |\n", r.pkg, strings.TrimPrefix(r.name, "Benchmark"),
				r.skipped, strings.Join(gs, ", "))
			continue
		}
		var figures, ratios []string
		timeOp := ""
		for _, m := range r.metrics {
			switch {
			case m.unit == "ns/op":
				timeOp = human(m.value)
			case m.unit == "B/op" || m.unit == "allocs/op":
				figures = append(figures, fmt.Sprintf("%s %s", num(m.value), m.unit))
			case m.unit == "ratio" || m.unit == "x_raw" || strings.Contains(m.unit, "/") && strings.Contains(m.unit, "_"):
				s := fmt.Sprintf("%s %s", num(m.value), m.unit)
				if g, ok := goalFor(r, m.unit); ok {
					met, op := m.value >= g.limit, bound(g)
					if g.max {
						met = m.value <= g.limit
					}
					mark := "met"
					if !met {
						mark, missed = "MISSED", missed+1
					}
					s += fmt.Sprintf(" (%s %g: %s)", op, g.limit, mark)
				}
				ratios = append(ratios, s)
			default:
				figures = append(figures, fmt.Sprintf("%s %s", num(m.value), m.unit))
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", r.pkg, strings.TrimPrefix(r.name, "Benchmark"),
			timeOp, strings.Join(figures, ", "), strings.Join(ratios, ", "))
	}
	return missed
}

// unmatched returns the goals whose package is in rs but whose benchmark
// figure is not: a goal that silently stops applying is a goal missed.
func unmatched(rs []result) []goal {
	var out []goal
	for _, g := range goals {
		pkg, _, _ := strings.Cut(g.bench, " ")
		ran, found := false, false
		for _, r := range rs {
			if r.pkg == pkg {
				ran = true
				if r.skipped != "" && g.bench == r.pkg+" "+r.name {
					found = true // shown as not measured
				}
				if g.bench == r.pkg+" "+r.name && r.value(g.unit) != 0 {
					found = true
				}
			}
		}
		if ran && !found {
			out = append(out, g)
		}
	}
	return out
}

// withNotMeasured adds a not-measured row for each benchmark with a goal
// that is absent from rs although its package ran, when the variable it
// needs is not set: it skipped (go test prints nothing for a skipped
// benchmark without -v).
func withNotMeasured(rs []result) []result {
	seen, ran := map[string]bool{}, map[string]bool{}
	for _, r := range rs {
		seen[r.pkg+" "+r.name], ran[r.pkg] = true, true
	}
	for _, g := range goals {
		pkg, name, _ := strings.Cut(g.bench, " ")
		v := needs[g.bench]
		if seen[g.bench] || !ran[pkg] || v == "" || getenv(v) != "" {
			continue
		}
		seen[g.bench] = true
		rs = append(rs, result{pkg: pkg, name: name, skipped: v + " not set"})
	}
	return rs
}

// bound is how a goal's limit reads: ≤ or ≥.
func bound(g goal) string {
	if g.max {
		return "≤"
	}
	return "≥"
}

func goalFor(r result, unit string) (goal, bool) {
	for _, g := range goals {
		if g.bench == r.pkg+" "+r.name && g.unit == unit {
			return g, true
		}
	}
	return goal{}, false
}

// human prints nanoseconds in the largest fitting unit.
func human(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.2f s", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

// num prints a figure with three significant digits, without exponents.
func num(v float64) string {
	if v >= 1000 || v == float64(int64(v)) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}
