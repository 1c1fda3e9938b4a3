package slackbot_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/casebot/casebot/bot/slackbot"
	"github.com/casebot/casebot/internal/testclock"
	"github.com/slack-go/slack"
)

func TestUserDirectoryFetchesInBackgroundAndCaches(t *testing.T) {
	clk := testclock.New(time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC))
	path := filepath.Join(t.TempDir(), "c.db")
	db := slOpenStore(t, path, clk.Now)
	fs := newFakeSlack(t)
	fs.set(func() {
		fs.users["U1"] = slack.User{ID: "U1", Name: "ana", RealName: "Ana Lima", TZ: "America/Sao_Paulo",
			Profile: slack.UserProfile{DisplayName: "Ana"}}
	})
	d := slackbot.NewUserDirectory(fs.client(), db, slLogger(t), clk.Now)

	// Unknown: answered at once (nil), fetched in the background.
	if loc := d.Location("U1"); loc != nil {
		t.Fatalf("Location before any fetch = %v, want nil", loc)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, time.Hour) }()
	testclock.WaitFor(t, "the time zone fetched", func() bool { return d.Location("U1") != nil })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := d.Location("U1").String(); got != "America/Sao_Paulo" {
		t.Errorf("Location = %s", got)
	}
	if got := d.Name("U1"); got != "Ana" {
		t.Errorf("Name = %q, want Ana", got)
	}

	// A new directory without Slack answers from the store.
	d2 := slackbot.NewUserDirectory(nil, db, slLogger(t), clk.Now)
	if loc := d2.Location("U1"); loc == nil || loc.String() != "America/Sao_Paulo" {
		t.Errorf("Location from the store = %v", loc)
	}

	// A day later the profile is refreshed.
	fs.set(func() {
		u := fs.users["U1"]
		u.TZ = "Europe/Lisbon"
		fs.users["U1"] = u
	})
	clk.Advance(25 * time.Hour)
	d.Info("U1") // stale: queued
	ctx, cancel = context.WithCancel(context.Background())
	go func() { done <- d.Run(ctx, time.Hour) }()
	testclock.WaitFor(t, "the stale profile refreshed", func() bool { return d.Location("U1").String() == "Europe/Lisbon" })
	cancel()
	<-done
	if u, ok, err := db.User(context.Background(), "U1"); err != nil || !ok || u.TZ != "Europe/Lisbon" {
		t.Errorf("stored profile = %+v %v %v", u, ok, err)
	}
}
