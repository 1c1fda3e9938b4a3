package slackbot_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/bot/slackbot"
	"github.com/casebot/casebot/internal/testserver"
	"github.com/casebot/casebot/scheduler"
	"github.com/slack-go/slack"
)

// Through Socket Mode, events and forms have the effects they have over
// HTTP: app_home_opened publishes Home (once per event_id), a form's
// refused submission is acknowledged with errors at its field and stores
// nothing, a valid one runs the command.
func TestSocketModeHomeAndForms(t *testing.T) {
	api := testserver.NewSlack(t, slBotToken)
	webAPI := slack.New(slBotToken, slack.OptionAPIURL(api.URL()))
	e := newEnv(t, nil)
	sched, err := scheduler.New(scheduler.Config{Store: e.db, Admins: []string{"UADMIN"}})
	if err != nil {
		t.Fatal(err)
	}
	// The handler needs the Home view; rebuild it with everything wired.
	h := slackbot.NewHandler(slackbot.Config{Run: e.run, Language: e.bot, SigningSecret: slSecret, TeamID: slTeam,
		Logger: slLogger(t), Client: webAPI, Forms: e.bot, Home: slackbot.NewHomeView(webAPI, sched, nil, true)})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = h.Shutdown(ctx)
	})
	id := caseIDIn(t, e.bot.Run(context.Background(), "U1", "new Socket home case").Text)

	ws := newWSSlack(t)
	fs := newFakeSlack(t)
	fs.set(func() { fs.wsURL = ws.url() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- h.RunSocketMode(ctx, fs.client(slack.OptionAppLevelToken(slAppToken)),
			slackbot.SocketOptions{PingInterval: 2 * time.Second, MinBackoff: 10 * time.Millisecond})
	}()
	wait(t, ws.conns, "connection")

	event := map[string]any{"token": "x", "team_id": slTeam, "api_app_id": "A0001", "type": "event_callback", "event_id": "EvSock1",
		"event_time": 1, "event": map[string]any{"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home", "event_ts": "1.0"}}
	ws.send("events_api", "env-ev1", event, 0)
	if ack := wait(t, ws.acks, "ack of the event"); ack["envelope_id"] != "env-ev1" {
		t.Fatalf("ack %v", ack)
	}
	v := wait(t, api.Viewed(), "views.publish")
	if v.Method != "views.publish" || v.UserID != "U1" || !strings.Contains(v.Text(), id) {
		t.Fatalf("published %s %s: %s", v.Method, v.UserID, v.Text())
	}
	ws.send("events_api", "env-ev2", event, 1) // Slack's retry of the same event
	wait(t, ws.acks, "ack of the retry")

	submission := func(envelope, priority string) map[string]any {
		ws.send("interactive", envelope, map[string]any{"type": "view_submission", "team": map[string]any{"id": slTeam},
			"user": map[string]any{"id": "U1"}, "view": map[string]any{"id": "V1", "type": "modal", "callback_id": "form:new",
				"state": map[string]any{"values": map[string]any{
					"title":    map[string]any{"value": map[string]any{"type": "plain_text_input", "value": "From the socket form"}},
					"priority": map[string]any{"value": map[string]any{"type": "static_select", "selected_option": map[string]any{"value": priority}}},
				}}}}, 0)
		return wait(t, ws.acks, "ack of "+envelope)
	}
	ack := submission("env-f1", "sky-high")
	raw, _ := json.Marshal(ack["payload"])
	if !strings.Contains(string(raw), `"response_action":"errors"`) || !strings.Contains(string(raw), `"priority"`) {
		t.Errorf("refused submission acknowledged with %s, want errors at priority", raw)
	}
	if n := e.caseCount(t); n != 1 {
		t.Fatalf("a refused form stored a case: %d cases", n)
	}
	submission("env-f2", "high")
	cs, _ := e.db.Cases(context.Background(), casebot.CaseFilter{State: "all"})
	found := false
	for _, c := range cs {
		found = found || (c.Title == "From the socket form" && c.Priority == casebot.PriorityHigh && c.Mediator == "U1")
	}
	if len(cs) != 2 || !found {
		t.Fatalf("%d cases, want the form's as the second", len(cs))
	}
	if n := api.Calls("views.publish"); n != 1 {
		t.Errorf("views.publish %d times, want 1 (the retried event not handled again)", n)
	}
	if r := api.Refused(); len(r) > 0 {
		t.Errorf("Slack refused views: %q", r)
	}
	cancel()
	wait(t, done, "RunSocketMode to return")
}
