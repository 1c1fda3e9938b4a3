package store

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"sync"
)

// Index terms. With an encryption key an index that looks things up by
// what they say (a party's address or name, a word of a note) must not
// spell it: its keys are keyed hashes of the terms. termKey is the one
// place they are made: HMAC-SHA-256 of the term under a key of the index's
// own domain, derived from the master key with HKDF (extracted once at
// Open, expanded per domain with the info "casebot <domain> v1"), so the
// hashes of one index say nothing about another's. A lookup hashes its
// normalised query the same way. Without a key the term is the key, as
// before, so plain stores keep their layout.

// termHashLen is the length of a hashed index term.
const termHashLen = sha256.Size

// indexTerms derives the per-domain index keys; nil without a key.
type indexTerms struct {
	prk  []byte // HKDF-Extract of the master key
	mu   sync.Mutex
	keys map[string][]byte // domain -> derived key
}

func newIndexTerms(master []byte) (*indexTerms, error) {
	if master == nil {
		return nil, nil
	}
	prk, err := hkdf.Extract(sha256.New, master, []byte("casebot index terms"))
	if err != nil {
		return nil, fmt.Errorf("store: derive index key: %w", err)
	}
	return &indexTerms{prk: prk, keys: map[string][]byte{}}, nil
}

func (t *indexTerms) key(domain string) []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	k, ok := t.keys[domain]
	if !ok {
		var err error
		k, err = hkdf.Expand(sha256.New, t.prk, "casebot "+domain+" v1", 32)
		if err != nil {
			panic("store: hkdf: " + err.Error()) // only for lengths over 255*32
		}
		t.keys[domain] = k
	}
	return k
}

// termKey returns the index key of term in the index domain (e.g. "party
// index"): its HMAC under the domain's key with an encryption key, the
// term itself without.
func (db *DB) termKey(domain string, term string) []byte {
	if db.terms == nil {
		return []byte(term)
	}
	m := hmac.New(sha256.New, db.terms.key(domain))
	m.Write([]byte(term))
	return m.Sum(nil)
}

// hashedTerms reports whether index terms are hashed (an encryption key is set).
func (db *DB) hashedTerms() bool { return db.terms != nil }
