package casebot

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestHeadline(t *testing.T) {
	long := strings.Repeat("ä", 100)
	for _, tt := range []struct{ name, in, want string }{
		{"empty", "", ""},
		{"one line", "Position statements", "Position statements"},
		{"first non-blank line", "\n  \n  Offer:\t5k  \nsecond line\n", "Offer: 5k"},
		{"exactly the limit", long[:2*HeadlineRunes], long[:2*HeadlineRunes]},
		{"cut with an ellipsis", long, long[:2*(HeadlineRunes-1)] + "…"},
		{"CRLF", "Re: lease\r\nbody", "Re: lease"},
		{"no space before the ellipsis", strings.Repeat("word ", 30), strings.TrimSpace(strings.Repeat("word ", 16)) + "…"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := Headline(tt.in)
			if got != tt.want {
				t.Errorf("Headline(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if n := utf8.RuneCountInString(got); n > HeadlineRunes {
				t.Errorf("Headline(%q) has %d runes", tt.in, n)
			}
		})
	}
}
