package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// FindParty returns every appearance of a person. An email address is
// looked up in the email index; anything else by normalised name: names
// equal to or starting with the query, and names holding every word of it
// ("smith" finds "John Smith"). Results are ordered by case ID.
func (db *DB) FindParty(ctx context.Context, query string) ([]casebot.PartyMatch, error) {
	query = strings.TrimSpace(query)
	var byEmail string
	var byName string
	if strings.Contains(query, "@") {
		e, err := casebot.NormalizeEmail(query)
		if err != nil {
			e = strings.ToLower(query)
		}
		byEmail = e
	} else if byName = casebot.NormalizeName(query); byName == "" {
		return nil, casebot.Errorf(casebot.EINVALID, "Give a name or an email address to look for.")
	}
	var out []casebot.PartyMatch
	words := strings.Fields(byName)
	err := db.view(ctx, func(tx kv.Tx) error {
		cands := db.partyCandidates(tx, byEmail, byName, words)
		ids := make([]string, 0, len(cands))
		for id := range cands {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			c, err := db.getCase(tx, id)
			if errors.Is(err, errKeyDestroyed) {
				continue // purged after this copy of the file was made
			} else if err != nil {
				return err
			}
			for _, p := range c.Parties {
				if partyMatches(p, byEmail, byName, words) {
					out = append(out, casebot.PartyMatch{CaseID: c.ID, Mediator: c.Mediator, CoMediators: c.CoMediators, Status: c.Status, Title: c.Title, Party: p})
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: find party: %w", err)
	}
	return out, nil
}

// allWords reports whether every word is among the words of name.
func allWords(name string, words []string) bool {
	have := strings.Fields(name)
	for _, w := range words {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// deadlineRange returns the index entries with from <= due < to: unmet
// deadlines of open cases, earliest first. A zero from starts at the
// beginning. keep (nil: all) picks entries by their clear part (no title
// or text yet) before their content is opened; fn may stop early by
// returning false. Entries of a case whose data key is destroyed (a copy
// of the file from before its purge) are passed over.
func (db *DB) deadlineRange(tx kv.Tx, from, to time.Time, keep func(*casebot.DeadlineRef) bool, fn func(casebot.DeadlineRef) bool) error {
	end := timeKey(to)
	c := tx.Bucket(bucketIdxDeadline).Cursor()
	k, v := c.First()
	if !from.IsZero() {
		k, v = c.Seek(timeKey(from))
	}
	for ; k != nil && string(k[:8]) < string(end); k, v = c.Next() {
		clear, sealed, err := splitRef(k, v)
		if err != nil {
			return err
		}
		ref, err := deadlineRefClear(clear)
		if err != nil {
			return fmt.Errorf("decode deadline entry %q: %w", k, err)
		}
		if keep != nil && !keep(&ref) {
			continue
		}
		if skip, err := db.openDeadlineRef(&ref, k, sealed); err != nil {
			return err
		} else if skip {
			continue
		}
		if !fn(ref) {
			return nil
		}
	}
	return nil
}

// Overdue returns the unmet deadlines of open cases due before now, earliest
// first, for one mediator or ("") all. It reads only that range of the
// deadline index, never the case records.
func (db *DB) Overdue(ctx context.Context, now time.Time, mediator string) ([]casebot.DeadlineRef, error) {
	var out []casebot.DeadlineRef
	err := db.view(ctx, func(tx kv.Tx) error {
		keep := func(r *casebot.DeadlineRef) bool {
			return (mediator == "" || r.Mediator == mediator || slices.Contains(r.CoMediators, mediator)) && !r.Deadline.Met
		}
		return db.deadlineRange(tx, time.Time{}, now, keep, func(r casebot.DeadlineRef) bool {
			out = append(out, r)
			return true
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: overdue: %w", err)
	}
	return out, nil
}

// DeadlinesBetween returns the unmet deadlines of open cases with
// from <= due < to, earliest first, through the deadline time index.
func (db *DB) DeadlinesBetween(ctx context.Context, from, to time.Time) ([]casebot.DeadlineRef, error) {
	var out []casebot.DeadlineRef
	err := db.view(ctx, func(tx kv.Tx) error {
		return db.deadlineRange(tx, from, to, nil, func(r casebot.DeadlineRef) bool {
			out = append(out, r)
			return true
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: deadlines between: %w", err)
	}
	return out, nil
}

// SessionsBetween returns the sessions that are not cancelled, of open
// cases, with from <= start < to, earliest first, through the session time index.
func (db *DB) SessionsBetween(ctx context.Context, from, to time.Time) ([]casebot.SessionRef, error) {
	var out []casebot.SessionRef
	err := db.view(ctx, func(tx kv.Tx) error {
		end := timeKey(to)
		c := tx.Bucket(bucketIdxSession).Cursor()
		for k, v := c.Seek(timeKey(from)); k != nil && string(k[:8]) < string(end); k, v = c.Next() {
			ref, skip, err := db.sessionRef(k, v)
			if err != nil {
				return err
			}
			if !skip {
				out = append(out, ref)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: sessions between: %w", err)
	}
	return out, nil
}

// Caseloads returns, for every mediator or co-mediator who has a case, the
// open cases by priority; ordered by mediator. A case with co-mediators is
// counted in Shared too, for each of its mediators. A mediator's own cases
// are counted from the aggregates' per-mediator counters (a few keys per
// mediator, not an index entry per case), the co-mediated ones from the
// co-mediator index, and the mediator of each open co-mediated case read
// from its record's clear part.
func (db *DB) Caseloads(ctx context.Context) ([]casebot.Caseload, error) {
	byMed := map[string]*casebot.Caseload{}
	load := func(med string) *casebot.Caseload {
		cl := byMed[med]
		if cl == nil {
			cl = &casebot.Caseload{Mediator: med, ByPriority: make(map[casebot.Priority]int)}
			byMed[med] = cl
		}
		return cl
	}
	share := func(cl *casebot.Caseload, p casebot.Priority) {
		if cl.Shared == nil {
			cl.Shared = make(map[casebot.Priority]int)
		}
		cl.Shared[p]++
	}
	err := db.view(ctx, func(tx kv.Tx) error {
		// m \0 mediator \0 status \0 priority -> cases
		if err := forCounters(tx, string(aggMediator)+"\x00", func(k, v []byte) error {
			parts := counterParts(k)
			if len(parts) != 3 || len(v) != 8 {
				return fmt.Errorf("bad counter %q", k)
			}
			if parts[0] == "" { // a case without a mediator is no one's caseload
				return nil
			}
			cl := load(parts[0])
			if casebot.Status(parts[1]).Closed() {
				return nil
			}
			n := int(u64(v))
			cl.Open += n
			cl.ByPriority[casebot.Priorities[casebot.Priority(parts[2]).Rank()]] += n
			return nil
		}); err != nil {
			return err
		}
		shared := map[string]casebot.Priority{} // open case IDs with co-mediators
		if err := tx.Bucket(bucketIdxCoMed).ForEach(func(k, v []byte) error {
			i := bytes.IndexByte(k, sep)
			if i < 0 {
				return fmt.Errorf("bad %s key %q", bucketIdxCoMed, k)
			}
			med, id := string(k[:i]), string(k[i+1:])
			si, err := decodeSortValue(id, v)
			if err != nil {
				return err
			}
			cl := load(med)
			if si.status.Closed() {
				return nil
			}
			p := casebot.Priorities[min(si.rank, len(casebot.Priorities)-1)]
			cl.Open++
			cl.ByPriority[p]++
			share(cl, p)
			shared[id] = p
			return nil
		}); err != nil {
			return err
		}
		for _, id := range slices.Sorted(maps.Keys(shared)) {
			c, err := getCaseHeader(tx, id)
			if err != nil {
				return err
			}
			if c.Mediator != "" {
				share(load(c.Mediator), shared[id])
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: caseloads: %w", err)
	}
	out := make([]casebot.Caseload, 0, len(byMed))
	for _, m := range slices.Sorted(maps.Keys(byMed)) {
		out = append(out, *byMed[m])
	}
	return out, nil
}

// Stats returns caseload figures at now over every case (StatsFor "").
func (db *DB) Stats(ctx context.Context, now time.Time) (casebot.Stats, error) {
	return db.StatsFor(ctx, now, "")
}
