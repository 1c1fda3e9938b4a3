// Package scheduler sends reminders before deadlines and sessions, reports
// overdue deadlines and builds the daily caseload digests, each exactly once.
package scheduler

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// Daily is a cron schedule evaluated on each reader's wall clock.
//
// robfig/cron v3 evaluates a schedule on the real timeline of a zone, so a job
// whose time falls in a spring-forward gap does not run that day. Daily
// evaluates the expression on the wall clock instead (as if the zone had no
// daylight saving) and maps the result back into the zone: a time in a gap
// runs once, just after the gap; a time in a repeated hour runs once.
type Daily struct {
	spec  string
	sched cron.Schedule
}

// ParseDaily parses a standard five-field cron expression ("0 8 * * 1-5").
// It returns an error naming the expression when it does not parse or when
// it carries its own CRON_TZ (zones come from each reader).
func ParseDaily(spec string) (*Daily, error) {
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("scheduler: cron %q: %w", spec, err)
	}
	if ss, ok := s.(*cron.SpecSchedule); ok && ss.Location != time.Local {
		return nil, fmt.Errorf("scheduler: cron %q: a time zone prefix is not allowed; zones come from each mediator", spec)
	}
	return &Daily{spec: spec, sched: s}, nil
}

// String returns the expression.
func (d *Daily) String() string { return d.spec }

// Next returns the first time strictly after t at which the schedule fires
// on the wall clock of loc, or the zero time if none within five years.
func (d *Daily) Next(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	wall := toWall(t.In(loc))
	for i := 0; i < 4; i++ {
		nw := d.sched.Next(wall)
		if nw.IsZero() {
			return time.Time{}
		}
		real := fromWall(nw, loc)
		if real.After(t) {
			return real
		}
		// The wall time maps to an instant not after t: t lies in the second
		// pass of a repeated hour. Look past it.
		wall = nw
	}
	return time.Time{}
}

// Prev returns the last fire time at or before t on loc's wall clock, or the
// zero time when there is none in the previous 8 days (the schedule fires
// less than weekly). It is used to find the digest that is due now.
func (d *Daily) Prev(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	var last time.Time
	for n := d.Next(t.Add(-8*24*time.Hour), loc); !n.IsZero() && !n.After(t); n = d.Next(n, loc) {
		last = n
	}
	return last
}

// toWall returns t's wall-clock reading as a UTC time.
func toWall(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// fromWall returns the instant in loc whose wall clock reads w. A reading in a
// spring-forward gap is moved forward by the gap (02:30 in a 02:00→03:00 gap
// becomes 03:30); a reading in a repeated hour is its first instant.
// time.Date leaves both choices unspecified, so they are made here.
func fromWall(w time.Time, loc *time.Location) time.Time {
	_, before := w.Add(-36 * time.Hour).In(loc).Zone()
	_, after := w.Add(36 * time.Hour).In(loc).Zone()
	var best time.Time
	for _, off := range []int{before, after} {
		c := w.Add(-time.Duration(off) * time.Second).In(loc)
		if toWall(c).Equal(w) && (best.IsZero() || c.Before(best)) {
			best = c
		}
	}
	if best.IsZero() { // in a gap: read it with the offset from before the gap
		best = w.Add(-time.Duration(before) * time.Second).In(loc)
	}
	return best
}
