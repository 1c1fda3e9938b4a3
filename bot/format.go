package bot

import (
	"fmt"
	"strings"
	"time"

	"github.com/casebot/casebot"
)

// text builds a reply line by line. User content goes in as typed; the
// transport escapes it for its medium.
type text struct{ b strings.Builder }

func (t *text) line(s string)               { t.b.WriteString(s); t.b.WriteByte('\n') }
func (t *text) linef(f string, args ...any) { fmt.Fprintf(&t.b, f, args...); t.b.WriteByte('\n') }
func (t *text) raw(s string)                { t.b.WriteString(s) }
func (t *text) String() string              { return strings.TrimRight(t.b.String(), "\n") }
func (t *text) heading(s string, n int)     { t.linef("%s (%d):", s, n) }

// indent prefixes every line of s after the first with pad, so multi-line
// notes stay under their heading.
func indent(s, pad string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+pad)
}

// formatTime shows t in loc with the zone abbreviation.
func formatTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(loc).Format("2006-01-02 15:04 MST")
}

// formatDuration shows a session length as 2h, 1h30m or 45m.
func formatDuration(d time.Duration) string {
	s := d.Round(time.Minute).String()
	s = strings.TrimSuffix(s, "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	if s == "" {
		return d.String()
	}
	return s
}

// priorityWeight is the weight of an open case in a caseload for
// assign auto: urgent 4, high 3, normal 2, low 1.
func priorityWeight(p casebot.Priority) int { return p.Rank() + 1 }

// caseLine is the one-line summary of a case in lists.
func caseLine(c *casebot.Case, now time.Time, loc *time.Location) string {
	return summaryLine(c.Summary(), now, loc)
}

// summaryLine is a case's line in a list.
func summaryLine(c casebot.CaseSummary, now time.Time, loc *time.Location) string {
	s := fmt.Sprintf("%s  [%s] %s  %s", c.ID, c.Priority, c.Status, c.Title)
	if c.Next != nil {
		d := *c.Next
		mark := "next"
		if d.Overdue(now) {
			mark = "OVERDUE"
		}
		s += fmt.Sprintf("  (%s: %s %s)", mark, formatTime(d.Due, loc), d.Text)
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// formatSize shows a file size as 812 B, 12.3 KB or 4.0 MB (1 KB = 1024 B).
func formatSize(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1024*1024:
		return fmt.Sprintf("%.1f KB", float64(n)/1024)
	default:
		return fmt.Sprintf("%.1f MB", float64(n)/(1024*1024))
	}
}
