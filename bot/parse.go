package bot

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/casebot/casebot"
)

// token is one word of a command text. val is the word with its quotes
// removed; raw is the word exactly as typed, quotes included. src is the
// whole text and start, end the word's rune offsets in it, so free text can
// be taken exactly as typed, line breaks and all.
type token struct {
	val, raw   string
	quoted     bool
	n          int // position among the words of the text
	src        []rune
	start, end int
}

// isOpenQuote and isCloseQuote accept straight quotes and the curly quotes
// Slack clients substitute for them. Single quotes are never quotes: they
// are apostrophes in names such as O’Brien.
func isOpenQuote(r rune) bool  { return r == '"' || r == '“' || r == '”' }
func isCloseQuote(r rune) bool { return r == '"' || r == '”' || r == '“' }

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\u00a0'
}

// tokenize splits text on whitespace. A double quote at the start of a word
// opens a quoted word that runs to the next double quote followed by
// whitespace or the end; quotes elsewhere are ordinary characters.
func tokenize(text string) ([]token, error) {
	var toks []token
	rs := []rune(text)
	for i := 0; i < len(rs); {
		if isSpace(rs[i]) {
			i++
			continue
		}
		start := i
		if isOpenQuote(rs[i]) {
			j := i + 1
			for ; j < len(rs); j++ {
				if isCloseQuote(rs[j]) && (j+1 == len(rs) || isSpace(rs[j+1])) {
					break
				}
			}
			if j >= len(rs) {
				return nil, casebot.Errorf(casebot.EINVALID, "A quote is not closed.")
			}
			toks = append(toks, token{val: string(rs[i+1 : j]), raw: string(rs[start : j+1]), quoted: true, n: len(toks), src: rs, start: start, end: j + 1})
			i = j + 1
			continue
		}
		for i < len(rs) && !isSpace(rs[i]) {
			i++
		}
		w := string(rs[start:i])
		toks = append(toks, token{val: w, raw: w, n: len(toks), src: rs, start: start, end: i})
	}
	return toks, nil
}

// joinText turns the words of a free-text argument back into text: one
// quoted word loses its quotes; words that stood together are the text
// exactly as typed from the first to the last (spacing and line breaks
// kept); words an option stood between are joined by single spaces.
// Nothing else is changed (no mrkdwn is stripped or added).
func joinText(toks []token) string {
	if len(toks) == 1 {
		return toks[0].val
	}
	if last := toks[len(toks)-1]; last.src != nil && adjacent(toks) {
		return string(last.src[toks[0].start:last.end])
	}
	s := make([]string, len(toks))
	for i, t := range toks {
		s[i] = t.raw
	}
	return strings.Join(s, " ")
}

// adjacent reports whether no other word (an option) stood between toks.
func adjacent(toks []token) bool {
	for i := 1; i < len(toks); i++ {
		if toks[i].n != toks[i-1].n+1 {
			return false
		}
	}
	return true
}

var (
	slackUser = regexp.MustCompile(`^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>$`)
	bareUser  = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
	dateOnly  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	clockTime = regexp.MustCompile(`^\d{1,2}:\d{2}$`)
	slackLink = regexp.MustCompile(`^<mailto:([^|>]*)(?:\|[^>]*)?>$`)
)

// ParseUser reads a Slack user as typed: <@U123|name>, <@U123> or U123
// (W-prefixed enterprise IDs too). It returns the ID or an EINVALID error.
func ParseUser(s string) (string, error) {
	if m := slackUser.FindStringSubmatch(s); m != nil {
		return m[1], nil
	}
	if bareUser.MatchString(s) {
		return s, nil
	}
	return "", casebot.Errorf(casebot.EINVALID, "%q is not a Slack user; use @name, <@U123> or U123.", s)
}

// ParseEmail reads an email address as typed or as Slack links it
// (<mailto:a@b|a@b>) and returns it normalised, or an EINVALID error.
func ParseEmail(s string) (string, error) {
	if m := slackLink.FindStringSubmatch(s); m != nil {
		s = m[1]
	}
	return casebot.NormalizeEmail(s)
}

// looksLikeEmail reports whether a conflicts query is meant as an address.
func looksLikeEmail(s string) bool {
	return slackLink.MatchString(s) || (!strings.ContainsAny(s, " \t") && strings.Contains(s, "@"))
}

// Args are a command's arguments, read and checked against its usage line.
// Each field is set by the placeholder of that kind; commands have at most
// one of each.
type Args struct {
	ID       string            // <ID>, upper-cased
	When     time.Time         // <when>, in the actor's zone, never in the past
	Duration time.Duration     // <duration>
	Role     casebot.Role      // <role>
	Status   casebot.Status    // <status> (open) or <outcome> (closed)
	Email    string            // <email>, normalised
	User     string            // <USER> or <USER|auto>: a user ID or "auto"
	N        int               // <deadline#>, <session#>, <mail#>, <doc#>
	Word     string            // a choice such as mine|all, or <command>; "" when absent
	Page     int               // [page N]; 0 when absent
	Period   []string          // [from] [to], as typed
	Name     string            // <name>
	Text     string            // <title>, <text>, <words>, <name or email>, [text]
	Words    []string          // the words of Text, unquoted
	Flags    map[string]string // every option given, by name without dashes ("" for a switch)
	Priority casebot.Priority  // --priority
	Mediator string            // --mediator, a user ID
	To       casebot.Role      // --to
	Attach   []int             // --attach, doc#s in the order given, each once
	Item     int               // <item#>, beside <session#>
	Co       byte              // <+USER|-USER>: '+' or '-' (User is the user)
	Whens    []time.Time       // <when…>: several times, in the actor's zone, never in the past

	// score is how far reading got before an error: two for each
	// argument read, one more when a value was wrong (not a literal
	// word missing or words left over). choose picks by it.
	score int
}

// Flag reports whether the option name was given, and its value.
func (a *Args) Flag(name string) (string, bool) {
	v, ok := a.Flags[name]
	return v, ok
}

// parseArgs reads the words after the command words against sp. now and loc
// read times; a time before now is refused.
func parseArgs(sp spec, toks []token, now time.Time, loc *time.Location) (Args, error) {
	a := Args{Flags: map[string]string{}}
	var pos []token
	flagsDone := false
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if flagsDone || t.quoted || !strings.HasPrefix(t.val, "--") {
			pos = append(pos, t)
			continue
		}
		if t.val == "--" {
			flagsDone = true
			continue
		}
		name, value, hasValue := strings.Cut(t.val[2:], "=")
		var fs *flagSpec
		for j := range sp.flags {
			if sp.flags[j].name == name {
				fs = &sp.flags[j]
			}
		}
		if fs == nil {
			return a, invalid("Unknown option --%s.", name)
		}
		if _, dup := a.Flags[name]; dup {
			return a, invalid("--%s is given twice.", name)
		}
		switch {
		case fs.value == "" && hasValue:
			return a, invalid("--%s takes no value.", name)
		case fs.value != "" && !hasValue:
			if i+1 >= len(toks) {
				return a, casebot.OnField(name, invalid("--%s needs a value.", name))
			}
			i++
			value = toks[i].val
		}
		if fs.value != "" && strings.TrimSpace(value) == "" {
			return a, casebot.OnField(name, invalid("--%s needs a value.", name))
		}
		if err := a.setFlag(name, value); err != nil {
			return a, casebot.OnField(name, err)
		}
		a.Flags[name] = value
	}
	return a, a.setParams(sp.params, pos, now, loc)
}

func (a *Args) setFlag(name, value string) error {
	var err error
	switch name {
	case "priority":
		a.Priority, err = casebot.ParsePriority(value)
	case "mediator":
		a.Mediator, err = ParseUser(value)
	case "to":
		a.To, err = casebot.ParseRole(value)
	case "attach":
		a.Attach, err = parseDocList(value)
	case "type":
		err = casebot.CheckLength("type", value, casebot.MaxTypeLen)
	case "source":
		err = casebot.CheckLength("source", value, casebot.MaxSourceLen)
	case "where":
		err = casebot.CheckLength("place", value, casebot.MaxWhereLen)
	case "duration":
		a.Duration, err = casebot.ParseDuration(value)
	}
	return err
}

// setParams assigns the positional words to the usage's parameters.
func (a *Args) setParams(params []param, pos []token, now time.Time, loc *time.Location) error {
	i := 0
	for pi, p := range params {
		// Words the required parameters after this one need.
		need := 0
		for _, q := range params[pi+1:] {
			if !q.optional {
				need++
			}
		}
		if i >= len(pos) || (p.kind.greedy() && len(pos)-need <= i) {
			if p.optional {
				continue
			}
			return casebot.OnField(p.name, invalid("Missing <%s>.", p.name))
		}
		if p.optional && p.kind == kWord && strings.EqualFold(pos[i].val, "page") && pi+1 < len(params) && params[pi+1].kind == kPage {
			continue // "list page 2": the choice is left out
		}
		if p.kind == kPage {
			if !strings.EqualFold(pos[i].val, "page") {
				return invalid("Unexpected %q.", joinText(pos[i:]))
			}
			if i+1 >= len(pos) {
				return invalid("Missing the page number after page.")
			}
			n, err := strconv.Atoi(pos[i+1].val)
			if err != nil || n <= 0 {
				return invalid("%q is not a page number like 1, 2, 3.", pos[i+1].val)
			}
			a.Page = n
			i += 2
			continue
		}
		if p.kind.greedy() {
			end := len(pos) - need
			if err := a.setText(p, pos[i:end], now, loc); err != nil {
				a.score++
				return casebot.OnField(p.name, err)
			}
			a.score += 2
			i = end
			continue
		}
		v := pos[i].val
		i++
		if p.kind == kWhen && dateOnly.MatchString(v) && i < len(pos) && clockTime.MatchString(pos[i].val) {
			v += " " + pos[i].val
			i++
		}
		if err := a.setOne(p, v, now, loc); err != nil {
			if p.kind != kLiteral {
				a.score++
			}
			return casebot.OnField(p.name, err)
		}
		a.score += 2
	}
	if i < len(pos) {
		return invalid("Unexpected %q.", joinText(pos[i:]))
	}
	return nil
}

func (a *Args) setText(p param, toks []token, now time.Time, loc *time.Location) error {
	text := joinText(toks)
	switch p.kind {
	case kWhens:
		ws, err := parseWhens(toks, now, loc)
		if err != nil {
			return err
		}
		a.Whens = ws
	case kTitle:
		if strings.TrimSpace(text) == "" {
			return invalid("Missing <%s>.", p.name)
		} else if err := casebot.CheckLength("title", text, casebot.MaxTitleLen); err != nil {
			return err
		}
		a.Text = text
	case kName:
		if strings.TrimSpace(text) == "" {
			return invalid("Missing <%s>.", p.name)
		} else if err := casebot.CheckLength("name", text, casebot.MaxNameLen); err != nil {
			return err
		}
		a.Name = text
	default:
		if err := casebot.ValidateText(p.name, text); err != nil {
			return err
		}
		a.Text = text
	}
	for _, t := range toks {
		a.Words = append(a.Words, t.val)
	}
	return nil
}

func (a *Args) setOne(p param, v string, now time.Time, loc *time.Location) error {
	var err error
	switch p.kind {
	case kWord:
		if len(p.choices) > 0 && !contains(p.choices, strings.ToLower(v)) {
			return invalid("%q is not one of %s.", v, strings.Join(p.choices, ", "))
		}
		a.Word = strings.ToLower(v)
	case kID:
		a.ID, err = casebot.NormalizeCaseID(v)
	case kWhen:
		a.When, err = casebot.ParseWhen(v, now, loc)
		if err == nil && !a.When.After(now) {
			err = invalid("%s is in the past.", formatTime(a.When, loc))
		}
	case kDuration:
		a.Duration, err = casebot.ParseDuration(v)
	case kRole:
		a.Role, err = casebot.ParseRole(v)
	case kStatus:
		a.Status, err = casebot.ParseStatus(v)
		if err == nil && a.Status.Closed() {
			err = invalid("%s closes a case; use close <ID> %s [text].", a.Status, a.Status)
		}
	case kOutcome:
		a.Status, err = casebot.ParseStatus(v)
		if err != nil || !a.Status.Closed() {
			err = invalid("%q is not an outcome; use one of %s.", v, closedStatuses())
		}
	case kEmail:
		a.Email, err = ParseEmail(v)
	case kUser:
		a.User, err = ParseUser(v)
	case kUserOrAuto:
		if strings.EqualFold(v, "auto") {
			a.User = "auto"
		} else {
			a.User, err = ParseUser(v)
		}
	case kLiteral:
		if !strings.EqualFold(v, p.name) {
			return invalid("Expected %q, not %q.", p.name, v)
		}
	case kCoUser:
		if v == "" || (v[0] != '+' && v[0] != '-') {
			return invalid("%q does not add (+USER) or remove (-USER) a co-mediator.", v)
		}
		a.Co = v[0]
		a.User, err = ParseUser(v[1:])
	case kPeriod:
		a.Period = append(a.Period, v)
	case kNumber:
		n, perr := strconv.Atoi(strings.TrimPrefix(v, "#"))
		if perr != nil || n <= 0 {
			return invalid("%q is not a number like 1, 2, 3.", v)
		}
		if p.name == "item#" {
			a.Item = n
		} else {
			a.N = n
		}
	}
	return err
}

// parseDocList reads "2,5" or "#2, #5" as document numbers, each once.
func parseDocList(v string) ([]int, error) {
	var out []int
	for _, w := range strings.Split(v, ",") {
		w = strings.TrimSpace(w)
		if w == "" {
			return nil, invalid("--attach: write the doc#s with commas and no spaces, like 2,5.")
		}
		n, err := strconv.Atoi(strings.TrimPrefix(w, "#"))
		if err != nil || n <= 0 {
			return nil, invalid("--attach: %q is not a document number; give doc#s like 2,5 (docs <ID> lists them).", w)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

func closedStatuses() string {
	var s []string
	for _, st := range casebot.Statuses {
		if st.Closed() {
			s = append(s, string(st))
		}
	}
	return strings.Join(s, ", ")
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

func invalid(format string, args ...any) *casebot.Error {
	return casebot.Errorf(casebot.EINVALID, format, args...)
}

// choose reads the words after the command words against each candidate
// (one command, or the variants sharing its words) and returns the first
// that fits. When none fits it returns the error of the candidate that
// read furthest: a wrong value after several right ones says more than a
// missing literal word or words left over.
func choose(cands []*Command, toks []token, now time.Time, loc *time.Location) (*Command, Args, error) {
	var best *Command
	var bestArgs Args
	var bestErr error
	bestScore := -1
	for _, c := range cands {
		a, err := parseArgs(c.sp, toks, now, loc)
		if err == nil {
			a.score = 0
			return c, a, nil
		}
		if a.score > bestScore {
			best, bestArgs, bestErr, bestScore = c, a, err, a.score
		}
	}
	return best, bestArgs, bestErr
}

// parseWhens reads several times (a date may be followed by its HH:MM as
// the next word), each in the future.
func parseWhens(toks []token, now time.Time, loc *time.Location) ([]time.Time, error) {
	var out []time.Time
	for i := 0; i < len(toks); i++ {
		v := toks[i].val
		if dateOnly.MatchString(v) && i+1 < len(toks) && clockTime.MatchString(toks[i+1].val) {
			v += " " + toks[i+1].val
			i++
		}
		w, err := casebot.ParseWhen(v, now, loc)
		if err != nil {
			return nil, err
		}
		if !w.After(now) {
			return nil, invalid("%s is in the past.", formatTime(w, loc))
		}
		out = append(out, w)
	}
	return out, nil
}
