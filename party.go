package casebot

import (
	"net/mail"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Role is a party's part in a case.
type Role string

// Party roles.
const (
	RoleClaimant    Role = "claimant"
	RoleRespondent  Role = "respondent"
	RoleCounsel     Role = "counsel"
	RoleInterpreter Role = "interpreter"
	RoleObserver    Role = "observer"
	RoleOther       Role = "other"
)

// Roles lists every party role.
var Roles = []Role{RoleClaimant, RoleRespondent, RoleCounsel, RoleInterpreter, RoleObserver, RoleOther}

// ParseRole returns the role named s or an EINVALID error.
func ParseRole(s string) (Role, error) { return parseEnum("role", s, Roles) }

// Party is a person in a case. Parties receive case email.
type Party struct {
	Role  Role
	Name  string
	Email string // normalised with NormalizeEmail
	// Bouncing is set when mail to the address bounced; no mail goes to it until cleared.
	Bouncing bool
	Added    time.Time
}

// Validate checks a party's role, name and email.
func (p *Party) Validate() error {
	if _, err := ParseRole(string(p.Role)); err != nil {
		return err
	}
	if strings.TrimSpace(p.Name) == "" {
		return Errorf(EINVALID, "A party needs a name.")
	}
	if err := CheckLength("name", p.Name, MaxNameLen); err != nil {
		return err
	}
	if _, err := NormalizeEmail(p.Email); err != nil {
		return err
	}
	return nil
}

var emailLocal = regexp.MustCompile(`^[A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+$`)

var emailDomain = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$`)

// NormalizeEmail returns the address lower-cased and trimmed, or an EINVALID
// error when it is not a plain addr-spec (no display name, no spaces).
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	bad := Errorf(EINVALID, "%q is not a valid email address.", s)
	if len(s) > 254 || strings.ContainsAny(s, " \t\r\n<>\"") {
		return "", bad
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return "", bad
	}
	local, domain := s[:at], s[at+1:]
	if len(local) > 64 || !emailLocal.MatchString(local) || strings.HasPrefix(local, ".") ||
		strings.HasSuffix(local, ".") || strings.Contains(local, "..") || !emailDomain.MatchString(domain) {
		return "", bad
	}
	if a, err := mail.ParseAddress(s); err != nil || a.Address != s {
		return "", bad
	}
	return strings.ToLower(s), nil
}

// NormalizeName folds a person's name for conflict checks: lower case,
// punctuation dropped, words sorted, so "Smith, John" matches "John Smith".
func NormalizeName(s string) string {
	f := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r == '\'' || r == '-' || isLetterOrDigit(r))
	})
	sort.Strings(f)
	return strings.Join(f, " ")
}

func isLetterOrDigit(r rune) bool {
	return r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r > 127 && !isSpaceOrPunct(r)
}

func isSpaceOrPunct(r rune) bool {
	return strings.ContainsRune(" \u00a0\u2000\u2001\u2002\u2003\u2009\u200b.,;:!?()[]{}\"«»“”‘’", r)
}

// PartyMatch is one appearance of a person in a case, for conflict checks.
type PartyMatch struct {
	CaseID   string
	Mediator string
	// CoMediators of the case, who count as its mediators in a conflict check.
	CoMediators []string `json:",omitempty"`
	Status      Status
	Title       string
	Party       Party
}
