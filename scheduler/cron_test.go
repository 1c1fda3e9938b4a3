package scheduler

import (
	"testing"
	"time"
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// fires lists the fire times of d in (from, to].
func fires(d *Daily, from, to time.Time, loc *time.Location) []time.Time {
	var out []time.Time
	for n := d.Next(from, loc); !n.IsZero() && !n.After(to); n = d.Next(n, loc) {
		out = append(out, n)
	}
	return out
}

func TestDailyAcrossDST(t *testing.T) {
	london := mustLoad(t, "Europe/London")
	ny := mustLoad(t, "America/New_York")
	tokyo := mustLoad(t, "Asia/Tokyo")
	tests := []struct {
		name     string
		spec     string
		loc      *time.Location
		from, to time.Time
		want     []string // local wall clock readings
	}{
		{"london 08:00 across spring forward", "0 8 * * *", london,
			time.Date(2026, 3, 28, 0, 0, 0, 0, london), time.Date(2026, 3, 31, 0, 0, 0, 0, london),
			[]string{"2026-03-28 08:00 GMT", "2026-03-29 08:00 BST", "2026-03-30 08:00 BST"}},
		{"london 08:00 across fall back", "0 8 * * *", london,
			time.Date(2026, 10, 24, 0, 0, 0, 0, london), time.Date(2026, 10, 27, 0, 0, 0, 0, london),
			[]string{"2026-10-24 08:00 BST", "2026-10-25 08:00 GMT", "2026-10-26 08:00 GMT"}},
		{"london job in the skipped hour runs once", "30 1 * * *", london,
			time.Date(2026, 3, 28, 12, 0, 0, 0, london), time.Date(2026, 3, 30, 12, 0, 0, 0, london),
			[]string{"2026-03-29 02:30 BST", "2026-03-30 01:30 BST"}},
		{"london job in the repeated hour runs once", "30 1 * * *", london,
			time.Date(2026, 10, 24, 12, 0, 0, 0, london), time.Date(2026, 10, 26, 12, 0, 0, 0, london),
			[]string{"2026-10-25 01:30 BST", "2026-10-26 01:30 GMT"}},
		{"new york job in the skipped hour runs once", "30 2 * * *", ny,
			time.Date(2026, 3, 7, 12, 0, 0, 0, ny), time.Date(2026, 3, 9, 12, 0, 0, 0, ny),
			[]string{"2026-03-08 03:30 EDT", "2026-03-09 02:30 EDT"}},
		{"new york job in the repeated hour runs once", "30 1 * * *", ny,
			time.Date(2026, 10, 31, 12, 0, 0, 0, ny), time.Date(2026, 11, 2, 12, 0, 0, 0, ny),
			[]string{"2026-11-01 01:30 EDT", "2026-11-02 01:30 EST"}},
		{"new york weekday digest across fall back", "0 8 * * 1-5", ny,
			time.Date(2026, 10, 30, 0, 0, 0, 0, ny), time.Date(2026, 11, 3, 0, 0, 0, 0, ny),
			[]string{"2026-10-30 08:00 EDT", "2026-11-02 08:00 EST"}},
		{"tokyo without DST", "0 8 * * *", tokyo,
			time.Date(2026, 3, 28, 0, 0, 0, 0, tokyo), time.Date(2026, 3, 30, 0, 0, 0, 0, tokyo),
			[]string{"2026-03-28 08:00 JST", "2026-03-29 08:00 JST"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseDaily(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range fires(d, tt.from, tt.to, tt.loc) {
				got = append(got, f.In(tt.loc).Format("2006-01-02 15:04 MST"))
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestDailyNextFromInsideRepeatedHour(t *testing.T) {
	london := mustLoad(t, "Europe/London")
	d, err := ParseDaily("45 1 * * *")
	if err != nil {
		t.Fatal(err)
	}
	// 01:50 BST: the first pass of the repeated hour, after 01:45 BST.
	first := time.Date(2026, 10, 25, 0, 50, 0, 0, time.UTC)
	n := d.Next(first, london)
	if !n.After(first) {
		t.Fatalf("Next(%v) = %v, not after", first, n)
	}
	// Whatever it picks, the next run after that is the following day.
	if nn := d.Next(n, london); nn.Sub(n) < 23*time.Hour {
		t.Fatalf("ran twice on the repeated hour: %v then %v", n, nn)
	}
}

func TestDailyPrev(t *testing.T) {
	d, err := ParseDaily("0 8 * * 1-5")
	if err != nil {
		t.Fatal(err)
	}
	// Saturday 2026-11-28 10:00 UTC: the last weekday digest was Friday 08:00.
	got := d.Prev(time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC), time.UTC)
	if want := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("Prev = %v, want %v", got, want)
	}
	at := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	if got := d.Prev(at, time.UTC); !got.Equal(at) {
		t.Fatalf("Prev at a fire time = %v, want %v", got, at)
	}
}

func TestParseDailyErrors(t *testing.T) {
	for _, spec := range []string{"", "61 8 * * *", "0 8 * *", "CRON_TZ=Europe/London 0 8 * * *", "every day"} {
		if _, err := ParseDaily(spec); err == nil {
			t.Errorf("ParseDaily(%q) succeeded", spec)
		}
	}
}
