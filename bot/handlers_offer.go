package bot

import (
	"context"
	"fmt"

	"github.com/casebot/casebot"
)

// handleOffers lists a case's offers: number, time, side, terms, status.
// Offers are caucus material, so listing them is a view in the audit trail.
func handleOffers(ctx context.Context, r *Request) Reply {
	c, err := r.Case(ctx, r.Args.ID)
	if err != nil {
		return r.Fail(err)
	}
	offers, err := r.Store.Offers(ctx, c.ID)
	if err != nil {
		return r.Fail(fmt.Errorf("bot: offers of %s: %w", c.ID, err))
	}
	if err := r.Store.RecordView(ctx, c.ID, r.Actor.ID, "the offers"); err != nil {
		return r.Fail(fmt.Errorf("bot: record view of %s: %w", c.ID, err))
	}
	if len(offers) == 0 {
		return Reply{Text: fmt.Sprintf("%s has no offers. Log one with: offer %s <role> <terms>", c.ID, c.ID)}
	}
	var t text
	t.linef("Offers of %s (confidential: never emailed):", c.ID)
	for _, o := range offers {
		t.line("  " + offerLine(o, r.Actor))
	}
	return Reply{Text: t.String()}
}

// offerLine is "#2 Mon 2 Mar 14:30 UTC respondent: terms [accepted Tue …]".
func offerLine(o casebot.Offer, a casebot.Actor) string {
	loc := a.Location()
	s := fmt.Sprintf("#%d %s %s: %s  [%s", o.N, formatTime(o.Made, loc), o.Role, o.Terms, o.Status)
	if o.Status != casebot.OfferOpen {
		s += " " + formatTime(o.Closed, loc)
	}
	return s + "]"
}

// handleOfferAdd logs an offer from one side of the case, which must have a
// party of that role.
func handleOfferAdd(ctx context.Context, r *Request) Reply {
	a := r.Args
	var o casebot.Offer
	_, err := r.UpdateOffers(ctx, a.ID, func(c *casebot.Case, offers []casebot.Offer) ([]casebot.Offer, casebot.Change, error) {
		if c.Status.Closed() {
			return nil, casebot.Change{}, closedErr(c)
		}
		if !hasRole(c, a.Role) {
			return nil, casebot.Change{}, invalid("%s has no %s; an offer comes from a side that is a party of the case.", c.ID, a.Role)
		}
		o = casebot.Offer{CaseID: c.ID, N: len(offers) + 1, Role: a.Role, Terms: a.Text, Status: casebot.OfferOpen, By: r.Actor.ID, Made: r.Now}
		return append(offers, o), casebot.Change{Action: "offer.add", About: offerAbout(o)}, nil
	})
	if err != nil {
		return r.Fail(err)
	}
	return Reply{Text: fmt.Sprintf("Offer #%d of %s from the %s logged (confidential: never emailed).", o.N, a.ID, o.Role)}
}

// handleOfferClose marks an open offer accepted, rejected or withdrawn.
func handleOfferClose(ctx context.Context, r *Request) Reply {
	a := r.Args
	status, err := casebot.ParseOfferClosing(a.Word)
	if err != nil {
		return r.Usage(err)
	}
	var o casebot.Offer
	_, err = r.UpdateOffers(ctx, a.ID, func(c *casebot.Case, offers []casebot.Offer) ([]casebot.Offer, casebot.Change, error) {
		if a.N > len(offers) {
			return nil, casebot.Change{}, invalid("%s has no offer #%d.", c.ID, a.N)
		}
		p := &offers[a.N-1]
		if p.Status != casebot.OfferOpen {
			return nil, casebot.Change{}, casebot.Errorf(casebot.ECONFLICT, "Offer #%d of %s is %s already.", p.N, c.ID, p.Status)
		}
		p.Status, p.ClosedBy, p.Closed = status, r.Actor.ID, r.Now
		o = *p
		return offers, casebot.Change{Action: "offer.close", Detail: string(status), About: offerAbout(o)}, nil
	})
	if err != nil {
		return r.Fail(err)
	}
	return Reply{Text: fmt.Sprintf("Offer #%d of %s (from the %s) is %s.", o.N, a.ID, o.Role, o.Status)}
}

// UpdateOffers changes a case's offers through the store, checking access
// inside the transaction as UpdateCase does.
func (r *Request) UpdateOffers(ctx context.Context, id string, fn func(c *casebot.Case, offers []casebot.Offer) ([]casebot.Offer, casebot.Change, error)) ([]casebot.Offer, error) {
	out, err := r.Store.UpdateOffers(ctx, id, func(c *casebot.Case, offers []casebot.Offer) ([]casebot.Offer, casebot.Change, error) {
		if !r.Actor.CanSee(c) {
			return nil, casebot.Change{}, r.hidden(id)
		}
		offers, ch, err := fn(c, offers)
		if ch.Actor == "" {
			ch.Actor = r.Actor.ID
		}
		return offers, ch, err
	})
	if casebot.ErrorCode(err) == casebot.ENOTFOUND {
		return nil, r.hidden(id)
	}
	return out, err
}

// offerAbout names an offer for the (sealed) audit trail: number, side and
// the first line of its terms.
func offerAbout(o casebot.Offer) casebot.About {
	return casebot.About{N: o.N, Who: string(o.Role), Text: casebot.Headline(o.Terms)}
}

func hasRole(c *casebot.Case, role casebot.Role) bool {
	for _, p := range c.Parties {
		if p.Role == role {
			return true
		}
	}
	return false
}
