package store

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/casebot/casebot"
)

// Offers keep their order and status, and with a key their terms (and the
// audit trail naming them) are not in the file.
func TestOffersSealedAtRest(t *testing.T) {
	key := bytes.Repeat([]byte{9}, 32)
	path := filepath.Join(t.TempDir(), "offers.db")
	db := openAt(t, path, newClock(), Options{EncryptionKey: key})
	ctx := context.Background()
	c := newCase(t, db, "offers", "U1")
	const terms = "MARKEROFFERTERMS7q2x pays 9000"
	add := func(role casebot.Role, terms string) {
		t.Helper()
		_, err := db.UpdateOffers(ctx, c.ID, func(c *casebot.Case, os []casebot.Offer) ([]casebot.Offer, casebot.Change, error) {
			o := casebot.Offer{CaseID: c.ID, N: len(os) + 1, Role: role, Terms: terms, Status: casebot.OfferOpen, By: "U1"}
			return append(os, o), casebot.Change{Actor: "U1", Action: "offer.add", About: casebot.About{N: o.N, Text: terms}}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	add(casebot.RoleClaimant, terms)
	add(casebot.RoleRespondent, "counter")
	_, err := db.UpdateOffers(ctx, c.ID, func(c *casebot.Case, os []casebot.Offer) ([]casebot.Offer, casebot.Change, error) {
		os[0].Status = casebot.OfferAccepted
		return os, casebot.Change{Actor: "U1", Action: "offer.close"}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A refusal from fn stores nothing.
	wantErr := casebot.Errorf(casebot.EINVALID, "no")
	if _, err := db.UpdateOffers(ctx, c.ID, func(*casebot.Case, []casebot.Offer) ([]casebot.Offer, casebot.Change, error) {
		return nil, casebot.Change{}, wantErr
	}); err != wantErr {
		t.Fatalf("fn's error: %v", err)
	}
	got, err := db.Offers(ctx, c.ID)
	if err != nil || len(got) != 2 || got[0].Terms != terms || got[0].Status != casebot.OfferAccepted || got[1].Role != casebot.RoleRespondent {
		t.Fatalf("Offers = %+v, %v", got, err)
	}
	if a := casebot.Accepted(got); a == nil || a.N != 1 {
		t.Errorf("Accepted = %+v", a)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := readStore(t, path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("MARKEROFFERTERMS")) {
		t.Error("the offer's terms are in the file in the clear")
	}
}
