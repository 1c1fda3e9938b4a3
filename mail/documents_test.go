package mail_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/mail"
)

// part is one MIME part of a test message: headers and raw (unencoded)
// content, base64-encoded on the way out.
type part struct {
	header  string
	content []byte
}

// mimeMail builds a multipart/mixed message from ann to case id.
func mimeMail(id, msgID, text string, parts ...part) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: Ann Lee <ann@example.com>\r\nTo: cases@practice.example\r\nSubject: [%s] papers\r\nMessage-ID: <%s>\r\n", id, msgID)
	b.WriteString("Date: Mon, 02 Mar 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=outer\r\n\r\n")
	b.WriteString("--outer\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n")
	for _, p := range parts {
		b.WriteString("--outer\r\n" + p.header)
		if p.content != nil {
			b.WriteString("Content-Transfer-Encoding: base64\r\n\r\n")
			enc := base64.StdEncoding.EncodeToString(p.content)
			for len(enc) > 76 {
				b.WriteString(enc[:76] + "\r\n")
				enc = enc[76:]
			}
			b.WriteString(enc + "\r\n")
		}
	}
	b.WriteString("--outer--\r\n")
	return b.String()
}

func hexSum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// Attachments mailed in over IMAP become documents with their decoded
// names, sizes and hashes: an RFC 2231 UTF-8 name, an inline image, and an
// attachment inside a forwarded message (which is a document itself, as
// .eml). The same file in a second email is one document with two
// arrivals.
func TestIntakeAttachmentsBecomeDocuments(t *testing.T) {
	ctx := context.Background()
	s := startIMAP(t)
	db := openStore(t, nil)
	c := newCase(t, db, ann)
	pdf := append([]byte("%PDF-1.4\n"), strings.Repeat("Stellungnahme ", 500)...)
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
	xls := []byte("PK\x03\x04 a spreadsheet inside a forward")
	fwd := "From: Bob Ray <bob@example.com>\r\nTo: ann@example.com\r\nSubject: figures\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=inner\r\n\r\n--inner\r\nContent-Type: text/plain\r\n\r\nSee the figures.\r\n" +
		"--inner\r\nContent-Type: application/vnd.ms-excel; name=\"=?UTF-8?B?WmFobGVuX8OcYmVyc2ljaHQueGxz?=\"\r\nContent-Disposition: attachment\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString(xls) + "\r\n--inner--\r\n"
	s.append(t, "INBOX", mimeMail(c.ID, "d1@example.com", "Attached is our written statement.",
		part{"Content-Type: application/pdf\r\nContent-Disposition: attachment; filename*=UTF-8''Stellungnahme_M%C3%BCller.pdf\r\n", pdf},
		part{"Content-Type: image/png\r\nContent-Disposition: inline\r\nContent-ID: <logo@x>\r\n", png},
		part{"Content-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"figures.eml\"\r\n\r\n" + fwd + "\r\n", nil},
	))
	s.append(t, "INBOX", mimeMail(c.ID, "d2@example.com", "Sending the statement again.",
		part{"Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"statement (copy).pdf\"\r\n", pdf}))
	if err := newIntake(t, s, db, nil).RunOnce(ctx); err != nil {
		t.Fatal(err)
	}

	ds, total, err := db.Documents(ctx, c.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]casebot.Document{}
	for _, d := range ds {
		byName[d.Name] = d
	}
	if total != 4 {
		t.Fatalf("%d documents %v, want 4", total, keys(byName))
	}
	tests := []struct {
		name, detected string
		content        []byte
		arrivals       int
	}{
		{"Stellungnahme_Müller.pdf", "application/pdf", pdf, 2},
		{"attachment-2.png", "image/png", png, 1},
		{"Zahlen_Übersicht.xls", "", xls, 1},
	}
	for _, tt := range tests {
		d, ok := byName[tt.name]
		if !ok {
			t.Errorf("no document %q among %v", tt.name, keys(byName))
			continue
		}
		if d.Size != int64(len(tt.content)) || d.SHA256 != hexSum(tt.content) || !d.Kept || len(d.Arrivals) != tt.arrivals ||
			(tt.detected != "" && d.DetectedType != tt.detected) {
			t.Errorf("%s = size %d, sha %s, kept %v, %d arrivals, detected %s; want size %d, sha %s, %d arrivals",
				tt.name, d.Size, d.SHA256, d.Kept, len(d.Arrivals), d.DetectedType, len(tt.content), hexSum(tt.content), tt.arrivals)
		}
		_, got, err := db.DocumentFile(ctx, c.ID, d.N)
		if err != nil || hexSum(got) != hexSum(tt.content) {
			t.Errorf("%s content: %d bytes, %v", tt.name, len(got), err)
		}
	}
	st := byName["Stellungnahme_Müller.pdf"]
	if a := st.Arrivals; len(a) == 2 && (a[0].Note != 1 || a[1].Note != 2 || a[1].Name != "statement (copy).pdf" || a[1].From != ann.Email) {
		t.Errorf("arrivals %+v", a)
	}
	if eml, ok := byName["figures.eml"]; !ok || eml.DeclaredType != "message/rfc822" {
		t.Errorf("forwarded message as a document: %+v", eml)
	}
}

// An attachment over the limit is a document with its size, not kept.
func TestIntakeOversizeAttachmentListedNotKept(t *testing.T) {
	ctx := context.Background()
	s := startIMAP(t)
	db := openStore(t, nil)
	c := newCase(t, db, ann)
	big := []byte(strings.Repeat("0123456789", 2000))
	s.append(t, "INBOX", mimeMail(c.ID, "big@example.com", "A big file.",
		part{"Content-Type: application/zip\r\nContent-Disposition: attachment; filename=\"evidence.zip\"\r\n", big}))
	in := newIntake(t, s, db, func(cfg *mail.IntakeConfig) { cfg.Limits.MaxAttachmentBytes = 1000 })
	if err := in.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	ds, _, err := db.Documents(ctx, c.ID, 0)
	if err != nil || len(ds) != 1 {
		t.Fatalf("documents %+v, %v", ds, err)
	}
	if d := ds[0]; d.Kept || d.Size != int64(len(big)) || d.SHA256 != hexSum(big) || d.Name != "evidence.zip" {
		t.Errorf("oversize document %+v, want size %d, not kept", d, len(big))
	}
}

func keys(m map[string]casebot.Document) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
