package main

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/casebot/casebot/internal/testserver"
)

// A retried delivery of an event handled before a restart is not handled
// again: the event ID is kept in the store, not only in memory.
func TestEventRetryAfterRestartNotRunTwice(t *testing.T) {
	slackAPI := testserver.NewSlack(t, "xoxb-test")
	cfgPath, _ := testConfig(t, fmt.Sprintf("[slack]\nsigning_secret = \"s3cret\"\nbot_token = \"xoxb-test\"\napi_url = %q\n", slackAPI.URL()))
	rd := startDaemon(t, cfgPath)
	postEvent(t, rd, eventBody("EvRestart", homeOpened("U1")), nil)
	if v := nextView(t, slackAPI, "U1's home"); v.UserID != "U1" {
		t.Fatalf("published the home of %q", v.UserID)
	}
	if err := rd.stop(t); err != nil {
		t.Fatal(err)
	}

	rd = startDaemon(t, cfgPath)
	n := slackAPI.Calls("views.publish")
	retry := http.Header{"X-Slack-Retry-Num": {"1"}, "X-Slack-Retry-Reason": {"http_timeout"}}
	postEvent(t, rd, eventBody("EvRestart", homeOpened("U1")), retry)
	// A new event after the retry: once its Home is published, the retry
	// (handled first, on the same path) would have been too.
	postEvent(t, rd, eventBody("EvAfter", homeOpened("U2")), nil)
	for {
		v := nextView(t, slackAPI, "U2's home")
		if v.UserID == "U2" {
			break
		}
		if v.UserID == "U1" {
			t.Fatal("the retried event was handled again after the restart")
		}
	}
	if got := slackAPI.Calls("views.publish"); got != n+1 {
		t.Errorf("views.publish %d times after the restart, want %d (the retry not handled)", got, n+1)
	}
}
