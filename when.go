package casebot

import (
	"strconv"
	"strings"
	"time"
)

// ParseWhen reads a point in time as a user types it, in loc:
// "2026-12-01" (09:00 that day), "2026-12-01 14:30", "+10d", "+3h", "+90m",
// "+5bd" (business days, Monday to Friday, keeping the time of day).
// It returns an EINVALID error naming what was wrong.
func ParseWhen(s string, now time.Time, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	s = strings.TrimSpace(s)
	bad := func(why string) (time.Time, error) {
		return time.Time{}, Errorf(EINVALID, "%q is not a time: %s. Use 2026-12-01, \"2026-12-01 14:30\", +10d, +3h or +5bd.", s, why)
	}
	if s == "" {
		return bad("it is empty")
	}
	if strings.HasPrefix(s, "+") {
		rest := s[1:]
		unit := strings.TrimLeft(rest, "0123456789")
		digits := rest[:len(rest)-len(unit)]
		n, err := strconv.Atoi(digits)
		if err != nil || n <= 0 || n > 3660 {
			return bad("the number must be between 1 and 3660")
		}
		local := now.In(loc)
		switch unit {
		case "m":
			return now.Add(time.Duration(n) * time.Minute), nil
		case "h":
			return now.Add(time.Duration(n) * time.Hour), nil
		case "d":
			return local.AddDate(0, 0, n), nil
		case "w":
			return local.AddDate(0, 0, 7*n), nil
		case "bd":
			return AddBusinessDays(local, n), nil
		}
		return bad("the unit must be m, h, d, w or bd")
	}
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			if layout == "2006-01-02" {
				t = time.Date(t.Year(), t.Month(), t.Day(), 9, 0, 0, 0, loc)
			}
			return t, nil
		}
	}
	return bad("the date or time does not parse")
}

// AddBusinessDays moves t forward n weekdays (Monday to Friday), keeping the
// wall-clock time of day in t's zone. A start on a weekend counts from the
// following Monday.
func AddBusinessDays(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	day := time.Date(y, m, d, 12, 0, 0, 0, time.UTC) // noon UTC: no DST in the arithmetic
	for n > 0 {
		day = day.AddDate(0, 0, 1)
		if wd := day.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n--
		}
	}
	y, m, d = day.Date()
	return time.Date(y, m, d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
}

// ParseDuration reads a length of time: Go durations ("90s", "1h30m", "2h")
// or whole days ("7d"). It refuses zero and negative lengths.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	var err error
	if strings.HasSuffix(s, "d") && !strings.ContainsAny(s[:len(s)-1], "hmsuµn") {
		var n int
		n, err = strconv.Atoi(strings.TrimSuffix(s, "d"))
		d = time.Duration(n) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil {
		return 0, Errorf(EINVALID, "%q is not a duration; use 90m, 1h30m, 2h or 7d.", s)
	}
	if d <= 0 {
		return 0, Errorf(EINVALID, "%q is not a positive duration.", s)
	}
	return d, nil
}

// DurationWords says a reminder's offset for people, as every message
// casebot sends words it: "7 days", "1 day", "36 hours", "2 hours 30
// minutes", "45 seconds".
func DurationWords(o time.Duration) string {
	const day = 24 * time.Hour
	count := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return strconv.Itoa(n) + " " + unit + "s"
	}
	if o%day == 0 {
		return count(int(o/day), "day")
	}
	var parts []string
	if h := int(o / time.Hour); h > 0 {
		parts = append(parts, count(h, "hour"))
	}
	if m := int(o % time.Hour / time.Minute); m > 0 {
		parts = append(parts, count(m, "minute"))
	}
	if sec := int(o % time.Minute / time.Second); sec > 0 || len(parts) == 0 {
		parts = append(parts, count(sec, "second"))
	}
	return strings.Join(parts, " ")
}

// LoadZone returns the IANA zone name names (as notices, digests and Home
// carry it), UTC when the name is empty or unknown to this system.
func LoadZone(name string) *time.Location {
	if name == "" || name == "UTC" {
		return time.UTC
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}
