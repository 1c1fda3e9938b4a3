package mail

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/mail"
	"regexp"
	"strings"

	"github.com/casebot/casebot"
)

// Addressing is casebot's mailbox (smtp.from) and the per-case plus
// addresses derived from it (SPEC §6): cases+med-2026-0042.k3x9q2@practice.example.
type Addressing struct {
	Name   string // display name of smtp.from
	Local  string // "cases"
	Domain string // "practice.example"
}

// NewAddressing reads smtp.from ("Mediation Office <cases@practice.example>").
// It returns an error when from is not one address.
func NewAddressing(from string) (Addressing, error) {
	a, err := mail.ParseAddress(from)
	if err != nil {
		return Addressing{}, fmt.Errorf("mail: smtp.from %q: %w", from, err)
	}
	at := strings.LastIndexByte(a.Address, '@')
	if at <= 0 {
		return Addressing{}, fmt.Errorf("mail: smtp.from %q has no domain", from)
	}
	return Addressing{Name: cleanHeader(a.Name), Local: a.Address[:at], Domain: strings.ToLower(a.Address[at+1:])}, nil
}

// From returns the bare from address.
func (a Addressing) From() string { return a.Local + "@" + a.Domain }

// ReplyTo returns the case's plus address, carrying its ID and secret token.
func (a Addressing) ReplyTo(c *casebot.Case) string {
	return a.Local + "+" + strings.ToLower(c.ID) + "." + c.Token + "@" + a.Domain
}

// plus returns the case ID and token of a plus address of ours.
func (a Addressing) plus(addr string) (id, token string, ok bool) {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || !strings.EqualFold(addr[at+1:], a.Domain) {
		return "", "", false
	}
	base, rest, found := strings.Cut(addr[:at], "+")
	if !found || !strings.EqualFold(base, a.Local) {
		return "", "", false
	}
	dot := strings.LastIndexByte(rest, '.')
	if dot <= 0 {
		return "", "", false
	}
	id, err := casebot.NormalizeCaseID(rest[:dot])
	if err != nil {
		return "", "", false
	}
	return id, strings.ToLower(rest[dot+1:]), true
}

// Lookup is what matching reads from the store.
type Lookup interface {
	// Case returns a case or an ENOTFOUND error.
	Case(ctx context.Context, id string) (*casebot.Case, error)
	// CaseForMessageID returns the case of an email casebot sent, or ENOTFOUND.
	CaseForMessageID(ctx context.Context, messageID string) (string, error)
}

// Match routes.
const (
	ByToken   = "token"   // the plus address and its secret token
	ByThread  = "thread"  // In-Reply-To / References naming mail casebot sent
	BySubject = "subject" // a [MED-2026-0042] subject tag
)

var subjectTag = regexp.MustCompile(`\[([A-Za-z][A-Za-z0-9]{0,9}-\d{4}-\d{4,})\]`)

// Match finds the case a message belongs to, in the order of SPEC §6: the
// plus address token (To, Cc, Delivered-To; a wrong token is ignored), then
// In-Reply-To and References naming a Message-ID casebot sent, then a
// [<ID>] subject tag. It returns the case and the route, (nil, "", nil)
// when nothing matches, or an error when the store fails. Whether the sender
// may add to the case is not its concern.
func (a Addressing) Match(ctx context.Context, lk Lookup, m *Message) (*casebot.Case, string, error) {
	get := func(id string) (*casebot.Case, error) {
		c, err := lk.Case(ctx, id)
		if casebot.ErrorCode(err) == casebot.ENOTFOUND {
			return nil, nil
		}
		return c, err
	}
	for _, list := range [][]string{m.To, m.Cc, m.DeliveredTo} {
		for _, addr := range list {
			id, token, ok := a.plus(addr)
			if !ok {
				continue
			}
			c, err := get(id)
			if err != nil {
				return nil, "", err
			}
			if c != nil && c.Token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(c.Token)) == 1 {
				return c, ByToken, nil
			}
		}
	}
	refs := append(append([]string(nil), m.InReplyTo...), reversed(m.References)...)
	for _, ref := range refs {
		id, err := lk.CaseForMessageID(ctx, ref)
		if casebot.ErrorCode(err) == casebot.ENOTFOUND {
			continue
		} else if err != nil {
			return nil, "", err
		}
		c, err := get(id)
		if err != nil {
			return nil, "", err
		}
		if c != nil {
			return c, ByThread, nil
		}
	}
	for _, tag := range subjectTags(m.Subject) {
		id, err := casebot.NormalizeCaseID(tag)
		if err != nil {
			continue
		}
		c, err := get(id)
		if err != nil {
			return nil, "", err
		}
		if c != nil {
			return c, BySubject, nil
		}
	}
	return nil, "", nil
}

// subjectTags returns the IDs of the [<ID>] tags in a subject, as
// subjectTag finds them (leftmost first, not overlapping), without the
// regexp's cost: a letter, up to nine letters or digits, "-", four
// digits, "-", four or more digits, between brackets.
func subjectTags(s string) []string {
	var out []string
	for i := 0; i < len(s); i++ {
		if s[i] != '[' {
			continue
		}
		if end := tagEnd(s, i+1); end > 0 {
			out = append(out, s[i+1:end])
			i = end
		}
	}
	return out
}

// tagEnd returns the index of the "]" closing a case ID that starts at
// i, or -1.
func tagEnd(s string, i int) int {
	isAlpha := func(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }
	isDigit := func(c byte) bool { return '0' <= c && c <= '9' }
	digits := func(j int) int {
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		return j
	}
	if i >= len(s) || !isAlpha(s[i]) {
		return -1
	}
	j := i + 1
	for j < len(s) && j-i <= 9 && (isAlpha(s[j]) || isDigit(s[j])) {
		j++
	}
	if j >= len(s) || s[j] != '-' {
		return -1
	}
	k := digits(j + 1)
	if k-(j+1) != 4 || k >= len(s) || s[k] != '-' {
		return -1
	}
	e := digits(k + 1)
	if e-(k+1) < 4 || e >= len(s) || s[e] != ']' {
		return -1
	}
	return e
}

// reversed returns References newest first: the last one is the message
// replied to.
func reversed(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

// cleanHeader removes CR, LF and other control characters from a value
// that goes into a header, so no header can be injected.
func cleanHeader(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
