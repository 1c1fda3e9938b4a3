package casebot

import "fmt"

// Form is the form (a Slack modal) of one command, derived by the command
// language from the command's usage line: one field per argument and
// option, with the option lists of the domain (Roles, Priorities, the
// closed Statuses). A submission becomes that command's text and runs
// through the same runner and checks as the typed command.
type Form struct {
	// Command is the command the form runs, e.g. "party add".
	Command string
	// Title is the form's title (at most 24 characters).
	Title string
	// Submit labels the submit button.
	Submit string
	// Fields in the order they are shown.
	Fields []FormField
}

// FieldKind is what a form field asks for.
type FieldKind int

// Field kinds.
const (
	FieldLine     FieldKind = iota + 1 // one line of text
	FieldLongText                      // several lines of text
	FieldChoice                        // one of Options
	FieldWhen                          // a date and a time of day
	FieldUser                          // a Slack user
	FieldSwitch                        // a checkbox; value "true" when ticked
	FieldCase                          // one of the user's open cases
	// FieldFile is files uploaded with the form (value: their Slack file
	// IDs, comma-separated). They are no part of the command's text: once
	// the command has run, each becomes a document of its case, as a file
	// shared in the app's DM does.
	FieldFile
)

// FormField is one field of a Form. Name is the argument's name in the
// command's usage line ("title", "when", "role") or its option's name
// without dashes ("priority", "where", "private"); submitted values and
// FieldError use it.
type FormField struct {
	Name     string
	Label    string
	Kind     FieldKind
	Options  []string // FieldChoice
	Optional bool
	MaxLen   int    // characters, for text fields; 0: no limit of its own
	Hint     string // a placeholder or example
	// AdminOnly fields are shown to admins only (--mediator).
	AdminOnly bool
}

// Field returns the form's field named name, or false.
func (f *Form) Field(name string) (FormField, bool) {
	for _, fl := range f.Fields {
		if fl.Name == name {
			return fl, true
		}
	}
	return FormField{}, false
}

// FieldError is a refusal of one argument of a command: Field names the
// argument as FormField.Name does, so a form can show the refusal at that
// field. It wraps the refusal (an *Error), whose message stays what the
// typed command shows.
type FieldError struct {
	Field string
	Err   error
}

// Error implements the error interface.
func (e *FieldError) Error() string { return fmt.Sprintf("%s: %v", e.Field, e.Err) }

// Unwrap returns the refusal.
func (e *FieldError) Unwrap() error { return e.Err }

// OnField returns err as a refusal of field, or nil for a nil err. An err
// that already names a field keeps it.
func OnField(field string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*FieldError); ok {
		return err
	}
	return &FieldError{Field: field, Err: err}
}
