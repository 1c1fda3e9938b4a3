package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot/internal/testserver"
)

// homeSaying waits for a views.publish of user's Home whose text holds
// want (the outbox's refreshes; no one opens the Home).
func homeSaying(t *testing.T, s *testserver.Slack, user, want string) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case v := <-s.Viewed():
			if v.Method == "views.publish" && v.UserID == user && strings.Contains(v.Text(), want) {
				return
			}
		case <-deadline:
			t.Fatalf("no refresh of %s's Home saying %q", user, want)
		}
	}
}

// An admin's Home is refreshed from the outbox, without their opening it,
// when the quarantine changes (a stranger's mail arrives, an email is
// rejected) and when a case's mediator or status changes.
func TestAdminHomeRefreshed(t *testing.T) {
	rd, slackAPI, imapSrv, id := startSlackMailDaemon(t, `admins = ["UADMIN"]`)
	ctx := context.Background()
	homeSaying(t, slackAPI, "UADMIN", "<@U1>: 1")

	raw := fmt.Sprintf("From: eve@example.com\r\nTo: cases@practice.example\r\nSubject: [%s] hello\r\nMessage-ID: <adm1@example.com>\r\n\r\nLet me in.\r\n", id)
	if err := imapSrv.Append(raw); err != nil {
		t.Fatal(err)
	}
	homeSaying(t, slackAPI, "UADMIN", "1 email waiting")

	mustRun(t, rd, "UADMIN", "assign "+id+" UMEDTWO")
	homeSaying(t, slackAPI, "UADMIN", "<@UMEDTWO>: 1")

	mustRun(t, rd, "UMEDTWO", "close "+id+" settled")
	homeSaying(t, slackAPI, "UADMIN", "1 email waiting") // and no caseload left
	if admin := homeOf(t, rd, slackAPI, "UADMIN").Text(); strings.Contains(admin, "<@UMEDTWO>: 1") {
		t.Errorf("admin's Home still counts the closed case:\n%s", admin)
	}

	q, err := rd.d.DB.Quarantine(ctx, false)
	if err != nil || len(q) != 1 {
		t.Fatalf("quarantine %v, %v", q, err)
	}
	mustRun(t, rd, "UADMIN", fmt.Sprintf("reject %d", q[0].N))
	homeSaying(t, slackAPI, "UADMIN", "0 emails waiting")
}
