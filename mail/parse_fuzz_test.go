package mail

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// FuzzParse: go test -run '^$' -fuzz FuzzParse ./mail/
func FuzzParse(f *testing.F) {
	for _, file := range testdataFiles(f) {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	lim := Limits{MaxMessageBytes: 1 << 20, MaxAttachmentBytes: 4096}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := Parse(bytes.NewReader(raw), lim)
		if m == nil {
			if err == nil {
				t.Fatal("nil message without an error")
			}
			return
		}
		if len(m.Text) > MaxTextBytes {
			t.Fatalf("Text is %d bytes, over %d", len(m.Text), MaxTextBytes)
		}
		if m.Size > int64(len(raw)) {
			t.Fatalf("Size %d over input %d", m.Size, len(raw))
		}
		for _, s := range append([]string{m.From, m.FromName, m.Subject, m.MessageID, m.ReturnPath}, append(m.To, m.Cc...)...) {
			if strings.ContainsAny(s, "\r\n") {
				t.Fatalf("header field %q holds CR or LF", s)
			}
		}
		for _, a := range m.Attachments {
			if int64(len(a.Content)) > lim.MaxAttachmentBytes || strings.ContainsAny(a.Name, "/\\\x00\r\n") || a.Name == "" {
				t.Fatalf("attachment %q keeps %d bytes", a.Name, len(a.Content))
			}
		}
	})
}

// FuzzExtractReply: go test -run '^$' -fuzz FuzzExtractReply ./mail/
func FuzzExtractReply(f *testing.F) {
	for _, file := range testdataFiles(f) {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		if m, err := Parse(bytes.NewReader(b), Limits{}); err == nil {
			f.Add(m.Text)
		}
	}
	f.Fuzz(func(t *testing.T, text string) {
		got := ExtractReply(text)
		for _, line := range strings.Split(got, "\n") {
			if !strings.Contains(text, line) {
				t.Fatalf("output line %q is not in the input", line)
			}
		}
	})
}
