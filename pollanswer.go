package casebot

import (
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// PollAnswer is a party's reply read as an answer to a poll of n slots.
type PollAnswer struct {
	// OK is set when the reply reads as an answer; Slots are then the slot
	// numbers that suit, ascending (empty: none does).
	OK    bool
	Slots []int
	// OutOfRange lists numbers the reply names that the poll has no slot
	// for ("7" of a 3-slot poll); the answer is then not OK: the mediator
	// is told rather than a guess stored.
	OutOfRange []int
}

// Words casebot reads in poll answers, in the languages whose replies it
// reads (English, German, French, Spanish).
var (
	pollAll = wordSet("all", "every", "everything", "any", "alle", "allen", "alles", "jeder", "jede", "tous", "toutes", "tout",
		"todos", "todas", "todo", "cualquiera")
	pollNone = wordSet("none", "no", "neither", "nothing", "keine", "keiner", "keins", "kein", "nichts", "aucun", "aucune", "rien",
		"ninguno", "ninguna", "ningún", "ningun", "nada")
	pollBut = wordSet("but", "except", "excluding", "without", "ausser", "außer", "ohne", "bis", "sauf", "excepté", "excepte", "hormis",
		"sans", "excepto", "menos", "salvo", "sin")
	pollAnd = wordSet("and", "or", "und", "oder", "sowie", "et", "ou", "y", "e", "o", "u")
	// pollFiller are words an answer may carry around its numbers
	// ("1 and 3 work for me", "Termine 2 und 3 passen").
	pollFiller = wordSet("i", "can", "could", "do", "make", "work", "works", "suit", "suits", "me", "for", "fine", "ok", "okay",
		"are", "is", "good", "great", "option", "options", "slot", "slots", "time", "times", "number", "numbers", "nr", "no.",
		"the", "of", "them", "both", "available", "am", "yes", "dates", "date", "thanks", "thank", "you",
		"only", "just", "now", "actually", "instead", "sorry", "please", "then", "after", "hi", "hello", "dear", "best", "regards",
		"nur", "doch", "jetzt", "lieber", "seulement", "finalement", "plutôt", "solo", "sólo", "ahora", "mejor",
		"ich", "kann", "könnte", "passt", "passen", "mir", "gut", "geht", "gehen", "termin", "termine", "nummer", "nummern", "die", "der",
		"ja", "danke", "beide", "möglich",
		"je", "peux", "pourrais", "conviennent", "convient", "me", "moi", "pour", "les", "le", "la", "créneau", "créneaux", "option",
		"numéro", "numéros", "oui", "merci", "possible", "possibles", "ça", "va", "vont", "sont", "est",
		"puedo", "podría", "van", "bien", "opción", "opciones", "número", "números", "para", "mí", "mi", "sí", "si", "gracias",
		"las", "los", "el", "ambas", "ambos", "horario", "horarios")
)

func wordSet(ws ...string) map[string]bool {
	m := make(map[string]bool, len(ws))
	for _, w := range ws {
		m[w] = true
	}
	return m
}

// answerLines is how many of a reply's first non-blank lines are tried.
const answerLines = 4

// ParsePollAnswer reads text, the new text of a party's reply (quoted
// history already removed), as an answer to a poll of n slots: "1, 3",
// "1 and 3", "1 & 3", "2", "1-3", "all", "none", "all but 2", and the same
// in German, French and Spanish ("alle außer 2", "aucun", "1 y 3"). It
// reads the first line of the first few that consists only of numbers,
// those words and a few fillers ("1 and 3 work for me"), and says so
// when none does. It is pure and never panics.
func ParsePollAnswer(text string, n int) PollAnswer {
	lines := 0
	for rest := text; rest != "" && lines < answerLines; {
		line, tail, _ := strings.Cut(rest, "\n")
		rest = tail
		if strings.TrimSpace(line) == "" {
			continue
		}
		lines++
		if a, ok := parseAnswerLine(line, n); ok {
			return a
		}
	}
	return PollAnswer{}
}

// parseAnswerLine reads one line; ok is false when it is not an answer.
func parseAnswerLine(line string, n int) (PollAnswer, bool) {
	if len(line) > 200 {
		return PollAnswer{}, false
	}
	toks := answerTokens(line)
	var nums []int
	all, none, but := false, false, false
	var except []int
	meaning := false
	for i, t := range toks {
		switch {
		case t == "all" && i > 0 && (toks[i-1] == "after" || toks[i-1] == "at"):
			// "after all", "at all": not the slots
		case t == "&" || t == "+" || pollAnd[t]:
		case pollAll[t]:
			if but || none {
				return PollAnswer{}, false
			}
			all, meaning = true, true
		case pollNone[t]:
			if all || len(nums) > 0 {
				return PollAnswer{}, false
			}
			none, meaning = true, true
		case pollBut[t]:
			if !all {
				return PollAnswer{}, false
			}
			but = true
		case isNumberToken(t):
			ns, ok := numberRange(t)
			if !ok {
				return PollAnswer{}, false
			}
			if none {
				return PollAnswer{}, false
			}
			if but {
				except = append(except, ns...)
			} else if all {
				return PollAnswer{}, false // "all 2": unclear
			} else {
				nums = append(nums, ns...)
			}
			meaning = true
		case pollFiller[t]:
		default:
			return PollAnswer{}, false
		}
	}
	if !meaning || but && len(except) == 0 {
		return PollAnswer{}, false
	}
	var out PollAnswer
	for _, k := range append(slices.Clone(nums), except...) {
		if k < 1 || k > n {
			out.OutOfRange = append(out.OutOfRange, k)
		}
	}
	if len(out.OutOfRange) > 0 {
		slices.Sort(out.OutOfRange)
		out.OutOfRange = slices.Compact(out.OutOfRange)
		return out, true
	}
	out.OK = true
	out.Slots = []int{}
	switch {
	case none:
	case all:
		for k := 1; k <= n; k++ {
			if !slices.Contains(except, k) {
				out.Slots = append(out.Slots, k)
			}
		}
	default:
		out.Slots = append(out.Slots, nums...)
		slices.Sort(out.Slots)
		out.Slots = slices.Compact(out.Slots)
	}
	return out, true
}

// answerTokens lower-cases line and splits it into words, numbers (with
// ranges like 1-3 kept whole) and the & and + connectors; other
// punctuation separates.
func answerTokens(line string) []string {
	var toks []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			toks = append(toks, strings.Trim(string(cur), "-"))
			cur = cur[:0]
		}
	}
	for _, r := range strings.ToLower(line) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if len(cur) > 0 && unicode.IsDigit(r) != unicode.IsDigit(cur[len(cur)-1]) && cur[len(cur)-1] != '-' {
				flush() // "1and3", "#2" split from letters
			}
			cur = append(cur, r)
		case r == '-' && len(cur) > 0 && unicode.IsDigit(cur[len(cur)-1]):
			cur = append(cur, r)
		case r == '&' || r == '+':
			flush()
			toks = append(toks, string(r))
		default:
			flush()
		}
	}
	flush()
	out := toks[:0]
	for _, t := range toks {
		if t != "" {
			out = append(out, t)
		}
	}
	return out
}

func isNumberToken(t string) bool {
	return t != "" && t[0] >= '0' && t[0] <= '9'
}

// numberRange reads "3" or "1-3" (at most 20 apart).
func numberRange(t string) ([]int, bool) {
	lo, hi, isRange := strings.Cut(t, "-")
	a, err := strconv.Atoi(lo)
	if err != nil || a > 1000 {
		return nil, false
	}
	if !isRange {
		return []int{a}, true
	}
	b, err := strconv.Atoi(hi)
	if err != nil || b < a || b-a > 20 {
		return nil, false
	}
	var out []int
	for k := a; k <= b; k++ {
		out = append(out, k)
	}
	return out, true
}
