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
