package casebot

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSafeFileName(t *testing.T) {
	long := strings.Repeat("a", 300) + ".pdf"
	umlauts := strings.Repeat("ü", 150) + ".docx" // 305 bytes
	tests := []struct{ name, in, want string }{
		{"plain", "Stellungnahme_Müller.pdf", "Stellungnahme_Müller.pdf"},
		{"path", "../../etc/passwd", "passwd"},
		{"windows path", `C:\Users\x\brief.doc`, "brief.doc"},
		{"controls", "a\x00b\x1bc\r\nd.txt", "abc d.txt"},
		{"bidi override", "invoice\u202Efdp.exe", "invoicefdp.exe"},
		{"leading dots", "...hidden", "hidden"},
		{"only dots", "..", "document"},
		{"empty", "", "document"},
		{"spaces", "  a   b  .pdf ", "a b .pdf"},
		{"long keeps extension", long, strings.Repeat("a", MaxFileNameBytes-4) + ".pdf"},
		{"long multibyte", umlauts, strings.Repeat("ü", (MaxFileNameBytes-5)/2) + ".docx"},
		{"invalid UTF-8", "a\xffb.txt", "ab.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SafeFileName(tt.in)
			if got != tt.want {
				t.Errorf("SafeFileName(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if len(got) > MaxFileNameBytes || !utf8.ValidString(got) || SafeFileName(got) != got {
				t.Errorf("SafeFileName(%q) = %q: too long, invalid or not stable", tt.in, got)
			}
		})
	}
}

func TestDocumentType(t *testing.T) {
	tests := []struct {
		declared, detected, want string
		mismatch                 bool
	}{
		{"application/pdf", "application/pdf", "application/pdf", false},
		{"application/pdf", "application/zip", "application/pdf", true},
		{"message/rfc822", "text/plain; charset=utf-8", "message/rfc822", false},
		{"application/vnd.ms-excel", "application/octet-stream", "application/vnd.ms-excel", false},
		{"", "image/png", "image/png", false},
		{"", "", "application/octet-stream", false},
		{"IMAGE/PNG", "image/png", "IMAGE/PNG", false},
	}
	for _, tt := range tests {
		d := Document{DeclaredType: tt.declared, DetectedType: tt.detected}
		if got := d.Type(); got != tt.want || d.TypeMismatch() != tt.mismatch {
			t.Errorf("declared %q, detected %q: Type %q, mismatch %v; want %q, %v", tt.declared, tt.detected, got, d.TypeMismatch(), tt.want, tt.mismatch)
		}
	}
}
