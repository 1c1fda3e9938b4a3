package mail

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// Quote headers that introduce quoted history, by client language. They
// are matched against up to three joined lines, since Gmail wraps long
// "On … wrote:" lines.
var quoteHeaders = []*regexp.Regexp{
	regexp.MustCompile(`(?i)^On\s.+\swrote\s?:$`),        // Gmail, Apple Mail, Thunderbird, Outlook for Mac
	regexp.MustCompile(`(?i)^Le\s.+\sa\s+écrit\s?:$`),    // French
	regexp.MustCompile(`(?i)^Am\s.+\sschrieb(\s.*)?:$`),  // German
	regexp.MustCompile(`(?i)^El\s.+\sescribió\s?:$`),     // Spanish
	regexp.MustCompile(`(?i)^Il\s.+\sha\s+scritto\s?:$`), // Italian
	regexp.MustCompile(`(?i)^Em\s.+\sescreveu\s?:$`),     // Portuguese
	regexp.MustCompile(`(?i)^Op\s.+\sschreef(\s.*)?:$`),  // Dutch
	regexp.MustCompile(`(?i)^.*@.*\s(wrote|writes|a écrit|schrieb|escribió|ha scritto|escreveu|schreef|skrev|napisał|написал|написала)\s?:$`), // any language, with an address
	regexp.MustCompile(`^.*(写道|寫道)\s?[:：]$`), // Chinese clients
}

// addrColon is a line that names an address and ends in a colon, as Gmail
// writes its quote header in languages without a "wrote" verb (Russian,
// Japanese): it counts as a quote header when quoted lines follow.
var addrColon = regexp.MustCompile(`^.*<?[^\s<>@]+@[^\s<>@]+>?\s?[:：]$`)

// Outlook's separator line, in several languages; Thunderbird uses the same
// shape with eight dashes.
var originalMessage = regexp.MustCompile(`(?i)^-{2,}\s*(original message|ursprüngliche nachricht|message d'origine|mensaje original|messaggio originale|mensagem original|oorspronkelijk bericht)\s*-{2,}$`)

// The header block Outlook puts above quoted history.
var (
	fromField = regexp.MustCompile(`(?i)^\*?(from|von|de|da|van|fra|от)\s?:\*?\s*\S`)
	sentField = regexp.MustCompile(`(?i)^\*?(sent|date|gesendet|datum|envoyé|enviado|enviada|inviato|data|verzonden|sendt|отправлено)\s?:`)
	toField   = regexp.MustCompile(`(?i)^\*?(to|an|à|a|para|aan|til|subject|betreff|objet|asunto|oggetto|assunto|onderwerp|emne|кому|тема)\s?:`)
)

// Markers that start forwarded mail: what follows is content, not history.
var forwardMarkers = regexp.MustCompile(`(?i)^(-{5,}\s*forwarded message\s*-{5,}|begin forwarded message:|-{5,}\s*forwarded message\s*-{5,}|-{5,}\s*weitergeleitete nachricht\s*-{5,}|-{5,}\s*message transféré\s*-{5,}|-{5,}\s*mensaje reenviado\s*-{5,})$`)

// Signature starts: the "-- " delimiter and what phones and apps append.
var signatureLine = regexp.MustCompile(`(?i)^(--|sent from my \S.{0,40}|sent from (mail|outlook|yahoo mail|gmail|samsung mobile|proton mail|aol mobile mail)( for \S+)?( on \S+)?|get outlook for (ios|android)|sent from outlook for (ios|android)|sent with proton mail.{0,40}|envoyé de mon \S.{0,30}|von meinem \S.{0,30} gesendet|gesendet von meinem \S.{0,30}|enviado desde mi \S.{0,30}|inviato da(l mio)? \S.{0,30}|enviado do meu \S.{0,30}|sent via \S.{0,40}|sent from samsung .{0,40}|sent on the go.{0,30})\.?$`)

// The regexps above are costly to try on every line; these byte tests
// reject, exactly, the lines that cannot match them.

// mayForward reports whether t could match forwardMarkers, which start
// with a dash or "begin".
func mayForward(t string) bool {
	return t != "" && (t[0] == '-' || t[0]|0x20 == 'b' || t[0] >= utf8.RuneSelf)
}

// isSignature reports whether t matches signatureLine. Every alternative
// starts with "--" or s, g, e, v or i in either case (non-ASCII first
// bytes, which case folding may map to those letters, go to the regexp).
func isSignature(t string) bool {
	if t == "" {
		return false
	}
	switch c := t[0]; {
	case c >= utf8.RuneSelf, c == '-':
	case c|0x20 == 's', c|0x20 == 'g', c|0x20 == 'e', c|0x20 == 'v', c|0x20 == 'i':
	default:
		return false
	}
	return signatureLine.MatchString(t)
}

// colonWithin reports whether s has an ASCII colon at byte index n or
// before.
func colonWithin(s string, n int) bool {
	i := strings.IndexByte(s, ':')
	return i >= 0 && i <= n
}

// hasColon reports whether s holds an ASCII colon, which every Outlook
// header field regexp requires.
func hasColon(s string) bool { return strings.IndexByte(s, ':') >= 0 }

// ExtractReply returns the new text of a reply: quoted history ("On …
// wrote:" in several languages, Outlook's "-----Original Message-----" and
// From:/Sent: blocks, ">" quotes) and the signature ("-- ", "Sent from my
// iPhone" and the like) removed. Interleaved replies keep their new lines.
// Forwarded mail after a forward marker is kept. Every line of the result
// is a line (or a right-trimmed line) of text; when nothing would be left,
// the whole text is returned trimmed, so a note is never silently empty.
func ExtractReply(text string) string {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\r")
	}
	// Forwarded content is kept verbatim.
	var tail []string
	for i, l := range lines {
		if t := strings.TrimSpace(l); mayForward(t) && forwardMarkers.MatchString(t) {
			tail = lines[i:]
			lines = lines[:i]
			break
		}
	}
	drop := make([]bool, len(lines))
	cut := len(lines)
scan:
	for i := 0; i < len(lines); i++ {
		t := strings.TrimSpace(lines[i])
		switch {
		case t == "":
			continue
		case strings.HasPrefix(t, "--") && originalMessage.MatchString(t) || outlookBlock(lines, i):
			cut = i
			break scan
		case isUnderscores(t) && i+1 < len(lines) && outlookBlock(lines, nextNonBlank(lines, i+1)):
			cut = i
			break scan
		}
		if n := quoteHeader(lines, i); n > 0 {
			if interleaved(lines[i+n:]) {
				for j := i; j < i+n; j++ {
					drop[j] = true
				}
				i += n - 1
				continue
			}
			cut = i
			break
		}
	}
	var kept []string
	for i := 0; i < cut; i++ {
		if drop[i] || isQuoted(lines[i]) {
			continue
		}
		if isSignature(strings.TrimSpace(lines[i])) {
			break
		}
		kept = append(kept, lines[i])
	}
	out := tidy(append(kept, tail...))
	if out == "" {
		return strings.TrimSpace(strings.Join(append(lines, tail...), "\n"))
	}
	return out
}

// quoteHeader returns how many lines (1–3) starting at i form an
// "On … wrote:" header, or 0.
func quoteHeader(lines []string, i int) int {
	size := -1 // len(joined) so far; joined is built only when tried
	for n := 1; n <= 3 && i+n <= len(lines); n++ {
		l := strings.TrimSpace(strings.TrimLeft(lines[i+n-1], ">"))
		if l == "" {
			return 0
		}
		if size += 1 + len(l); size > 500 {
			return 0
		}
		// Every header ends in a colon; most lines do not, so skip the regexps.
		if !strings.HasSuffix(l, ":") && !strings.HasSuffix(l, "：") {
			continue
		}
		joined := l
		if n > 1 {
			parts := make([]string, n)
			for k := range n {
				parts[k] = strings.TrimSpace(strings.TrimLeft(lines[i+k], ">"))
			}
			joined = strings.Join(parts, " ")
		}
		// quoteHeaders[0], the English header most mail carries, is
		// matched by hand (wroteEN); the rest by their regexps.
		if wroteEN(joined) {
			return n
		}
		for _, re := range quoteHeaders[1:] {
			if re.MatchString(joined) {
				return n
			}
		}
		if addrColon.MatchString(joined) {
			if j := nextNonBlank(lines, i+n); j < len(lines) && isQuoted(lines[j]) {
				return n
			}
		}
	}
	return 0
}

// wroteEN reports whether s matches quoteHeaders[0],
// (?i)^On\s.+\swrote\s?:$, without running the regexp: "On", a white
// space, at least one character, a white space, "wrote", at most one white
// space, a colon; "." refuses only a newline. (No letter of "on" or
// "wrote" has a case fold outside ASCII.)
func wroteEN(s string) bool {
	if len(s) < 11 || !strings.EqualFold(s[:2], "on") || !isSpaceRE(s[2]) || s[len(s)-1] != ':' {
		return false
	}
	core := s[:len(s)-1]
	if isSpaceRE(core[len(core)-1]) {
		core = core[:len(core)-1]
	}
	w := len(core) - len("wrote")
	// The white space before "wrote" sits after "On", its space and at
	// least one character.
	return w-1 >= 4 && strings.EqualFold(core[w:], "wrote") && isSpaceRE(core[w-1]) && strings.IndexByte(core[3:w-1], '\n') < 0
}

// isSpaceRE reports whether c is in the regexp class \s: [\t\n\f\r ].
func isSpaceRE(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

// outlookBlock reports whether a From: line at i is followed, within a few
// lines, by a Sent:/Date: line and a To:/Subject: line.
func outlookBlock(lines []string, i int) bool {
	if i >= len(lines) {
		return false
	}
	// fromField puts its colon within the first 6 bytes ("*from :").
	if t := strings.TrimSpace(lines[i]); !colonWithin(t, 6) || !fromField.MatchString(t) {
		return false
	}
	sent, to := false, false
	for j := i + 1; j < len(lines) && j <= i+6; j++ {
		t := strings.TrimSpace(lines[j])
		switch {
		case !hasColon(t):
		case sentField.MatchString(t):
			sent = true
		case toField.MatchString(t):
			to = true
		}
	}
	return sent && to
}

func nextNonBlank(lines []string, i int) int {
	for i < len(lines) && strings.TrimSpace(lines[i]) == "" {
		i++
	}
	return i
}

func isUnderscores(t string) bool {
	return len(t) >= 10 && strings.Trim(t, "_") == ""
}

func isQuoted(l string) bool { return strings.HasPrefix(strings.TrimLeft(l, " "), ">") }

// interleaved reports whether rest (what follows a quote header) holds new
// text between quoted lines: a quote, then a line of the writer's own
// before any signature.
func interleaved(rest []string) bool {
	seenQuote := false
	for _, l := range rest {
		t := strings.TrimSpace(l)
		switch {
		case t == "":
		case isQuoted(l):
			seenQuote = true
		case isSignature(t):
			return false
		case !seenQuote:
			// Unquoted history (as Outlook and forwarding clients write it).
			return false
		default:
			return true
		}
	}
	return false
}

// tidy drops leading and trailing blank lines and collapses runs of blank
// lines into one.
func tidy(lines []string) string {
	out := make([]string, 0, len(lines))
	blank := false
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			blank = len(out) > 0
			continue
		}
		if blank {
			out = append(out, "")
			blank = false
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}
