package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// bucketOffers: case ID \x00 offer# (uint32) -> binary record: a clear
// header (case, number, side, status, who and when) and the sealed terms.
var bucketOffers = []byte("offers")

// encodeOffer returns the record of o, its terms sealed with sl (the
// case's own key: a purge takes them along).
func encodeOffer(sl *sealer, key []byte, o *casebot.Offer) []byte {
	s := getScratch()
	defer putScratch(s)
	s.h.str(o.CaseID)
	s.h.uint(uint64(o.N))
	s.h.str(string(o.Role))
	s.h.str(string(o.Status))
	s.h.str(o.By)
	s.h.time(o.Made)
	s.h.str(o.ClosedBy)
	s.h.time(o.Closed)
	s.p.str(o.Terms)
	return sealFrame(sl, key, s)
}

func (db *DB) decodeOffer(key, v []byte) (casebot.Offer, error) {
	if !isBinary(v) {
		return casebot.Offer{}, fmt.Errorf("offer %x: bad record", key)
	}
	h, sealed, err := unframe2(v)
	if err != nil {
		return casebot.Offer{}, fmt.Errorf("offer %x: %w", key, err)
	}
	d := dec{b: h}
	o := casebot.Offer{CaseID: d.str(), N: int(d.uint()), Role: casebot.Role(d.str()), Status: casebot.OfferStatus(d.str()),
		By: d.str(), Made: d.time(), ClosedBy: d.str(), Closed: d.time()}
	if d.err != nil {
		return o, fmt.Errorf("offer %x header: %w", key, d.err)
	}
	plain, err := db.openCase(o.CaseID, key, sealed)
	if err != nil {
		return o, fmt.Errorf("offer %s/%d: %w", o.CaseID, o.N, err)
	}
	d = dec{b: plain}
	o.Terms = d.str()
	if d.err != nil {
		return o, fmt.Errorf("offer %s/%d terms: %w", o.CaseID, o.N, d.err)
	}
	return o, nil
}

func (db *DB) offersTx(tx kv.Tx, caseID string) ([]casebot.Offer, error) {
	b := tx.Bucket(bucketOffers)
	if b == nil {
		return nil, nil
	}
	var out []casebot.Offer
	p := prefixOf(caseID)
	c := b.Cursor()
	for k, v := c.Seek(p); hasPrefix(k, p); k, v = c.Next() {
		o, err := db.decodeOffer(k, v)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// Offers returns the offers of a case in order, their terms unsealed.
func (db *DB) Offers(ctx context.Context, caseID string) ([]casebot.Offer, error) {
	var out []casebot.Offer
	err := db.view(ctx, func(tx kv.Tx) error {
		var err error
		out, err = db.offersTx(tx, caseID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: offers of %s: %w", caseID, err)
	}
	return out, nil
}

// UpdateOffers reads case id and its offers in a write transaction, lets
// fn return the offers to keep and the Change to record, and writes the
// offers that changed with the audit event (its Detail and About sealed)
// and outbox messages; the case's Updated and Activity become now. Offers
// are numbered by fn; one whose number or case is wrong is refused.
func (db *DB) UpdateOffers(ctx context.Context, id string, fn func(c *casebot.Case, offers []casebot.Offer) ([]casebot.Offer, casebot.Change, error)) ([]casebot.Offer, error) {
	var out []casebot.Offer
	var fnErr error
	err := db.update(ctx, func(tx kv.Tx) error {
		old, err := db.getCase(tx, id)
		if err != nil {
			return err
		}
		before, err := db.offersTx(tx, id)
		if err != nil {
			return err
		}
		c := cloneCase(old)
		after, ch, err := fn(c, slices.Clone(before))
		if err != nil {
			fnErr = err
			return err
		}
		b := tx.Bucket(bucketOffers)
		sl, err := db.caseSealer(tx, id)
		if err != nil {
			return err
		}
		for i, o := range after {
			if o.CaseID != id || o.N != i+1 {
				return fmt.Errorf("offer %s/%d out of order", o.CaseID, o.N)
			}
			if i < len(before) && before[i] == o {
				continue
			}
			k := numberedKey(id, o.N)
			if err := b.Put(k, encodeOffer(sl, k, &o)); err != nil {
				return fmt.Errorf("put offer: %w", err)
			}
		}
		now := db.now()
		c.ID, c.Token, c.Created = old.ID, old.Token, old.Created
		c.Updated, c.Activity = now, now
		if err := db.putCase(tx, old, c); err != nil {
			return err
		}
		if ch.Action == "" {
			ch.Action = "offer.update"
		}
		if err := db.record(tx, id, ch, now); err != nil {
			return err
		}
		out = after
		return nil
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, fmt.Errorf("store: update offers of %s: %w", id, err)
	}
	return out, nil
}
