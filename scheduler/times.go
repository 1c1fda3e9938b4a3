package scheduler

import (
	"fmt"
	"time"
)

const day = 24 * time.Hour

// daySlack bounds how far a wall-clock day offset may stray from the same
// offset in exact hours (a DST change moves it by an hour, rarely two).
// Scans widen their index ranges by it, then filter on the exact fire time.
const daySlack = 3 * time.Hour

// slackOf returns the widening an offset's index ranges need.
func slackOf(o time.Duration) time.Duration {
	if o%day == 0 {
		return daySlack
	}
	return 0
}

// fireTime returns when the reminder at offset o before due fires for a
// reader in loc: whole days are wall-clock days in loc (09:00 the day
// before, whatever DST does in between), other offsets exact durations.
func fireTime(due time.Time, o time.Duration, loc *time.Location) time.Time {
	exact := due.Add(-o)
	if o%day != 0 {
		return exact
	}
	f := fromWall(toWall(due.In(loc)).AddDate(0, 0, -int(o/day)), loc)
	if d := f.Sub(exact); d > daySlack || d < -daySlack {
		return exact // a zone that skipped a whole day: keep it simple
	}
	return f.UTC()
}

// dailyFire returns the k-th daily repetition of t on loc's wall clock.
func dailyFire(t time.Time, k int, loc *time.Location) time.Time {
	return fromWall(toWall(t.In(loc)).AddDate(0, 0, k), loc).UTC()
}

// lastDaily returns the last daily repetition of t (on loc's wall clock) at
// or before now, with its index k >= 0; ok is false when t is after now.
func lastDaily(t, now time.Time, loc *time.Location) (time.Time, int, bool) {
	if t.After(now) {
		return time.Time{}, 0, false
	}
	k := max(int(now.Sub(t)/day)-1, 0)
	f := dailyFire(t, k, loc)
	for {
		n := dailyFire(t, k+1, loc)
		if n.After(now) {
			return f, k, true
		}
		f, k = n, k+1
	}
}

// fmtTime shows a time to a reader in loc.
func fmtTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("Mon 2 Jan 2006 15:04 MST")
}

// fmtDate shows a day to a reader in loc.
func fmtDate(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("Mon 2 Jan")
}

// offsetLabel names an offset in keys: "7d", "2h", "90m", "45s".
func offsetLabel(o time.Duration) string {
	switch {
	case o%day == 0:
		return fmt.Sprintf("%dd", o/day)
	case o%time.Hour == 0:
		return fmt.Sprintf("%dh", o/time.Hour)
	case o%time.Minute == 0:
		return fmt.Sprintf("%dm", o/time.Minute)
	}
	return o.String()
}
