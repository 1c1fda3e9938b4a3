package casebot_test

import (
	"testing"
	"time"

	"github.com/casebot/casebot"
)

func TestParseWhen(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	// Wednesday 2026-11-25 10:00 in London.
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, london)
	tests := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"2026-12-01", time.Date(2026, 12, 1, 9, 0, 0, 0, london), false},
		{"2026-12-01 14:30", time.Date(2026, 12, 1, 14, 30, 0, 0, london), false},
		{"+10d", time.Date(2026, 12, 5, 10, 0, 0, 0, london), false},
		{"+3h", now.Add(3 * time.Hour), false},
		{"+5bd", time.Date(2026, 12, 2, 10, 0, 0, 0, london), false}, // Thu, Fri, Mon, Tue, Wed
		{"+2bd", time.Date(2026, 11, 27, 10, 0, 0, 0, london), false},
		{"+3bd", time.Date(2026, 11, 30, 10, 0, 0, 0, london), false}, // skips the weekend
		{"", time.Time{}, true},
		{"+0d", time.Time{}, true},
		{"+5x", time.Time{}, true},
		{"tomorrow", time.Time{}, true},
		{"2026-13-01", time.Time{}, true},
		{"2026-12-01 25:00", time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := casebot.ParseWhen(tt.in, now, london)
			if tt.err {
				if casebot.ErrorCode(err) != casebot.EINVALID {
					t.Fatalf("ParseWhen(%q) error = %v, want EINVALID", tt.in, err)
				}
				return
			}
			if err != nil || !got.Equal(tt.want) {
				t.Fatalf("ParseWhen(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestAddBusinessDaysAcrossDST(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	// Friday before the 2026-11-01 fall-back; +1bd is Monday, still 09:00 local.
	start := time.Date(2026, 10, 30, 9, 0, 0, 0, ny)
	got := casebot.AddBusinessDays(start, 1)
	if want := time.Date(2026, 11, 2, 9, 0, 0, 0, ny); !got.Equal(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// Saturday start counts from Monday: +1bd is Monday.
	sat := time.Date(2026, 11, 28, 9, 0, 0, 0, ny)
	if got, want := casebot.AddBusinessDays(sat, 1), time.Date(2026, 11, 30, 9, 0, 0, 0, ny); !got.Equal(want) {
		t.Fatalf("from Saturday got %v, want %v", got, want)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"90s": 90 * time.Second, "1h30m": 90 * time.Minute, "7d": 7 * 24 * time.Hour, "2h": 2 * time.Hour} {
		got, err := casebot.ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0s", "-1h", "abc", "1.5d", "d"} {
		if _, err := casebot.ParseDuration(in); casebot.ErrorCode(err) != casebot.EINVALID {
			t.Errorf("ParseDuration(%q) error = %v, want EINVALID", in, err)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	good := map[string]string{"A.B@Example.COM": "a.b@example.com", " x+y@d.org ": "x+y@d.org"}
	for in, want := range good {
		if got, err := casebot.NormalizeEmail(in); err != nil || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "a", "a@", "@b.c", "a@b", "a b@c.d", "<a@b.c>", "a@b.c\r\nBcc: x@y.z", "a..b@c.d", "Name <a@b.c>"} {
		if _, err := casebot.NormalizeEmail(in); casebot.ErrorCode(err) != casebot.EINVALID {
			t.Errorf("NormalizeEmail(%q) error = %v, want EINVALID", in, err)
		}
	}
}

func TestNormalizeName(t *testing.T) {
	if a, b := casebot.NormalizeName("Smith, John"), casebot.NormalizeName("john  SMITH"); a != b {
		t.Fatalf("%q != %q", a, b)
	}
	if a, b := casebot.NormalizeName("José Núñez"), casebot.NormalizeName("núñez josé"); a != b {
		t.Fatalf("%q != %q", a, b)
	}
}

func TestAccess(t *testing.T) {
	c := &casebot.Case{ID: "MED-2026-0001", Mediator: "U1"}
	for _, tt := range []struct {
		a    casebot.Actor
		want bool
	}{
		{casebot.Actor{ID: "UADMIN", Admin: true}, true},
		{casebot.Actor{ID: "U1"}, true},
		{casebot.Actor{ID: "U2"}, false},
		{casebot.Actor{}, false},
	} {
		if got := tt.a.CanSee(c); got != tt.want {
			t.Errorf("%+v.CanSee = %v, want %v", tt.a, got, tt.want)
		}
	}
}

// FuzzParseWhen checks that no typed time panics the parser and that every
// accepted time is after the present for relative forms.
func FuzzParseWhen(f *testing.F) {
	for _, s := range []string{"2026-12-01", "2026-12-01 14:30", "+10d", "+3h", "+5bd", "+90m", "+2w", "", "+", "+99999999999999999999d", "2026-02-30", "+1bd\x00"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := casebot.ParseWhen(s, now, time.UTC)
		if err != nil {
			if casebot.ErrorCode(err) != casebot.EINVALID {
				t.Fatalf("ParseWhen(%q) error code %q, want EINVALID", s, casebot.ErrorCode(err))
			}
			return
		}
		if len(s) > 0 && s[0] == '+' && !got.After(now) {
			t.Fatalf("ParseWhen(%q) = %v, not after now", s, got)
		}
	})
}

func TestDurationWords(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{7 * 24 * time.Hour, "7 days"},
		{24 * time.Hour, "1 day"},
		{36 * time.Hour, "36 hours"},
		{2*time.Hour + 30*time.Minute, "2 hours 30 minutes"},
		{time.Hour, "1 hour"},
		{90 * time.Second, "1 minute 30 seconds"},
		{45 * time.Second, "45 seconds"},
	} {
		if got := casebot.DurationWords(tt.d); got != tt.want {
			t.Errorf("DurationWords(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
