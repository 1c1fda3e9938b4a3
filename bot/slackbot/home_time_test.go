package slackbot

import (
	"testing"
	"time"

	"github.com/casebot/casebot"
)

// appendHomeTime writes what AppendFormat writes with the Home's layouts,
// in zones with and without daylight saving, across its changes, every
// weekday and month, midnight and single-digit days.
func TestAppendHomeTimeIsAppendFormat(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, zone := range []string{"", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"} {
		loc := casebot.LoadZone(zone)
		for at := start; at.Before(start.AddDate(1, 0, 0)); at = at.Add(97 * time.Minute) {
			for _, tt := range []struct {
				layout string
				clock  bool
			}{{homeTimeLayout, true}, {homeDateLayout, false}} {
				want := at.In(loc).AppendFormat([]byte("x"), tt.layout)
				if got := appendHomeTime([]byte("x"), at, loc, tt.clock); string(got) != string(want) {
					t.Fatalf("%v in %q: %q, want %q", at, zone, got, want)
				}
			}
		}
	}
}
