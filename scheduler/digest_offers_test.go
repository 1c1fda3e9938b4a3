package scheduler

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/bot"
)

// The digest counts each case's open offers where there are any, and
// says nothing more of them (offers are caucus material).
func TestDigestCountsOpenOffers(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	withOffers := e.newCase("Lease", "U1", casebot.PriorityNormal, party("Ann", "ann@example.com"))
	none := e.newCase("Fence", "U1", casebot.PriorityHigh)
	statuses := []casebot.OfferStatus{casebot.OfferOpen, casebot.OfferRejected, casebot.OfferOpen}
	if _, err := e.db.UpdateOffers(ctx, withOffers.ID, func(c *casebot.Case, offers []casebot.Offer) ([]casebot.Offer, casebot.Change, error) {
		for i, st := range statuses {
			offers = append(offers, casebot.Offer{CaseID: c.ID, N: i + 1, Role: casebot.RoleClaimant, Terms: "SECRET TERMS 12,000", Status: st, By: "U1", Made: t0})
		}
		return offers, casebot.Change{Actor: "U1", Action: "offer.add"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	d, err := e.s.BuildDigest(ctx, "U1", t0, time.UTC, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Offers) != 1 || d.Offers[0].CaseID != withOffers.ID || d.Offers[0].Open != 2 {
		t.Fatalf("digest offers %+v, want 2 open on %s only (not %s)", d.Offers, withOffers.ID, none.ID)
	}
	text := bot.RenderDigest(&d)
	if !strings.Contains(text, "Open settlement offers") || !strings.Contains(text, withOffers.ID+" Lease — 2 open offers") {
		t.Errorf("digest text lacks the count:\n%s", text)
	}
	if strings.Contains(text, "SECRET") || strings.Contains(text, "12,000") {
		t.Errorf("digest text shows an offer's terms:\n%s", text)
	}
	if d, _ := e.s.BuildDigest(ctx, "U2", t0, time.UTC, t0, nil); len(d.Offers) != 0 {
		t.Errorf("another user's digest counts the offers: %+v", d.Offers)
	}
}
