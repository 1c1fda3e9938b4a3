package slackbot

import (
	"strconv"
	"time"
)

// appendHomeTime appends t in loc as Time.AppendFormat writes it with
// homeTimeLayout ("Mon 2 Jan 15:04"), or with homeDateLayout ("Mon 2 Jan")
// without clock: a Home writes two hundred dates, and AppendFormat reads
// its layout anew for each.
func appendHomeTime(b []byte, t time.Time, loc *time.Location, clock bool) []byte {
	t = t.In(loc)
	_, month, day := t.Date()
	b = append(append(b, t.Weekday().String()[:3]...), ' ')
	b = append(append(strconv.AppendInt(b, int64(day), 10), ' '), month.String()[:3]...)
	if clock {
		h, m, _ := t.Clock()
		b = append(b, ' ', byte('0'+h/10), byte('0'+h%10), ':', byte('0'+m/10), byte('0'+m%10))
	}
	return b
}
