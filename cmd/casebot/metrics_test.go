package main

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"testing"

	"github.com/casebot/casebot/internal/testserver"
)

// commandCount sums casebot_commands_total for one label over its outcomes.
func commandCount(t *testing.T, metrics, label string) float64 {
	t.Helper()
	re := regexp.MustCompile(`(?m)^casebot_commands_total\{command="` + regexp.QuoteMeta(label) + `",outcome="[a-z]+"\} (\S+)$`)
	var sum float64
	for _, m := range re.FindAllStringSubmatch(metrics, -1) {
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		sum += v
	}
	return sum
}

// Every command in the table is counted under a label of its own
// (reschedule and cancel included, which a hand-kept list once counted as
// unknown) when it runs over Slack, and /metrics shows it.
func TestMetricsLabelEveryCommandOverSlack(t *testing.T) {
	slackAPI := testserver.NewSlack(t, "xoxb-test")
	cfgPath, _ := testConfig(t, fmt.Sprintf("[slack]\nsigning_secret = \"s3cret\"\nbot_token = \"xoxb-test\"\napi_url = %q\nadmins = [\"UADMIN\"]\n", slackAPI.URL()))
	rd := startDaemon(t, cfgPath)
	scrape := func() string {
		t.Helper()
		code, body := get(rd.base + "/metrics")
		if code != http.StatusOK {
			t.Fatalf("GET /metrics = %d", code)
		}
		return body
	}

	want := map[string]float64{} // label -> commands run under it
	for _, c := range rd.d.Bot.Commands() {
		label := rd.d.Bot.Label(c.Name())
		if label == "unknown" {
			t.Errorf("%s is labelled unknown", c.Name())
		}
		// The words alone: most commands refuse for want of arguments,
		// which counts all the same.
		text := c.Name()
		if text == "new" {
			text = "new --priority high" // bare "new" opens the New case form instead
		}
		if code, body := signedCommand(t, rd.base, "s3cret", "UADMIN", text); code != http.StatusOK {
			t.Fatalf("%s over Slack = %d %s", c.Name(), code, body)
		}
		want[label]++
	}
	if code, _ := signedCommand(t, rd.base, "s3cret", "UADMIN", "frobnicate now"); code != http.StatusOK {
		t.Fatalf("an unknown command over Slack = %d", code)
	}
	want["unknown"]++
	for _, label := range []string{"reschedule", "cancel"} {
		if want[label] == 0 {
			t.Errorf("the table has no %s command", label)
		}
	}
	// Slow commands are counted when they finish, after Slack's ack.
	var metrics string
	waitFor(t, "every command counted", func() bool {
		metrics = scrape()
		for label, n := range want {
			if commandCount(t, metrics, label) != n {
				return false
			}
		}
		return true
	})
	for label := range want {
		if !regexp.MustCompile(`(?m)^casebot_command_duration_seconds_count\{command="` + regexp.QuoteMeta(label) + `"\} [1-9]`).MatchString(metrics) {
			t.Errorf("/metrics has no duration for %q", label)
		}
	}
}
