package scheduler

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/bot"
)

// The daily retention purge takes the cases closed more than retain_days
// ago, not held ones nor recently closed ones, records each in the audit
// trail, and the admins' digest lists what was purged and what comes next.
func TestRetentionPurge(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Config{RetainDays: 90, PurgeWarningDays: 30})
	e.s.cfg.Purger = e.db
	closeCase := func(title string, hold bool) string {
		c := e.newCase(title, "UMED", casebot.PriorityNormal, casebot.Party{Role: casebot.RoleClaimant, Name: "Ann " + title, Email: title + "@example.com"})
		if _, err := e.db.AddNote(ctx, &casebot.Note{CaseID: c.ID, Author: "UMED", Body: "note"}, casebot.Change{Actor: "UMED"}); err != nil {
			t.Fatal(err)
		}
		e.update(c.ID, func(c *casebot.Case) { c.Status, c.Hold = casebot.StatusSettled, hold })
		return c.ID
	}
	old, held := closeCase("old", false), closeCase("held", true)
	e.clk.Advance(50 * day)
	soon := closeCase("soon", false) // due 90 days after closing: 25 days after the first tick
	e.clk.Advance(65 * day)

	at := e.clk.Now()
	next := e.tick(at)
	if want := at.Add(retentionEvery); next.After(want) {
		t.Errorf("next tick %v, want by %v (the next retention run)", next, want)
	}
	purged := func(id string) bool {
		c, err := e.db.Case(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return c.Purged != nil
	}
	if !purged(old) || purged(held) || purged(soon) {
		t.Fatalf("purged: old %v held %v soon %v; want only old", purged(old), purged(held), purged(soon))
	}
	ev, _ := e.db.Audit(ctx, old)
	if last := ev[len(ev)-1]; last.Action != "case.purge" || last.Actor != "casebot" || !strings.Contains(last.Detail, "90 days") {
		t.Errorf("last audit event = %+v", last)
	}

	d, err := e.s.BuildDigest(ctx, "UADMIN", at.Add(time.Hour), time.UTC, at.Add(-day), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Purged) != 1 || d.Purged[0].CaseID != old || len(d.PurgeSoon) != 1 || d.PurgeSoon[0].CaseID != soon {
		t.Fatalf("digest purged %+v, soon %+v", d.Purged, d.PurgeSoon)
	}
	text := bot.RenderDigest(&d)
	if !strings.Contains(text, "Purged since") || !strings.Contains(text, old) || !strings.Contains(text, "To be purged soon") || !strings.Contains(text, soon) {
		t.Errorf("rendered digest lacks the purge lists:\n%s", text)
	}

	// Not again within the day; a later day takes "soon" once it is due.
	e.tick(at.Add(time.Hour))
	e.tick(at.Add(24 * day))
	if purged(soon) {
		t.Error("soon was purged a day early")
	}
	e.tick(at.Add(26 * day))
	if !purged(soon) || purged(held) {
		t.Errorf("after 26 days: soon purged %v, held purged %v", purged(soon), purged(held))
	}
}

// retain_days = 0 purges nothing.
func TestRetentionOff(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Config{RetainDays: 0, PurgeWarningDays: 30})
	e.s.cfg.Purger = e.db
	c := e.newCase("closed", "UMED", casebot.PriorityNormal)
	e.update(c.ID, func(c *casebot.Case) { c.Status = casebot.StatusImpasse })
	e.tick(e.clk.Now().Add(3650 * day))
	got, err := e.db.Case(ctx, c.ID)
	if err != nil || got.Purged != nil {
		t.Fatalf("case = %+v, %v; want it kept", got, err)
	}
	d, err := e.s.BuildDigest(ctx, "UADMIN", e.clk.Now(), time.UTC, e.clk.Now().Add(-day), nil)
	if err != nil || len(d.PurgeSoon) != 0 {
		t.Errorf("digest purge-soon = %+v, %v; want none", d.PurgeSoon, err)
	}
}
