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
	for _, sm := range subjectTag.FindAllStringSubmatch(m.Subject, -1) {
		id, err := casebot.NormalizeCaseID(sm[1])
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
