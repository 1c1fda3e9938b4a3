package slackbot_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/bot"
	"github.com/casebot/casebot/bot/slackbot"
	"github.com/casebot/casebot/store"
)

const (
	benchCases     = 100_000
	benchMediators = 1000 // 100 cases each, 80 open: a busy practice
)

// benchFixture builds (once per machine and schema version, cached on
// tmpfs when there is one) a store of 100,000 cases through the public
// CreateCase, and returns the path of this process's copy of it (made
// once: the benchmarks' rounds share it) and the IDs of each mediator's
// cases. TestMain removes the copy.
func benchFixture(b *testing.B) (string, map[string][]string) {
	dir := os.TempDir()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		dir = "/dev/shm"
	}
	ids := benchCaseIDs()
	benchCopy.Lock()
	defer benchCopy.Unlock()
	if benchCopy.path != "" {
		return benchCopy.path, ids
	}
	// Named by schema: a fixture of an older schema would be migrated
	// again on every run, which costs more than building it.
	cached := filepath.Join(dir, fmt.Sprintf("casebot-slackbench-%d-s%d-v1.db", benchCases, store.SchemaVersion()))
	if _, err := os.Stat(cached); err != nil {
		b.Logf("building %d-case fixture at %s", benchCases, cached)
		tmp := cached + fmt.Sprintf(".%d.tmp", os.Getpid())
		_ = os.Remove(tmp)
		now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
		db := slOpenStore(b, tmp, func() time.Time { return now })
		statuses := []casebot.Status{casebot.StatusIntake, casebot.StatusScheduled, casebot.StatusActive, casebot.StatusActive, casebot.StatusSettled}
		// Sequential: case IDs follow creation order, as ids assumes.
		for i := range benchCases {
			c := &casebot.Case{
				Title: fmt.Sprintf("Dispute number %d", i), Priority: casebot.Priorities[i%4], Status: statuses[i%5],
				Mediator: fmt.Sprintf("U%04d", i%benchMediators),
				Parties: []casebot.Party{
					{Role: casebot.RoleClaimant, Name: fmt.Sprintf("Claimant %d Smith", i), Email: fmt.Sprintf("c%d@example.com", i)},
					{Role: casebot.RoleRespondent, Name: fmt.Sprintf("Respondent %d Jones", i), Email: fmt.Sprintf("r%d@example.com", i)}},
				Deadlines: []casebot.Deadline{{N: 1, Due: now.Add(time.Duration(i%900) * time.Hour), Text: "exhibits"}},
			}
			if _, err := db.CreateCase(context.Background(), c, casebot.Change{Actor: "bench", Action: "case.create"}); err != nil {
				b.Fatal(err)
			}
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(tmp, cached); err != nil {
			b.Fatal(err)
		}
	}
	// show writes views to the audit trail: work on a copy.
	path := filepath.Join(dir, fmt.Sprintf("casebot-slackbench-run-%d.db", os.Getpid()))
	if err := copyFile(cached, path); err != nil {
		b.Fatal(err)
	}
	benchCopy.path = path
	return path, ids
}

// benchCopy is this process's copy of the fixture, shared by every round
// of every benchmark.
var benchCopy struct {
	sync.Mutex
	path string
}

// copyFile copies src to a new file dst.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// TestMain removes this process's copy of the benchmark fixture.
func TestMain(m *testing.M) {
	code := m.Run()
	if benchCopy.path != "" {
		_ = os.Remove(benchCopy.path)
	}
	os.Exit(code)
}

// benchCaseIDs returns the IDs of each mediator's cases in the fixture.
func benchCaseIDs() map[string][]string {
	ids := map[string][]string{}
	for i := range benchCases {
		m := fmt.Sprintf("U%04d", i%benchMediators)
		ids[m] = append(ids[m], casebot.FormatCaseID("MED", 2026, uint64(i+1)))
	}
	return ids
}

// BenchmarkSlackCommands64 sends signed show, list and help commands from
// 64 concurrent clients over loopback HTTP to a store of 100,000 cases, and
// reports p50/p99 per command and the p99 ratio of show and list to help
// (help: same verification path, no store reads).
func BenchmarkSlackCommands64(b *testing.B) {
	path, ids := benchFixture(b)
	benchSlackCommands(b, path, ids)
}

// benchSlackCommands runs BenchmarkSlackCommands64 on the store at path
// (a bbolt file or a PostgreSQL URL) holding the fixture's cases.
func benchSlackCommands(b *testing.B, path string, ids map[string][]string) {
	db := slOpenStore(b, path, nil)
	bt := bot.New(bot.Config{Store: db, Logger: slLogger(b)})
	h := slackbot.NewHandler(slackbot.Config{Run: bt.Run, Language: bt, SigningSecret: slSecret, TeamID: slTeam, Logger: slLogger(b)})
	mux := http.NewServeMux()
	mux.Handle("POST /slack/commands", h.Commands())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer func() { _ = h.Shutdown(context.Background()) }()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

	const clients = 64
	perClient := 30 * max(b.N, 1) // requests of each command per client
	cmds := []string{"help", "show", "list"}
	lat := map[string][]time.Duration{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	b.ResetTimer()
	for c := range clients {
		wg.Go(func() {
			local := map[string][]time.Duration{}
			for i := range perClient * len(cmds) {
				word := cmds[i%len(cmds)]
				user := fmt.Sprintf("U%04d", (c*37+i)%benchMediators)
				text := word
				if word == "show" {
					mine := ids[user]
					text = "show " + mine[(i/len(cmds))%len(mine)]
				}
				body := url.Values{"team_id": {slTeam}, "user_id": {user}, "command": {"/case"}, "text": {text},
					"response_url": {"http://127.0.0.1:1/unused"}, "trigger_id": {fmt.Sprintf("%d.%d.%d", c, i, time.Now().UnixNano())}}.Encode()
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/slack/commands", strings.NewReader(body))
				req.Header = slSign(slSecret, time.Now(), body)
				began := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				took := time.Since(began)
				if resp.StatusCode != http.StatusOK || strings.Contains(string(got), "Working on it") {
					errs <- fmt.Errorf("%s: status %d, body %.200s", text, resp.StatusCode, got)
					return
				}
				if word == "show" && !strings.Contains(string(got), "Dispute number") {
					errs <- fmt.Errorf("%s: no case in %.200s", text, got)
					return
				}
				local[word] = append(local[word], took)
			}
			mu.Lock()
			for k, v := range local {
				lat[k] = append(lat[k], v...)
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	pct := func(d []time.Duration, p float64) time.Duration {
		slices.Sort(d)
		return d[int(float64(len(d)-1)*p)]
	}
	p50, p99 := map[string]time.Duration{}, map[string]time.Duration{}
	for _, w := range cmds {
		d := lat[w]
		p50[w], p99[w] = pct(d, 0.50), pct(d, 0.99)
		b.ReportMetric(float64(p50[w].Microseconds())/1000, w+"_p50_ms")
		b.ReportMetric(float64(p99[w].Microseconds())/1000, w+"_p99_ms")
	}
	for _, w := range []string{"show", "list"} {
		b.ReportMetric(float64(p50[w])/float64(p50["help"]), w+"/help_p50")
		b.ReportMetric(float64(p99[w])/float64(p99["help"]), w+"/help_p99")
	}
}
