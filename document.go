package casebot

import (
	"context"
	"io"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Document is a file of a case (SPEC §10): an attachment of a party's email
// that became a note, numbered per case (doc#). The same bytes (the same
// SHA-256) arriving again in the case are the same document with another
// Arrival.
type Document struct {
	CaseID string
	N      int
	// Name is the safe name (SafeFileName) the file first arrived under.
	Name string
	// DeclaredType is the media type the sender's mail declared;
	// DetectedType the one read from the bytes themselves.
	DeclaredType string
	DetectedType string
	Size         int64
	SHA256       string // hex, of the whole file
	// Kept is false for a file over the attachment size limit (or cut off
	// in transit): it is listed with its size, its content was not stored.
	Kept bool
	// Arrivals are the emails that brought the file, oldest first; there is
	// at least one.
	Arrivals []Arrival
}

// Arrival is one email that brought a document.
type Arrival struct {
	From string // the sender's email address, or the user who filed it
	At   time.Time
	Note int    // the note the email became; 0 when it came otherwise
	Name string // the (safe) name it carried this time
	// Via says how a document came that no party's email brought:
	// ViaSlack or ViaCasebot; "" for an email's attachment.
	Via string
}

// How a document came when no email brought it (Arrival.Via).
const (
	ViaSlack   = "slack"   // a user shared it in the app's Slack DM
	ViaCasebot = "casebot" // casebot made it (an agreement)
)

// Last returns the document's newest arrival.
func (d *Document) Last() Arrival {
	if len(d.Arrivals) == 0 {
		return Arrival{}
	}
	return d.Arrivals[len(d.Arrivals)-1]
}

// Type returns the document's media type: the one its sender declared,
// else the one read from its bytes, else application/octet-stream.
func (d *Document) Type() string {
	switch {
	case d.DeclaredType != "":
		return d.DeclaredType
	case d.DetectedType != "":
		return d.DetectedType
	}
	return "application/octet-stream"
}

// TypeMismatch reports whether the bytes read as another type than the
// one declared (a program sent as a PDF, say): the detected type, without
// its parameters, is neither the declared one nor a generic guess.
func (d *Document) TypeMismatch() bool {
	det, _, _ := strings.Cut(d.DetectedType, ";")
	switch det {
	case "", "application/octet-stream", "text/plain":
		return false
	}
	return d.DeclaredType != "" && !strings.EqualFold(det, d.DeclaredType)
}

// File is a document's content on its way to a user.
type File struct {
	Name    string
	Type    string
	Size    int64
	Content io.Reader // exactly Size bytes
}

// FileSender delivers a file privately to one user (in Slack, to their
// direct messages, never to a channel). It is implemented by the Slack
// transport; a nil FileSender means Slack is off.
type FileSender interface {
	// SendFile delivers f to userID. It returns an error when the file
	// did not arrive (nothing to record as delivered).
	SendFile(ctx context.Context, userID string, f File) error
}

// DocumentReader reads a document's content when it is needed, as the
// SMTP sender does for the documents an email carries. store.DB
// implements it.
type DocumentReader interface {
	// DocumentFile returns document n of the case and its content (nil
	// when the document was not kept). ENOTFOUND for a missing case or
	// document.
	DocumentFile(ctx context.Context, caseID string, n int) (*Document, []byte, error)
}

// DocumentStore is what the docs, doc and show commands need of the
// documents the store keeps beside each case.
type DocumentStore interface {
	// Documents returns the case's documents, newest first, at most newest
	// of them (0: all), and how many the case has in all. It reads no
	// content, and no other case's documents. ENOTFOUND for a missing case.
	Documents(ctx context.Context, caseID string, newest int) ([]Document, int, error)
	// DocumentFile returns document n of the case and its content (nil
	// when the document was not kept). ENOTFOUND for a missing case or
	// document.
	DocumentFile(ctx context.Context, caseID string, n int) (*Document, []byte, error)
	// RecordDocumentView appends a view of document n (action "doc.view",
	// naming the doc#, never its name or content) to the case's audit
	// trail. ENOTFOUND for a missing case.
	RecordDocumentView(ctx context.Context, caseID, actor string, n int) error
}

// MaxFileNameBytes caps a document's name, extension included.
const MaxFileNameBytes = 200

// maxExtBytes is the longest extension SafeFileName keeps when it shortens
// a name; a longer "extension" is just part of the name.
const maxExtBytes = 20

// SafeFileName turns a file name as sent (already decoded from RFC 2047 or
// RFC 2231) into one that is safe to store, show and write to a disk: the
// directory part and path separators dropped, control and bidirectional
// override characters removed, spaces folded, no leading dots, at most
// MaxFileNameBytes bytes on a character boundary with the extension kept,
// and never empty ("document").
func SafeFileName(name string) string {
	name = strings.ToValidUTF8(name, "")
	name = strings.ReplaceAll(name, "\\", "/")
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r' || unicode.Is(unicode.Zs, r):
			return ' '
		case unicode.IsControl(r), unicode.Is(unicode.Bidi_Control, r), r == '\u2028', r == '\u2029', r == utf8.RuneError:
			return -1
		}
		return r
	}, name)
	name = strings.Join(strings.Fields(name), " ")
	name = strings.TrimLeft(name, ". ")
	name = strings.TrimRight(name, " ")
	if len(name) > MaxFileNameBytes {
		ext := path.Ext(name)
		if len(ext) > maxExtBytes || strings.ContainsRune(ext, ' ') {
			ext = ""
		}
		base := name[:MaxFileNameBytes-len(ext)]
		for len(base) > 0 && !utf8.ValidString(base) {
			base = base[:len(base)-1]
		}
		name = strings.TrimRight(base, ". ") + ext
	}
	if name == "" || name == "." || name == ".." {
		return "document"
	}
	return name
}
