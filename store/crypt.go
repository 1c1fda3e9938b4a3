package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// Sealed value versions: the first byte of every sealed value.
const (
	sealPlain  = 0 // no key: the plaintext follows
	sealAESGCM = 1 // AES-256-GCM under the master key: 12-byte nonce, then ciphertext and tag
	// sealCaseGCM is AES-256-GCM under the data key of the record's case
	// (keyring.go), laid out as sealAESGCM. Content sealed before case keys
	// existed stays sealAESGCM and readable.
	sealCaseGCM = 2
)

// errNoKey is returned when an encrypted value is read without a key.
var errNoKey = errors.New("value is encrypted and no key is set")

// sealer encrypts values at rest when it has a key and passes them through,
// marked plain, when it has none. The record's bucket key is the additional
// data, so a sealed value cannot be moved to another record unnoticed.
type sealer struct {
	aead cipher.AEAD
	// version is the first byte of what seal writes: sealAESGCM for the
	// master key, sealCaseGCM for a case data key.
	version byte
}

func newSealer(key []byte) (*sealer, error) {
	if key == nil {
		return &sealer{}, nil
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("store: encryption key is %d bytes; AES-256 needs exactly 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("store: encryption key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("store: encryption key: %w", err)
	}
	return &sealer{aead: aead, version: sealAESGCM}, nil
}

func (s *sealer) encrypted() bool { return s.aead != nil }

// seal returns plain encrypted under the record key ad, or marked plain
// when there is no key.
func (s *sealer) seal(ad, plain []byte) []byte {
	if s.aead == nil {
		out := make([]byte, 1+len(plain))
		out[0] = sealPlain
		copy(out[1:], plain)
		return out
	}
	ns := s.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plain)+s.aead.Overhead())
	out[0] = s.version
	if _, err := rand.Read(out[1 : 1+ns]); err != nil {
		panic("store: crypto/rand failed: " + err.Error()) // rand.Read never fails on supported platforms
	}
	return s.aead.Seal(out, out[1:1+ns], plain, ad)
}

// sealedSize is the size of a sealed value of n plaintext bytes.
func (s *sealer) sealedSize(n int) int {
	if s.aead == nil {
		return 1 + n
	}
	return 1 + s.aead.NonceSize() + n + s.aead.Overhead()
}

// appendSeal appends the sealed form of plain (as seal returns it) to dst.
func (s *sealer) appendSeal(dst, ad, plain []byte) []byte {
	if s.aead == nil {
		dst = append(dst, sealPlain)
		return append(dst, plain...)
	}
	ns := s.aead.NonceSize()
	start := len(dst)
	dst = append(dst, s.version)
	dst = append(dst, make([]byte, ns)...)
	nonce := dst[start+1 : start+1+ns]
	if _, err := rand.Read(nonce); err != nil {
		panic("store: crypto/rand failed: " + err.Error()) // rand.Read never fails on supported platforms
	}
	return s.aead.Seal(dst, nonce, plain, ad)
}

// open reverses seal. It fails for a tampered value, a wrong key, or an
// encrypted value without a key.
func (s *sealer) open(ad, sealed []byte) ([]byte, error) {
	if len(sealed) == 0 {
		return nil, errors.New("empty sealed value")
	}
	switch sealed[0] {
	case sealPlain:
		return append([]byte(nil), sealed[1:]...), nil
	case sealAESGCM, sealCaseGCM:
		if s.aead == nil {
			return nil, errNoKey
		}
		if sealed[0] != s.version {
			return nil, fmt.Errorf("value is sealed under another key (version %d)", sealed[0])
		}
		ns := s.aead.NonceSize()
		if len(sealed) < 1+ns+s.aead.Overhead() {
			return nil, errors.New("sealed value too short")
		}
		plain, err := s.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], ad)
		if err != nil {
			return nil, fmt.Errorf("decrypt: %w", err)
		}
		return plain, nil
	default:
		return nil, fmt.Errorf("unknown sealed value version %d", sealed[0])
	}
}
