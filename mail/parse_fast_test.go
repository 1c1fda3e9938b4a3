package mail

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// The fast paths in parsing must decide exactly as the slower code they
// stand in front of. These tests hold them against it, on hand-picked
// edge cases and as fuzz targets.

var fastPathLines = []string{
	"", "-", "--", "-- ", "---", "-----Original Message-----", "--- Original Message ---", "----- Forwarded message -----",
	"Begin forwarded message:", "begin forwarded message:", "BEGIN FORWARDED MESSAGE:", "Sent from my iPhone", "sent from my iphone.",
	"ſent from my iPhone", "Get Outlook for iOS", "Envoyé de mon iPhone", "Von meinem iPhone gesendet", "Inviato da iPhone",
	"Gesendet von meinem Telefon", "Enviado desde mi Android", "Sent via Superhuman", "Sent on the go", "Regards", "> quoted",
	"From: A <a@example.com>", "*From:* A", "Sent: Monday", "To: x", "Subject: y", "От: кто", "Date: today", "From A",
	"\u00a0Sent from my iPhone", "İnviato da iPhone", "Kelvin", "Ｓent from my phone",
}

func TestIsSignatureMatchesRegexp(t *testing.T) {
	for _, l := range fastPathLines {
		if got, want := isSignature(l), signatureLine.MatchString(l); got != want {
			t.Errorf("isSignature(%q) = %v, regexp says %v", l, got, want)
		}
	}
}

func TestPrefiltersNeverHideAMatch(t *testing.T) {
	for _, l := range fastPathLines {
		if forwardMarkers.MatchString(l) && !mayForward(l) {
			t.Errorf("mayForward(%q) rejects a forward marker", l)
		}
		if originalMessage.MatchString(l) && !strings.HasPrefix(l, "--") {
			t.Errorf("%q matches originalMessage without a leading --", l)
		}
		for _, re := range []*regexp.Regexp{fromField, sentField, toField} {
			if re.MatchString(l) && !hasColon(l) {
				t.Errorf("%q matches %s without a colon", l, re)
			}
		}
	}
}

var msgIDRe = regexp.MustCompile(`<([^<>\s]+)>`)

func bracketedByRegexp(v string, n int) []string {
	var out []string
	for _, m := range msgIDRe.FindAllStringSubmatch(v, n) {
		out = append(out, m[1])
	}
	return out
}

var bracketCases = []string{
	"", "<a@b>", "<a@b> <c@d>", "<<a@b>>", "<a<b>", "<a b>", "<>", "< a>", "<a\tb> <c>", "x <a@b", "a@b",
	"<a@b><c@d>", "<é@ü>", "<\xff\xfe>", "<a\fb>", "<a\vb>", "<a\u00a0b>", "<a@b>\r\n <c@d>",
}

func TestBracketedMatchesRegexp(t *testing.T) {
	for _, v := range bracketCases {
		if got, want := bracketed(v, 100), bracketedByRegexp(v, 100); !slices.Equal(got, want) {
			t.Errorf("bracketed(%q) = %q, regexp gives %q", v, got, want)
		}
	}
	many := strings.Repeat("<x> ", 150)
	if got, want := bracketed(many, 100), bracketedByRegexp(many, 100); !slices.Equal(got, want) {
		t.Errorf("100 cap: got %d, want %d", len(got), len(want))
	}
}

// slowParseDate is parseDate without the fast path.
func slowParseDate(v string) time.Time {
	if v = strings.TrimSpace(v); v == "" {
		return time.Time{}
	}
	return parseDateSlow(v)
}

var dateCases = []string{
	"Mon, 02 Mar 2026 10:00:00 +0000", "Mon, 2 Mar 2026 10:00:00 -0500", "Tue, 2 Mar 2026 10:00:00 +0100 (CET)",
	"2 Mar 2026 10:00:00 +0000", "Mon, 02 Mar 26 10:00:00 +0000", "Mon, 02 Mar 2026 10:00 +0000", "Xyz, 02 Mar 2026 10:00:00 +0000",
	"Mon,  2 Mar 2026 10:00:00 +0000", "Mon, 02 Mar 2026 10:00:00 GMT", "Mon, 02 Mar 2026 25:00:00 +0000", "Mon, 31 Feb 2026 10:00:00 +0000",
	"Mon, 02 Mar 2026 10:00:00", "Mon, 02 Mar 2026 10:00:00 PST (Pacific)", "Mon, 02 Mar 2026 10:00:00 +9999", "Mon, 02 Mar 2026 10:00:00 -0000", "Mon, 02 Mar 2026 10:00:00 +00000", "x",
}

func TestParseDateFastPathAgrees(t *testing.T) {
	for _, v := range dateCases {
		got, want := parseDate(v), slowParseDate(v)
		_, off1 := got.Zone()
		_, off2 := want.Zone()
		if !got.Equal(want) || off1 != off2 {
			t.Errorf("parseDate(%q) = %v, net/mail path gives %v", v, got, want)
		}
	}
}

func FuzzFastPaths(f *testing.F) {
	for _, s := range append(append(fastPathLines, bracketCases...), dateCases...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isSignature(s), signatureLine.MatchString(s); got != want {
			t.Errorf("isSignature(%q) = %v, regexp says %v", s, got, want)
		}
		if forwardMarkers.MatchString(s) && !mayForward(s) {
			t.Errorf("mayForward(%q) rejects a forward marker", s)
		}
		if got, want := bracketed(s, 100), bracketedByRegexp(s, 100); !slices.Equal(got, want) {
			t.Errorf("bracketed(%q) = %q, regexp gives %q", s, got, want)
		}
		got, want := parseDate(s), slowParseDate(s)
		_, off1 := got.Zone()
		_, off2 := want.Zone()
		if !got.Equal(want) || off1 != off2 {
			t.Errorf("parseDate(%q) = %v, net/mail path gives %v", s, got, want)
		}
	})
}
