package store

import (
	"slices"
	"strings"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// Party indexes (conflict checks, FindParty, bounce flags, reminders).
//
// Without an encryption key they hold the terms themselves, as they always
// did: idx_email "email \x00 case ID", idx_name "normalised name \x00 case
// ID" (prefix scans find names starting with a query), idx_word "word \x00
// case ID \x00 normalised name".
//
// With a key no index key spells a name or an address: each term is its
// keyed hash (termKey, domain "party index"), followed by \x00 and the case
// ID. idx_email holds the address's hash; idx_word each name word's; and
// since a hash has no prefixes, idx_name holds the hash of each of the
// name's first namePrefixRunes prefixes (1, 2, … characters). A lookup
// hashes the normalised query (cut to namePrefixRunes characters for a
// name) and reads the candidate cases, whose parties then decide, exactly
// as the plain index would have: a name equal to or starting with the
// query, or holding every word of it.

// partyIndexDomain is the termKey domain of the party indexes.
const partyIndexDomain = "party index"

// namePrefixRunes bounds the name prefixes hashed into idx_name; longer
// queries look up their first namePrefixRunes characters and are checked
// against the parties' names.
const namePrefixRunes = 16

// partyTerm returns the index term of a party's address ("email"), name
// prefix ("name") or name word ("word").
func (db *DB) partyTerm(kind, term string) string {
	if !db.hashedTerms() {
		return term
	}
	return string(db.termKey(partyIndexDomain, kind+"\x00"+term))
}

// emailIndexKey is the idx_email key of address email (normalised) in case id.
func (db *DB) emailIndexKey(email, id string) []byte {
	return keyOf(db.partyTerm("email", strings.ToLower(email)), id)
}

// partyEntry is one party index entry (its value is empty).
type partyEntry struct{ bucket, key []byte }

// partyEntries returns the party index entries of c.
func (db *DB) partyEntries(c *casebot.Case) []partyEntry {
	var out []partyEntry
	for _, p := range c.Parties {
		if p.Email != "" {
			out = append(out, partyEntry{bucketIdxEmail, db.emailIndexKey(p.Email, c.ID)})
		}
		name := casebot.NormalizeName(p.Name)
		if name == "" {
			continue
		}
		if db.hashedTerms() {
			for _, pre := range namePrefixes(name) {
				out = append(out, partyEntry{bucketIdxName, keyOf(db.partyTerm("name", pre), c.ID)})
			}
			for _, w := range strings.Fields(name) {
				out = append(out, partyEntry{bucketIdxWord, keyOf(db.partyTerm("word", w), c.ID)})
			}
			continue
		}
		out = append(out, partyEntry{bucketIdxName, keyOf(name, c.ID)})
		for _, w := range strings.Fields(name) {
			out = append(out, partyEntry{bucketIdxWord, keyOf(w, c.ID, name)})
		}
	}
	return out
}

// namePrefixes returns name's prefixes of 1 to namePrefixRunes characters.
func namePrefixes(name string) []string {
	var out []string
	n := 0
	for i := range name {
		if i > 0 {
			out = append(out, name[:i])
		}
		if n++; n > namePrefixRunes {
			return out
		}
	}
	return append(out, name)
}

// namePrefixQuery returns the idx_name term a name query looks up.
func namePrefixQuery(name string) string {
	n := 0
	for i := range name {
		if n == namePrefixRunes {
			return name[:i]
		}
		n++
	}
	return name
}

// partyCandidates returns the IDs of the cases whose party indexes match
// the normalised email or name query (words are the name's words); their
// parties decide (partyMatches).
func (db *DB) partyCandidates(tx kv.Tx, byEmail, byName string, words []string) map[string]bool {
	ids := map[string]bool{}
	scan := func(bucket []byte, prefix []byte) {
		c := tx.Bucket(bucket).Cursor()
		for k, _ := c.Seek(prefix); hasPrefix(k, prefix); k, _ = c.Next() {
			rest := k[len(prefix):]
			if i := strings.IndexByte(string(rest), sep); i >= 0 {
				rest = rest[:i]
			}
			ids[string(rest)] = true
		}
	}
	if byEmail != "" {
		scan(bucketIdxEmail, prefixOf(db.partyTerm("email", byEmail)))
		return ids
	}
	// Scan the entries of the longest (likely rarest) word: names holding
	// every word of the query hold it.
	rare := slices.MaxFunc(words, func(a, b string) int { return len(a) - len(b) })
	scan(bucketIdxWord, prefixOf(db.partyTerm("word", rare)))
	if db.hashedTerms() {
		scan(bucketIdxName, prefixOf(db.partyTerm("name", namePrefixQuery(byName))))
		return ids
	}
	// Plain names: every name starting with the query.
	c := tx.Bucket(bucketIdxName).Cursor()
	p := []byte(byName)
	for k, _ := c.Seek(p); hasPrefix(k, p); k, _ = c.Next() {
		if i := strings.IndexByte(string(k), sep); i > 0 {
			ids[string(k[i+1:])] = true
		}
	}
	return ids
}

// partyMatches reports whether party p answers the normalised query: the
// same address, or a name equal to or starting with the query or holding
// every word of it.
func partyMatches(p casebot.Party, byEmail, byName string, words []string) bool {
	if byEmail != "" {
		return strings.EqualFold(p.Email, byEmail)
	}
	name := casebot.NormalizeName(p.Name)
	return name != "" && (strings.HasPrefix(name, byName) || allWords(name, words))
}
