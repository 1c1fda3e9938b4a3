package bot

import (
	"fmt"
	"strings"
)

// Usage lines: each command's usage line names its words, arguments and
// options; parseUsage reads it once into the spec that drives the parser
// and the help.

// kind is what a placeholder in a usage line accepts.
type kind int

// greedy kinds take as many words as the arguments after them leave.
func (k kind) greedy() bool { return k >= kTitle }

// placeholders maps the words inside <...> or [...] of a usage line to what
// they accept. A placeholder not listed here and containing | is a choice.
var placeholders = map[string]kind{
	"ID":            kID,
	"when":          kWhen,
	"duration":      kDuration,
	"role":          kRole,
	"status":        kStatus,
	"outcome":       kOutcome,
	"email":         kEmail,
	"USER":          kUser,
	"USER|auto":     kUserOrAuto,
	"deadline#":     kNumber,
	"mail#":         kNumber,
	"doc#":          kNumber,
	"session#":      kNumber,
	"n":             kNumber,
	"title":         kTitle,
	"name":          kName,
	"text":          kText,
	"what":          kText,
	"words":         kText,
	"name or email": kQuery,
	"command":       kQuery,
	"+USER|-USER":   kCoUser,
	"offer#":        kNumber,
	"item#":         kNumber,
	"slot#":         kNumber,
	"terms":         kText,
	"template":      kWord,
	"when…":         kWhens,
	"page N":        kPage,
	"from":          kPeriod,
	"to":            kPeriod,
}

// flagKinds says what each option accepts; an option not listed is a switch
// when its usage names no value, else free text (one word; quote several).
var flagKinds = map[string]kind{
	"priority": kWord, // checked by ParsePriority
	"mediator": kUser,
	"to":       kRole,
}

// param is one positional argument of a usage line.
type param struct {
	name     string // as written in the usage, without brackets
	kind     kind
	optional bool
	choices  []string
}

// flagSpec is one option of a usage line.
type flagSpec struct {
	name  string // without the dashes
	value string // "" for a switch
}

// spec is a usage line read once when the command is registered.
type spec struct {
	words  []string // the command words, e.g. ["party", "add"]
	params []param
	flags  []flagSpec
}

// parseUsage reads a usage line such as
// "session <ID> <when> <duration> <title> [--where W]".
func parseUsage(usage string) (spec, error) {
	var sp spec
	rest := usage
	for rest != "" {
		rest = strings.TrimLeft(rest, " ")
		if rest == "" {
			break
		}
		switch rest[0] {
		case '<', '[':
			closer := ">"
			if rest[0] == '[' {
				closer = "]"
			}
			end := closing(rest)
			if end < 0 {
				return sp, fmt.Errorf("bot: usage %q: unclosed %c", usage, rest[0])
			}
			inner := rest[1:end]
			rest = rest[end+1:]
			if strings.HasPrefix(inner, "--") {
				name, value, _ := strings.Cut(inner[2:], " ")
				sp.flags = append(sp.flags, flagSpec{name: name, value: value})
				continue
			}
			p := param{name: inner, optional: closer == "]"}
			if k, ok := placeholders[inner]; ok {
				p.kind = k
			} else if strings.Contains(inner, "|") {
				p.kind = kWord
				p.choices = strings.Split(inner, "|")
			} else {
				return sp, fmt.Errorf("bot: usage %q: unknown placeholder %q", usage, inner)
			}
			sp.params = append(sp.params, p)
		default:
			w, r, _ := strings.Cut(rest, " ")
			if len(sp.flags) > 0 {
				return sp, fmt.Errorf("bot: usage %q: word %q after options", usage, w)
			}
			if len(sp.params) > 0 {
				sp.params = append(sp.params, param{name: w, kind: kLiteral})
			} else {
				sp.words = append(sp.words, w)
			}
			rest = r
		}
	}
	if len(sp.words) == 0 {
		return sp, fmt.Errorf("bot: usage %q: no command word", usage)
	}
	return sp, nil
}

// closing returns the index of the bracket that closes the one s starts
// with, counting brackets of its kind nested inside ("[--attach
// DOC#[,DOC#…]]"), or -1.
func closing(s string) int {
	open, close := s[0], byte('>')
	if open == '[' {
		close = ']'
	}
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case open:
			depth++
		case close:
			if depth--; depth == 0 {
				return i
			}
		}
	}
	return -1
}

const (
	kWord     kind = iota // one word from a fixed list, or any word
	kID                   // a case ID
	kWhen                 // a time in the future; a date may be followed by HH:MM
	kDuration             // a positive duration
	kRole
	kStatus  // an open status (closing goes through close)
	kOutcome // a closed status
	kEmail
	kUser
	kUserOrAuto
	kNumber  // a positive whole number
	kPage    // the words "page N": a page number
	kPeriod  // a month (2026-01) or a date (2026-01-15), kept as typed
	kLiteral // a word of the usage after its arguments (session <ID> poll ...)
	kCoUser  // +USER or -USER: a co-mediator to add or remove
	kTitle   // free text, at most MaxTitleLen characters
	kName    // free text, a person's name
	kText    // free text, at most MaxTextLen characters
	kQuery   // free text, a name or an email
	kWhens   // free text read as several times (poll)
)
