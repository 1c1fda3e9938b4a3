// Package casefile writes the whole file of one case as a zip (SPEC §10):
// case.json (the case, its parties, deadlines, sessions, documents and
// offers), timeline.txt, notes/ (one text file per note), emails/ (each
// raw message as .eml) and documents/ (each kept document under its
// number and name).
//
// It reads nothing itself: the caller hands in domain values, and each
// document's content through a function called once per document, so
// only one document is in memory at a time. Entry names are clean
// relative paths inside the zip whatever names the case's files came
// with, so unpacking never writes outside the folder unpacked into.
package casefile

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/casebot/casebot"
)

// Entry names of the parts that are not numbered.
const (
	CaseEntry     = "case.json"
	TimelineEntry = "timeline.txt"
)

// File is what goes into a case file.
type File struct {
	Case  *casebot.Case
	Notes []*casebot.Note // in note order
	// Timeline is the case's timeline as the timeline command words it.
	Timeline string
	// Documents are the case's documents in doc# order, without content.
	Documents []casebot.Document
	// Offers are the case's offers in order.
	Offers []casebot.Offer
	// Content returns the content of kept document n. Write reads it to
	// its end before asking for the next one. It may be nil when no
	// document is kept.
	Content func(ctx context.Context, n int) (io.Reader, error)
	// Loc is the zone of the times in the text files; UTC when nil.
	Loc *time.Location
	// Exported is when the file was made and By the user who made it.
	Exported time.Time
	By       string
}

// Summary says what a case file holds.
type Summary struct {
	Notes     int // note files
	Emails    int // raw messages
	Documents int // documents with their content (a document not kept is only listed in case.json)
}

// String is the summary as the audit trail and the command line say it:
// "4 notes, 2 emails, 1 document".
func (s Summary) String() string {
	return fmt.Sprintf("%s, %s, %s", count(s.Notes, "note", "notes"), count(s.Emails, "email", "emails"),
		count(s.Documents, "document", "documents"))
}

func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// NoteEntry is the entry name of note n: "notes/0001.txt".
func NoteEntry(n int) string { return fmt.Sprintf("notes/%04d.txt", n) }

// EmailEntry is the entry name of the raw message note n came from:
// "emails/0001.eml".
func EmailEntry(n int) string { return fmt.Sprintf("emails/%04d.eml", n) }

// DocumentEntry is the entry name of a document: its doc# and its name,
// made safe again, "documents/0001-Statement.pdf". The doc# keeps names
// that differ only in case (or not at all) apart.
func DocumentEntry(d *casebot.Document) string {
	return fmt.Sprintf("documents/%04d-%s", d.N, safeName(d.Name))
}

// safeName makes a file name safe as the last part of an entry name on
// any system: casebot.SafeFileName (no folders, no control or
// bidirectional characters, no leading dots, bounded length), and the
// characters Windows refuses in a name replaced by "_".
func safeName(name string) string {
	name = casebot.SafeFileName(name)
	name = strings.Map(func(r rune) rune {
		switch {
		case strings.ContainsRune(`/\:*?"<>|`, r):
			return '_'
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, name)
	if name == "" {
		return "document"
	}
	return name
}

// checkEntry refuses an entry name that is not a clean relative path
// inside the zip; every name Write makes passes, and this keeps it so.
func checkEntry(name string) error {
	ok := name != "" && path.Clean(name) == name && filepath.IsLocal(name) && !strings.ContainsAny(name, `\:`)
	for _, r := range name {
		if unicode.IsControl(r) {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("casefile: unsafe entry name %q", name)
	}
	return nil
}

// Write writes the case file f to w as a zip and says what it holds. It
// returns an error, with the zip unfinished, when a part cannot be read
// or written, or when a document's content does not match its recorded
// size and SHA-256.
func Write(ctx context.Context, w io.Writer, f File) (Summary, error) {
	var sum Summary
	if f.Case == nil {
		return sum, errors.New("casefile: no case")
	}
	if f.Loc == nil {
		f.Loc = time.UTC
	}
	zw := zip.NewWriter(w)
	put := func(name string, mod time.Time, write func(w io.Writer) error) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := checkEntry(name); err != nil {
			return err
		}
		h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: mod}
		h.SetMode(0o600)
		ew, err := zw.CreateHeader(h)
		if err != nil {
			return fmt.Errorf("casefile: %s: %w", name, err)
		}
		if err := write(ew); err != nil {
			return fmt.Errorf("casefile: %s: %w", name, err)
		}
		return nil
	}
	putBytes := func(name string, mod time.Time, b []byte) error {
		return put(name, mod, func(w io.Writer) error { _, err := w.Write(b); return err })
	}

	doc, err := caseDocument(&f)
	if err != nil {
		return sum, err
	}
	if err := putBytes(CaseEntry, f.Exported, doc); err != nil {
		return sum, err
	}
	if err := putBytes(TimelineEntry, f.Exported, []byte(textFile(f.Timeline))); err != nil {
		return sum, err
	}
	withNote := documentsByNote(f.Documents)
	for _, n := range f.Notes {
		if err := putBytes(NoteEntry(n.N), n.Created, []byte(noteText(n, withNote[n.N], f.Loc))); err != nil {
			return sum, err
		}
		sum.Notes++
		if n.Email != nil && len(n.Email.Raw) > 0 {
			if err := putBytes(EmailEntry(n.N), n.Created, n.Email.Raw); err != nil {
				return sum, err
			}
			sum.Emails++
		}
	}
	for i := range f.Documents {
		d := &f.Documents[i]
		if !d.Kept {
			continue
		}
		if f.Content == nil {
			return sum, fmt.Errorf("casefile: document #%d: no content source", d.N)
		}
		if err := put(DocumentEntry(d), d.Last().At, func(w io.Writer) error { return copyDocument(ctx, w, d, f.Content) }); err != nil {
			return sum, err
		}
		sum.Documents++
	}
	if err := zw.Close(); err != nil {
		return sum, fmt.Errorf("casefile: finish zip: %w", err)
	}
	return sum, nil
}

// copyDocument streams document d's content into w, checking its size
// and SHA-256 against the record.
func copyDocument(ctx context.Context, w io.Writer, d *casebot.Document, content func(ctx context.Context, n int) (io.Reader, error)) error {
	r, err := content(ctx, d.N)
	if err != nil {
		return fmt.Errorf("document #%d: %w", d.N, err)
	}
	if c, ok := r.(io.Closer); ok {
		defer c.Close()
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), r)
	if err != nil {
		return fmt.Errorf("document #%d: %w", d.N, err)
	}
	if n != d.Size {
		return fmt.Errorf("document #%d: %d bytes, its record says %d", d.N, n, d.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); d.SHA256 != "" && !strings.EqualFold(got, d.SHA256) {
		return fmt.Errorf("document #%d: content does not match its SHA-256", d.N)
	}
	return nil
}

// documentsByNote maps a note number to the entry names of the documents
// that arrived with it (or, for a document not kept, its doc# and name).
func documentsByNote(docs []casebot.Document) map[int][]string {
	out := map[int][]string{}
	for i := range docs {
		d := &docs[i]
		name := DocumentEntry(d)
		if !d.Kept {
			name = fmt.Sprintf("#%d %s (not kept)", d.N, safeName(d.Name))
		}
		for _, a := range d.Arrivals {
			if l := out[a.Note]; len(l) == 0 || l[len(l)-1] != name {
				out[a.Note] = append(l, name)
			}
		}
	}
	return out
}

// noteText is a note's file: header lines (number, author, time, private,
// and for an email its sender, subject, date, message ID, raw message and
// documents), a blank line, then the body as written.
func noteText(n *casebot.Note, docs []string, loc *time.Location) string {
	var b strings.Builder
	field := func(name, value string) {
		if value != "" {
			b.WriteString(name + ": " + headerValue(value) + "\n")
		}
	}
	field("Note", fmt.Sprintf("#%d", n.N))
	field("Author", n.Author)
	field("Time", formatTime(n.Created, loc))
	field("Source", string(n.Source))
	field("Private", yesNo(n.Private))
	if e := n.Email; e != nil {
		field("From", casebot.Mailbox(e.FromName, e.From))
		field("Subject", e.Subject)
		field("Date", formatTime(e.Date, loc))
		field("Message-ID", e.MessageID)
		if len(e.Raw) > 0 {
			field("Email", EmailEntry(n.N))
		}
	}
	field("Documents", strings.Join(docs, ", "))
	b.WriteString("\n")
	b.WriteString(textFile(n.Body))
	return b.String()
}

// headerValue keeps a header line one line: control characters and runs
// of white space become one space.
func headerValue(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// textFile ends s with exactly one newline.
func textFile(s string) string { return strings.TrimRight(s, "\n") + "\n" }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// formatTime shows t in loc with its offset and zone: "2026-03-02 09:14:05
// +0100 CET"; "" for a zero time.
func formatTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format("2006-01-02 15:04:05 -0700 MST")
}
