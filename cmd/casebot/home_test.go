package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/internal/testserver"
)

// slackDaemon starts a daemon with Slack on, talking to a fake Slack that
// checks views as Slack would; UADMIN is an admin.
func slackDaemon(t *testing.T, extra string) (*runningDaemon, *testserver.Slack) {
	t.Helper()
	slackAPI := testserver.NewSlack(t, "xoxb-test")
	cfgPath, _ := testConfig(t, fmt.Sprintf("[slack]\nsigning_secret = \"s3cret\"\nbot_token = \"xoxb-test\"\napi_url = %q\nadmins = [\"UADMIN\"]\n%s", slackAPI.URL(), extra))
	return startDaemon(t, cfgPath), slackAPI
}

// signedPost posts body to path signed with secret (empty: unsigned).
func signedPost(t *testing.T, base, path, secret, contentType, body string, extra http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if secret != "" {
		req.Header = testserver.SignSlack(secret, time.Now(), body)
	}
	req.Header.Set("Content-Type", contentType)
	for k, v := range extra {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// eventBody is an Events API callback carrying inner.
func eventBody(eventID string, inner map[string]any) string {
	b, _ := json.Marshal(map[string]any{"token": "unused", "team_id": testserver.Team, "api_app_id": "A1",
		"type": "event_callback", "event_id": eventID, "event_time": time.Now().Unix(), "event": inner})
	return string(b)
}

func homeOpened(user string) map[string]any {
	return map[string]any{"type": "app_home_opened", "user": user, "channel": "D-" + user, "tab": "home", "event_ts": "1.0"}
}

// postEvent posts a signed event and wants 200.
func postEvent(t *testing.T, rd *runningDaemon, body string, extra http.Header) {
	t.Helper()
	if code, resp := signedPost(t, rd.base, "/slack/events", "s3cret", "application/json", body, extra); code != http.StatusOK {
		t.Fatalf("event: status %d %s", code, resp)
	}
}

// nextView waits for the next views.publish or views.open.
func nextView(t *testing.T, s *testserver.Slack, what string) testserver.View {
	t.Helper()
	select {
	case v := <-s.Viewed():
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("no view within 10s: %s (refused: %q)", what, s.Refused())
		return testserver.View{}
	}
}

// homeOf opens user's Home and returns the published view.
func homeOf(t *testing.T, rd *runningDaemon, s *testserver.Slack, user string) testserver.View {
	t.Helper()
	postEvent(t, rd, eventBody("Ev-home-"+user+fmt.Sprint(time.Now().UnixNano()), homeOpened(user)), nil)
	for {
		v := nextView(t, s, user+"'s home")
		if v.Method == "views.publish" && v.UserID == user {
			return v
		}
	}
}

func mustRun(t *testing.T, rd *runningDaemon, user, text string) string {
	t.Helper()
	rep := rd.d.Command(context.Background(), user, text)
	if rep.Err != nil {
		t.Fatalf("%s %q: %s", user, text, rep.Text)
	}
	return rep.Text
}

var homeCaseRe = regexp.MustCompile(`MED-\d{4}-\d{4}`)

// POST /slack/events: signed like the other endpoints, url_verification
// answered, app_home_opened publishes Home once per event_id.
func TestEventsEndpointAndHome(t *testing.T) {
	rd, slackAPI := slackDaemon(t, "")

	// Unsigned or wrongly signed: 401 and nothing published.
	ev := eventBody("Ev1", homeOpened("U1"))
	if code, _ := signedPost(t, rd.base, "/slack/events", "", "application/json", ev, nil); code != http.StatusUnauthorized {
		t.Fatalf("unsigned event = %d, want 401", code)
	}
	if code, _ := signedPost(t, rd.base, "/slack/events", "wrong", "application/json", ev, nil); code != http.StatusUnauthorized {
		t.Fatalf("wrongly signed event = %d, want 401", code)
	}
	stale := testserver.SignSlack("s3cret", time.Now().Add(-10*time.Minute), ev)
	if code, _ := signedPost(t, rd.base, "/slack/events", "", "application/json", ev, stale); code != http.StatusUnauthorized {
		t.Fatalf("stale event = %d, want 401", code)
	}
	code, body := signedPost(t, rd.base, "/slack/events", "s3cret", "application/json", `{"token":"x","challenge":"ch4llenge","type":"url_verification"}`, nil)
	if code != http.StatusOK || body != "ch4llenge" {
		t.Fatalf("url_verification = %d %q", code, body)
	}
	if n := slackAPI.Calls("views.publish"); n != 0 {
		t.Fatalf("views.publish called %d times before a signed event", n)
	}

	// A mediator with cases: overdue first with Mark met, the next 7
	// days, the open cases by priority with Show; another's case never.
	ctx := context.Background()
	mine := homeCaseRe.FindString(mustRun(t, rd, "U1", "new Lease dispute --priority high"))
	other := homeCaseRe.FindString(mustRun(t, rd, "U2", "new Secret neighbour case"))
	mustRun(t, rd, "U1", "deadline "+mine+" +2d Position papers")
	// An overdue deadline: added in the past through the store.
	if _, err := rd.d.DB.UpdateCase(ctx, mine, func(c *casebot.Case) (casebot.Change, error) {
		c.Deadlines = append(c.Deadlines, casebot.Deadline{N: 2, Due: time.Now().Add(-48 * time.Hour), Text: "Signed agreement"})
		return casebot.Change{Actor: "U1", Action: "deadline.add"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	drain(t, slackAPI)
	v := homeOf(t, rd, slackAPI, "U1")
	text := v.Text()
	for _, want := range []string{"Overdue deadlines", "Signed agreement", "Mark met", "Deadlines in the next 7 days", "Position papers", mine, "Lease dispute", "New case"} {
		if !strings.Contains(text, want) {
			t.Errorf("U1's home lacks %q:\n%s", want, text)
		}
	}
	if strings.Index(text, "Overdue deadlines") > strings.Index(text, "Your open cases") {
		t.Errorf("overdue deadlines do not come first:\n%s", text)
	}
	if strings.Contains(text, other) || strings.Contains(text, "Secret neighbour") {
		t.Errorf("U1's home shows U2's case:\n%s", text)
	}
	if !strings.Contains(v.JSON, `"value":"`+mine+`/2"`) || !strings.Contains(v.JSON, casebot.ActionDeadlineDone) {
		t.Errorf("no Mark met button for deadline 2: %s", v.JSON)
	}

	// A retried delivery of the same event is acknowledged, not run again.
	n := slackAPI.Calls("views.publish")
	retry := http.Header{"X-Slack-Retry-Num": {"1"}, "X-Slack-Retry-Reason": {"http_timeout"}}
	postEvent(t, rd, eventBody("Ev-once", homeOpened("U2")), nil)
	nextView(t, slackAPI, "U2's home")
	postEvent(t, rd, eventBody("Ev-once", homeOpened("U2")), retry)
	stranger := homeOf(t, rd, slackAPI, "U9")
	if got := slackAPI.Calls("views.publish"); got != n+2 {
		t.Errorf("views.publish %d times after a retry, want %d (the retry not run)", got, n+2)
	}
	if st := stranger.Text(); !strings.Contains(st, "You have no cases") || homeCaseRe.MatchString(st) {
		t.Errorf("stranger's home:\n%s", st)
	}

	// An admin: the quarantine count and the caseload balance.
	admin := homeOf(t, rd, slackAPI, "UADMIN").Text()
	for _, want := range []string{"Quarantine:", "0 emails", "Caseload balance", "<@U1>: 1", "<@U2>: 1"} {
		if !strings.Contains(admin, want) {
			t.Errorf("admin's home lacks %q:\n%s", want, admin)
		}
	}
	if refused := slackAPI.Refused(); len(refused) > 0 {
		t.Errorf("Slack refused views: %q", refused)
	}
}

// drain empties the fake Slack's view channel of what came so far (Home
// refreshes queued by changes), waiting until the outbox is empty.
func drain(t *testing.T, s *testserver.Slack) {
	t.Helper()
	for {
		select {
		case <-s.Viewed():
		case <-time.After(casebot.HomeSlot + 500*time.Millisecond):
			return
		}
	}
}

// A change to a user's case republishes their Home from the outbox; a
// burst of changes is a handful of views.publish, not one each.
func TestHomeRepublishedFromOutboxCoalesced(t *testing.T) {
	rd, slackAPI := slackDaemon(t, "")
	id := homeCaseRe.FindString(mustRun(t, rd, "U1", "new Boundary wall"))
	v := nextView(t, slackAPI, "the refresh after new")
	if v.UserID == "UADMIN" { // the admin's caseload balance changed too
		v = nextView(t, slackAPI, "U1's refresh after new")
	}
	if v.UserID != "U1" || !strings.Contains(v.Text(), id) {
		t.Fatalf("refresh %s to %s, want U1's home with %s", v.Text(), v.UserID, id)
	}
	before := slackAPI.Calls("views.publish")
	start := time.Now()
	const changes = 300
	for i := range changes {
		mustRun(t, rd, "U1", fmt.Sprintf("note %s step %d", id, i))
	}
	took := time.Since(start)
	waitFor(t, "the outbox to empty", func() bool {
		n, err := rd.d.DB.OutboxDepth(context.Background())
		return err == nil && n == 0
	})
	got := slackAPI.Calls("views.publish") - before
	limit := int(took/casebot.HomeSlot) + 2
	t.Logf("%d changes in %s: %d views.publish", changes, took, got)
	if got < 1 || got > limit {
		t.Errorf("%d changes in %s made %d views.publish, want 1 to %d", changes, took, got, limit)
	}
	last := slackAPI.Views()[len(slackAPI.Views())-1]
	if last.UserID != "U1" || !strings.Contains(last.Text(), id) {
		t.Errorf("last publish %s", last.Text())
	}
}

// interaction posts a signed interaction payload and returns status and body.
func interaction(t *testing.T, rd *runningDaemon, payload map[string]any) (int, string) {
	t.Helper()
	b, _ := json.Marshal(payload)
	body := url.Values{"payload": {string(b)}}.Encode()
	return signedPost(t, rd.base, "/slack/interactions", "s3cret", "application/x-www-form-urlencoded", body, nil)
}
