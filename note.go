package casebot

import "time"

// NoteSource says where a note came from.
type NoteSource string

// Note sources.
const (
	SourceSlack NoteSource = "slack"
	SourceEmail NoteSource = "email"
)

// Note is an entry in a case's record: typed by the mediator or a party's
// email reply. Private notes are caucus notes, never sent to parties.
type Note struct {
	CaseID  string
	N       int
	Author  string // Slack user ID, or the sender's email for email notes
	Source  NoteSource
	Private bool
	Body    string
	Created time.Time
	// Email is set for notes that came from a party's email.
	Email *EmailMeta
}

// EmailMeta is what a note keeps of the email it came from.
type EmailMeta struct {
	From        string
	FromName    string
	Subject     string
	MessageID   string
	Date        time.Time
	FullText    string // the whole text before reply extraction
	Raw         []byte // the raw message, for the record
	Attachments []Attachment
}

// Attachment is a file that came with an email.
type Attachment struct {
	Name      string
	Type      string
	Size      int64
	SHA256    string // hex
	Content   []byte // up to the configured limit
	Truncated bool
}

// NoteMeta is what a note is without its body: for counting party emails.
type NoteMeta struct {
	CaseID  string
	N       int
	Author  string
	Source  NoteSource
	Private bool
	Created time.Time
}

// NoteHit is a note matching a search.
type NoteHit struct {
	Note    *Note
	Snippet string
}
