package bot

import (
	"errors"
	"strings"
	"unicode"

	"github.com/casebot/casebot"
)

// formTitles are the commands that have a form (SPEC §9), with the form's
// title. Every field of a form comes from its command's usage line, so a
// new option of one of these commands shows up in its form by itself.
var formTitles = map[string]string{
	"new":       "New case",
	"party add": "Add party",
	"deadline":  "Deadline",
	"session":   "Session",
	"note":      "Note",
	"close":     "Close case",
	"email":     "Email parties",
}

// fieldLabels label a form's fields by argument or option name; a name not
// listed is shown capitalised.
var fieldLabels = map[string]string{
	"ID": "Case", "title": "Title", "type": "Type", "priority": "Priority", "mediator": "Mediator",
	"source": "Referral source", "role": "Role", "name": "Name", "email": "Email address", "when": "When",
	"text": "Text", "duration": "Duration", "where": "Where", "private": "Private (caucus) note",
	"outcome": "Outcome", "to": "Only to parties of this role", "attach": "Attach documents (doc# list, e.g. 1,3)",
	"agenda": "Agenda (one item a line)",
}

// formExtras are a form's fields that are no argument of its command: the
// Note form's file input (its files become documents of the case once the
// note is stored, as files shared in the app's DM do).
var formExtras = map[string][]casebot.FormField{
	"note": {{Name: "file", Label: "Attach files (they become case documents)", Kind: casebot.FieldFile, Optional: true}},
}

// formVia: a form whose field, when filled, runs another command of the
// table with the form's values (renamed where the other command names an
// argument differently): the Deadline form with "document expected from"
// is the request command, which also emails that role (SPEC §9).
var formVia = map[string]struct {
	field, label, command string
	rename                map[string]string // form field -> the other command's argument
}{
	"deadline": {field: "role", label: "Document expected from (emails them a request)", command: "request", rename: map[string]string{"text": "what"}},
}

// maxFormText is the longest text a Slack form input takes.
const maxFormText = 3000

// Form returns the form of command (e.g. "party add") as user would see
// it: fields only admins may fill are left out for others. It returns
// false for a command without a form.
func (b *Bot) Form(userID, command string) (casebot.Form, bool) {
	title, ok := formTitles[command]
	if !ok {
		return casebot.Form{}, false
	}
	cmd := b.command(command)
	if cmd == nil {
		return casebot.Form{}, false
	}
	f := b.commandForm(userID, cmd)
	f.Title = title
	if command == "email" {
		f.Submit = "Send"
	}
	f.Fields = append(f.Fields, formExtras[command]...)
	if via, ok := formVia[command]; ok {
		if other := b.command(via.command); other != nil {
			for _, p := range other.sp.params {
				if p.name == via.field {
					fl := paramField(p)
					fl.Label, fl.Optional = via.label, true
					f.Fields = append(f.Fields, fl)
				}
			}
		}
	}
	return f, true
}

// commandForm is the form of cmd's usage line alone, as userID would see
// it: fields only admins may fill are left out for others.
func (b *Bot) commandForm(userID string, cmd *Command) casebot.Form {
	admin := b.Actor(userID).Admin
	f := casebot.Form{Command: cmd.Name(), Title: cmd.Name(), Submit: "Save"}
	for _, p := range cmd.sp.params {
		f.Fields = append(f.Fields, paramField(p))
	}
	for _, fs := range cmd.sp.flags {
		fl := flagField(fs)
		if fl.AdminOnly && !admin {
			continue
		}
		f.Fields = append(f.Fields, fl)
	}
	return f
}

// bareForms are the commands whose words alone open their form (SPEC §5:
// `new` with no words); any other command's words alone run and say what
// is missing.
var bareForms = map[string]bool{"new": true}

// FormCommand returns the command whose form a bare command text opens:
// "new" and nothing else, so that `/case new` in Slack opens the New case
// form. It returns false for any other text, which runs as typed.
func (b *Bot) FormCommand(text string) (string, bool) {
	name := strings.ToLower(strings.Join(strings.Fields(text), " "))
	if bareForms[name] && b.command(name) != nil {
		return name, true
	}
	return "", false
}

// FormText returns the command text a submitted form stands for, built
// from values by field name (FormField.Name; a FieldWhen value is "date
// time", a ticked FieldSwitch "true"), so that it runs through the same
// runner, parser and checks as the typed command. A value that cannot be
// the argument it is for (missing, not one of the options, several words
// where one is wanted) is refused with a *casebot.FieldError naming the
// field; later refusals come from running the text, also naming the
// field where the parser can.
func (b *Bot) FormText(userID, command string, values map[string]string) (string, error) {
	f, ok := b.Form(userID, command)
	if !ok {
		return "", casebot.Errorf(casebot.EINVALID, "%q has no form.", command)
	}
	if via, ok := formVia[command]; ok && strings.TrimSpace(values[via.field]) != "" {
		if err := checkChoice(mustField(f, via.field), strings.TrimSpace(values[via.field])); err != nil {
			return "", err
		}
		other := b.command(via.command)
		if other == nil {
			return "", casebot.Errorf(casebot.EINVALID, "%q has no form.", via.command)
		}
		vals := make(map[string]string, len(values))
		back := map[string]string{}
		for from, to := range via.rename {
			back[to] = from
		}
		for k, v := range values {
			if to, ok := via.rename[k]; ok {
				k = to
			}
			vals[k] = v
		}
		text, err := b.formText(b.commandForm(userID, other), other, vals)
		var fe *casebot.FieldError
		if errors.As(err, &fe) && back[fe.Field] != "" {
			err = &casebot.FieldError{Field: back[fe.Field], Err: fe.Err}
		}
		return text, err
	}
	return b.formText(f, b.command(command), values)
}

// mustField returns the form's field named name (a zero field when it has
// none).
func mustField(f casebot.Form, name string) casebot.FormField {
	fl, _ := f.Field(name)
	return fl
}

// formText builds cmd's text from form f's values (FormText).
func (b *Bot) formText(f casebot.Form, cmd *Command, values map[string]string) (string, error) {
	command := cmd.Name()
	var flags, pos []string
	for _, fs := range cmd.sp.flags {
		fl, shown := f.Field(fs.name)
		v := strings.TrimSpace(values[fs.name])
		if !shown || v == "" {
			continue
		}
		if err := checkChoice(fl, v); err != nil {
			return "", err
		}
		if fs.value == "" {
			if v == "true" {
				flags = append(flags, "--"+fs.name)
			}
			continue
		}
		if fl.Kind == casebot.FieldLongText {
			// A list option (--agenda): one item a line, as the typed
			// command separates them with semicolons.
			var items []string
			for _, line := range strings.Split(v, "\n") {
				if line = strings.TrimSpace(line); line != "" {
					items = append(items, line)
				}
			}
			v = strings.Join(items, "; ")
		}
		q, err := quoteWord(fs.name, v)
		if err != nil {
			return "", err
		}
		flags = append(flags, "--"+fs.name, q)
	}
	for _, p := range cmd.sp.params {
		fl, _ := f.Field(p.name)
		v := values[p.name]
		if strings.TrimSpace(v) == "" {
			if p.optional {
				continue
			}
			return "", casebot.OnField(p.name, invalid("Missing <%s>.", p.name))
		}
		if err := checkChoice(fl, strings.TrimSpace(v)); err != nil {
			return "", err
		}
		if !p.kind.greedy() {
			v = strings.TrimSpace(v)
			words := strings.Fields(v)
			if len(words) > 1 && !(p.kind == kWhen && len(words) == 2) {
				return "", casebot.OnField(p.name, invalid("%q is more than one word.", v))
			}
			if strings.HasPrefix(v, "\"") || strings.HasPrefix(v, "“") || strings.HasPrefix(v, "”") {
				return "", casebot.OnField(p.name, invalid("%q may not start with a quote.", v))
			}
		}
		pos = append(pos, v)
	}
	// Options first, then "--": what follows is positional however it
	// reads, and free text stands last exactly as typed.
	parts := append([]string{command}, flags...)
	parts = append(parts, "--")
	text := strings.Join(append(parts, pos...), " ")
	if _, err := tokenize(text); err != nil {
		// Only free text can hold an unclosed quote: name that field.
		for _, p := range cmd.sp.params {
			if p.kind.greedy() && strings.TrimSpace(values[p.name]) != "" {
				return "", casebot.OnField(p.name, err)
			}
		}
		return "", err
	}
	return text, nil
}

// checkChoice refuses a value that is not one of a choice field's options.
func checkChoice(fl casebot.FormField, v string) error {
	if fl.Kind != casebot.FieldChoice {
		return nil
	}
	for _, o := range fl.Options {
		if strings.EqualFold(o, v) {
			return nil
		}
	}
	return casebot.OnField(fl.Name, invalid("%q is not one of %s.", v, strings.Join(fl.Options, ", ")))
}

// quoteWord makes an option's value one word of a command text: quoted
// when it has spaces. A value a quote cannot hold (a double quote followed
// by a space) is refused.
func quoteWord(name, v string) (string, error) {
	if !strings.ContainsFunc(v, unicode.IsSpace) && !strings.HasPrefix(v, "--") && !isOpenQuote([]rune(v)[0]) {
		return v, nil
	}
	rs := []rune(v)
	for i, r := range rs {
		if isCloseQuote(r) && i+1 < len(rs) && isSpace(rs[i+1]) {
			return "", casebot.OnField(name, invalid("The %s may not hold a double quote followed by a space.", name))
		}
		if r == '\n' || r == '\r' {
			return "", casebot.OnField(name, invalid("The %s must be one line.", name))
		}
	}
	return "\"" + v + "\"", nil
}

// paramField is the form field of a usage line's argument.
func paramField(p param) casebot.FormField {
	f := casebot.FormField{Name: p.name, Label: label(p.name), Optional: p.optional}
	switch p.kind {
	case kID:
		f.Kind = casebot.FieldCase
	case kWhen:
		f.Kind = casebot.FieldWhen
	case kDuration:
		f.Kind, f.Hint, f.MaxLen = casebot.FieldLine, "90m, 2h, 1h30m", 20
	case kRole:
		f.Kind, f.Options = casebot.FieldChoice, enumStrings(casebot.Roles, nil)
	case kStatus:
		f.Kind, f.Options = casebot.FieldChoice, enumStrings(casebot.Statuses, func(s casebot.Status) bool { return !s.Closed() })
	case kOutcome:
		f.Kind, f.Options = casebot.FieldChoice, enumStrings(casebot.Statuses, casebot.Status.Closed)
	case kUser, kUserOrAuto:
		f.Kind = casebot.FieldUser
	case kTitle:
		f.Kind, f.MaxLen = casebot.FieldLine, casebot.MaxTitleLen
	case kName:
		f.Kind, f.MaxLen = casebot.FieldLine, casebot.MaxNameLen
	case kEmail, kNumber, kQuery:
		f.Kind = casebot.FieldLine
	case kText:
		f.Kind, f.MaxLen = casebot.FieldLongText, min(casebot.MaxTextLen, maxFormText)
	default:
		if len(p.choices) > 0 {
			f.Kind, f.Options = casebot.FieldChoice, p.choices
		} else {
			f.Kind = casebot.FieldLine
		}
	}
	return f
}

// flagField is the form field of a usage line's option; every option is
// optional.
func flagField(fs flagSpec) casebot.FormField {
	f := casebot.FormField{Name: fs.name, Label: label(fs.name), Optional: true, Kind: casebot.FieldLine}
	switch {
	case fs.value == "":
		f.Kind = casebot.FieldSwitch
	case fs.name == "priority":
		f.Kind, f.Options = casebot.FieldChoice, enumStrings(casebot.Priorities, nil)
	case fs.name == "to":
		f.Kind, f.Options = casebot.FieldChoice, enumStrings(casebot.Roles, nil)
	case fs.name == "mediator":
		f.Kind, f.AdminOnly = casebot.FieldUser, true
	case fs.name == "type":
		f.MaxLen = casebot.MaxTypeLen
	case fs.name == "where":
		f.MaxLen = casebot.MaxWhereLen
	case fs.name == "source":
		f.MaxLen, f.Hint = casebot.MaxSourceLen, "court, agency, self, …"
	case fs.name == "agenda":
		f.Kind, f.MaxLen, f.Hint = casebot.FieldLongText, maxFormText, "Introductions\nEach side's position"
	}
	return f
}

func label(name string) string {
	if l, ok := fieldLabels[name]; ok {
		return l
	}
	rs := []rune(name)
	return string(unicode.ToUpper(rs[0])) + string(rs[1:])
}

// enumStrings lists the members of all that keep allows (all when nil).
func enumStrings[T ~string](all []T, keep func(T) bool) []string {
	var out []string
	for _, v := range all {
		if keep == nil || keep(v) {
			out = append(out, string(v))
		}
	}
	return out
}

// caseForms are the forms show offers for an open case, in order, with
// their button labels; a closed case offers Note only.
var caseForms = []struct{ command, label string }{
	{"party add", "Add party"}, {"deadline", "Deadline"}, {"session", "Session"},
	{"note", "Note"}, {"email", "Email parties"}, {"close", "Close case"},
}

// formButtons are show's buttons opening the forms of case c.
func formButtons(c *casebot.Case) []casebot.Button {
	var out []casebot.Button
	for _, f := range caseForms {
		if !c.Open() && f.command != "note" {
			continue
		}
		out = append(out, casebot.Button{ActionID: casebot.ActionOpenForm, Label: f.label, Value: f.command + "/" + c.ID})
	}
	return out
}

// command returns the command named name, or nil.
func (b *Bot) command(name string) *Command {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, c := range b.cmds {
		if c.Name() == name {
			return c
		}
	}
	return nil
}
