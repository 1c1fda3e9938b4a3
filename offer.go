package casebot

import (
	"context"
	"time"
)

// OfferStatus is where a settlement offer stands.
type OfferStatus string

// Offer statuses: an offer is open until accepted, rejected or withdrawn.
const (
	OfferOpen      OfferStatus = "open"
	OfferAccepted  OfferStatus = "accepted"
	OfferRejected  OfferStatus = "rejected"
	OfferWithdrawn OfferStatus = "withdrawn"
)

// OfferClosings are the statuses that close an offer.
var OfferClosings = []OfferStatus{OfferAccepted, OfferRejected, OfferWithdrawn}

// ParseOfferClosing returns the closing status named s, or an EINVALID
// error listing them.
func ParseOfferClosing(s string) (OfferStatus, error) {
	return parseEnum("offer status", s, OfferClosings)
}

// Offer is one entry of a case's confidential log of settlement offers
// (caucus material): never emailed, shown only to those who may see the
// case, its terms sealed at rest like a note's body. N numbers offers from
// 1 within a case.
type Offer struct {
	CaseID string
	N      int
	// Role is the side that made the offer.
	Role   Role
	Terms  string
	Status OfferStatus
	// By logged it, at Made; ClosedBy closed it, at Closed.
	By       string
	Made     time.Time
	ClosedBy string
	Closed   time.Time
}

// Accepted returns the last accepted offer of offers, or nil.
func Accepted(offers []Offer) *Offer {
	for i := len(offers) - 1; i >= 0; i-- {
		if offers[i].Status == OfferAccepted {
			return &offers[i]
		}
	}
	return nil
}

// OfferStore keeps each case's offers. Every change commits with its audit
// event in one transaction.
type OfferStore interface {
	// Offers returns the case's offers in order (none for a case without).
	Offers(ctx context.Context, caseID string) ([]Offer, error)
	// UpdateOffers reads case id and its offers, lets fn return the offers
	// to store (fn may append one or change one's status) and the Change to
	// record, and commits both; the case's Updated and Activity become now.
	// An error from fn aborts with nothing stored and is returned as is.
	UpdateOffers(ctx context.Context, id string, fn func(c *Case, offers []Offer) ([]Offer, Change, error)) ([]Offer, error)
}
