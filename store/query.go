package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/casebot/casebot"
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
	err := db.view(ctx, func(tx *bolt.Tx) error {
		// case ID -> the normalised names (or "" for the email) that matched
		hits := make(map[string]map[string]bool)
		add := func(id, name string) {
			if hits[id] == nil {
				hits[id] = make(map[string]bool)
			}
			hits[id][name] = true
		}
		if byEmail != "" {
			p := prefixOf(byEmail)
			c := tx.Bucket(bucketIdxEmail).Cursor()
			for k, _ := c.Seek(p); hasPrefix(k, p); k, _ = c.Next() {
				add(string(k[len(p):]), "")
			}
		} else {
			c := tx.Bucket(bucketIdxName).Cursor()
			p := []byte(byName)
			for k, _ := c.Seek(p); hasPrefix(k, p); k, _ = c.Next() {
				if i := strings.IndexByte(string(k), sep); i > 0 {
					add(string(k[i+1:]), string(k[:i]))
				}
			}
			words := strings.Fields(byName)
			// Scan the entries of the longest (likely rarest) word and keep
			// names that hold all the others.
			rare := slices.MaxFunc(words, func(a, b string) int { return len(a) - len(b) })
			wp := prefixOf(rare)
			c = tx.Bucket(bucketIdxWord).Cursor()
			for k, _ := c.Seek(wp); hasPrefix(k, wp); k, _ = c.Next() {
				parts := strings.SplitN(string(k[len(wp):]), string(rune(sep)), 2)
				if len(parts) == 2 && allWords(parts[1], words) {
					add(parts[0], parts[1])
				}
			}
		}
		ids := make([]string, 0, len(hits))
		for id := range hits {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			c, err := getCase(tx, id)
			if err != nil {
				return err
			}
			for _, p := range c.Parties {
				match := byEmail != "" && strings.EqualFold(p.Email, byEmail) ||
					byEmail == "" && hits[id][casebot.NormalizeName(p.Name)]
				if match {
					out = append(out, casebot.PartyMatch{CaseID: c.ID, Mediator: c.Mediator, Status: c.Status, Title: c.Title, Party: p})
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
// beginning; fn may stop early by returning false.
func deadlineRange(tx *bolt.Tx, from, to time.Time, fn func(casebot.DeadlineRef) bool) error {
	end := timeKey(to)
	c := tx.Bucket(bucketIdxDeadline).Cursor()
	k, v := c.First()
	if !from.IsZero() {
		k, v = c.Seek(timeKey(from))
	}
	for ; k != nil && string(k[:8]) < string(end); k, v = c.Next() {
		var ref casebot.DeadlineRef
		if err := json.Unmarshal(v, &ref); err != nil {
			return fmt.Errorf("decode deadline entry %q: %w", k, err)
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
	err := db.view(ctx, func(tx *bolt.Tx) error {
		return deadlineRange(tx, time.Time{}, now, func(r casebot.DeadlineRef) bool {
			if (mediator == "" || r.Mediator == mediator) && !r.Deadline.Met {
				out = append(out, r)
			}
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
	err := db.view(ctx, func(tx *bolt.Tx) error {
		return deadlineRange(tx, from, to, func(r casebot.DeadlineRef) bool {
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
	err := db.view(ctx, func(tx *bolt.Tx) error {
		end := timeKey(to)
		c := tx.Bucket(bucketIdxSession).Cursor()
		for k, v := c.Seek(timeKey(from)); k != nil && string(k[:8]) < string(end); k, v = c.Next() {
			var ref casebot.SessionRef
			if err := json.Unmarshal(v, &ref); err != nil {
				return fmt.Errorf("decode session entry %q: %w", k, err)
			}
			out = append(out, ref)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: sessions between: %w", err)
	}
	return out, nil
}

// Caseloads returns, for every mediator who has a case, the open cases by
// priority, read from the mediator index alone; ordered by mediator.
func (db *DB) Caseloads(ctx context.Context) ([]casebot.Caseload, error) {
	var out []casebot.Caseload
	err := db.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketIdxMediator).ForEach(func(k, v []byte) error {
			i := strings.IndexByte(string(k), sep)
			if i < 0 {
				return fmt.Errorf("bad mediator index key %q", k)
			}
			med, id := string(k[:i]), string(k[i+1:])
			si, err := decodeSortValue(id, v)
			if err != nil {
				return err
			}
			if len(out) == 0 || out[len(out)-1].Mediator != med {
				out = append(out, casebot.Caseload{Mediator: med, ByPriority: make(map[casebot.Priority]int)})
			}
			if !si.status.Closed() {
				cl := &out[len(out)-1]
				cl.Open++
				cl.ByPriority[casebot.Priorities[min(si.rank, len(casebot.Priorities)-1)]]++
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: caseloads: %w", err)
	}
	return out, nil
}

// Stats returns caseload figures at now over every case (StatsFor "").
func (db *DB) Stats(ctx context.Context, now time.Time) (casebot.Stats, error) {
	return db.StatsFor(ctx, now, "")
}
