package slackbot

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/slack-go/slack"
)

// RenderHome lists as many of a Home's cases as a view has room for and
// counts the rest, those the Home holds and those it only counts
// (OpenCases beyond casebot.HomeCasesShown), behind "and N more" with the
// button that lists them all.
func TestRenderHomeCountsTheCasesNotListed(t *testing.T) {
	cases := func(n int) []casebot.HomeCase {
		out := make([]casebot.HomeCase, n)
		for i := range out {
			out[i] = casebot.HomeCase{ID: fmt.Sprintf("MED-2026-%04d", i+1), Title: "Case", Priority: casebot.PriorityNormal, Status: casebot.StatusActive}
		}
		return out
	}
	for _, tt := range []struct {
		name       string
		held, open int
		listed     int // Show buttons
		more       int // 0: no "and N more"
	}{
		{"few", 3, 3, 3, 0},
		{"a full view", 94, 94, 94, 0},
		{"one more than fits", 95, 95, 94, 1},
		{"all held", 500, 500, 94, 406},
		{"the first held, all counted", casebot.HomeCasesShown, 500, 94, 406},
		{"counted beyond a short list", 10, 12, 10, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := casebot.Home{Digest: casebot.Digest{User: "U1", OpenCases: tt.open}, Cases: cases(tt.held)}
			bs := RenderHome(&h, true)
			if len(bs) > maxViewBlocks {
				t.Fatalf("%d blocks", len(bs))
			}
			var text []string
			listed, list := 0, 0
			for _, b := range bs {
				switch b := b.(type) {
				case *slack.SectionBlock:
					text = append(text, b.Text.Text)
					if b.Accessory != nil && b.Accessory.ButtonElement != nil && b.Accessory.ButtonElement.ActionID == casebot.ActionShowCase {
						listed++
					}
				case *slack.ActionBlock:
					for _, e := range b.Elements.ElementSet {
						if btn, ok := e.(*slack.ButtonBlockElement); ok && btn.ActionID == ActionListCases {
							list++
						}
					}
				}
			}
			all := strings.Join(text, "\n")
			if !strings.Contains(all, fmt.Sprintf("*Your open cases* (%d)", tt.open)) {
				t.Errorf("no count of %d:\n%s", tt.open, all)
			}
			if listed != tt.listed {
				t.Errorf("%d cases listed, want %d", listed, tt.listed)
			}
			more := fmt.Sprintf("and %d more open cases", tt.more)
			if tt.more > 0 && (!strings.Contains(all, more) || list != 1) {
				t.Errorf("want %q and one list button (%d):\n%s", more, list, all)
			}
			if tt.more == 0 && (strings.Contains(all, "more open cases") || list != 0) {
				t.Errorf("\"and N more\" with every case listed:\n%s", all)
			}
		})
	}
}

// oneLine's fast path (nothing to fold) gives what folding would give.
func TestOneLineFolds(t *testing.T) {
	for _, s := range []string{"", "a", "Lease dispute", " lead", "trail ", "two  spaces", "tab\there", "line\nbreak", "cr\r", "nbsp\u00a0x",
		"é accent", "x\u2003em", "\v\f", strings.Repeat("long words ", 40), strings.Repeat("é", 300)} {
		for _, max := range []int{1, 5, 200} {
			want := cutRunes(strings.Join(strings.Fields(s), " "), max)
			if got := oneLine(s, max); got != want {
				t.Errorf("oneLine(%q, %d) = %q, want %q", s, max, got, want)
			}
		}
	}
}

// The lines of the next 7 days' deadlines and of the open cases, in the
// user's zone, escaped.
func TestRenderHomeLines(t *testing.T) {
	at := time.Date(2026, 3, 2, 14, 30, 0, 0, time.UTC) // Mon 2 Mar, 15:30 in Paris
	h := casebot.Home{Digest: casebot.Digest{User: "U1", Zone: "Europe/Paris", OpenCases: 1,
		Deadlines: []casebot.DigestItem{{CaseID: "MED-2026-0001", N: 3, When: at, Text: "Papers  <due>\nsoon"}}},
		Cases: []casebot.HomeCase{{ID: "MED-2026-0001", Title: "Rent & fence", Priority: casebot.PriorityHigh, Status: casebot.StatusActive,
			Next: casebot.Deadline{N: 3, Due: at}}}}
	var text []string
	for _, b := range RenderHome(&h, false) {
		if s, ok := b.(*slack.SectionBlock); ok {
			text = append(text, s.Text.Text)
		}
	}
	all := strings.Join(text, "\n")
	for _, want := range []string{"\n• Mon 2 Mar 15:30 *MED-2026-0001* #3: Papers &lt;due&gt; soon",
		"*MED-2026-0001* Rent &amp; fence\nhigh, active; next deadline Mon 2 Mar"} {
		if !strings.Contains(all, want) {
			t.Errorf("home lacks %q:\n%s", want, all)
		}
	}
}
