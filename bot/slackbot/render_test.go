package slackbot

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/casebot/casebot"
	"github.com/slack-go/slack"
)

func TestRenderPagesStayWithinSlackLimits(t *testing.T) {
	line := strings.Repeat("é<&>", 40) + "\n" // escapes grow it past 3,000 per section quickly
	long := strings.Repeat(line, 5000)
	oneLine := strings.Repeat("x&", 10000) // no line breaks at all
	buttons := []casebot.Button{{ActionID: "deadline_done", Label: "Done #1", Value: "MED-2026-0001/1"},
		{ActionID: "deadline_done", Label: "Done #2", Value: "MED-2026-0001/2"}}
	tests := []struct {
		name      string
		text      string
		maxPages  int
		wantPages int
		truncated bool
	}{
		{"short", "hello", 5, 1, false},
		{"long, five pages", long, 5, 5, true},
		{"long, one page", long, 1, 1, true},
		{"one long line", oneLine, 5, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pages := renderPages(tt.text, buttons, tt.maxPages)
			if len(pages) != tt.wantPages {
				t.Fatalf("pages = %d, want %d", len(pages), tt.wantPages)
			}
			var all strings.Builder
			for i, p := range pages {
				if len(p.blocks) > maxBlocks {
					t.Errorf("page %d: %d blocks", i, len(p.blocks))
				}
				if p.text == "" || len(p.text) > maxFallbackChars {
					t.Errorf("page %d: fallback text of %d bytes", i, len(p.text))
				}
				for _, b := range p.blocks {
					s, ok := b.(*slack.SectionBlock)
					if !ok {
						continue
					}
					if n := utf8.RuneCountInString(s.Text.Text); n > maxSectionChars {
						t.Errorf("page %d: section of %d chars", i, n)
					}
					if !utf8.ValidString(s.Text.Text) || strings.ContainsAny(s.Text.Text, "<>") {
						t.Errorf("page %d: section not valid escaped UTF-8", i)
					}
					all.WriteString(s.Text.Text)
				}
			}
			last := pages[len(pages)-1].blocks
			if ab, ok := last[len(last)-1].(*slack.ActionBlock); !ok || len(ab.Elements.ElementSet) != 2 {
				t.Errorf("last block = %T, want the two buttons", last[len(last)-1])
			} else if a, b := ab.Elements.ElementSet[0].(*slack.ButtonBlockElement), ab.Elements.ElementSet[1].(*slack.ButtonBlockElement); a.ActionID == b.ActionID || actionName(b.ActionID) != "deadline_done" {
				t.Errorf("button action IDs %q, %q: want unique, same name", a.ActionID, b.ActionID)
			}
			if got := strings.Contains(all.String(), "more lines not shown"); got != tt.truncated {
				t.Errorf("truncation note = %v, want %v", got, tt.truncated)
			}
			if !tt.truncated {
				// Nothing lost: unescaping the sections gives the text back
				// (line breaks between sections aside).
				un := strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(all.String())
				if strings.ReplaceAll(un, "\n", "") != strings.ReplaceAll(tt.text, "\n", "") {
					t.Error("text changed by rendering")
				}
			}
		})
	}
}

func TestEscapeSlack(t *testing.T) {
	for in, want := range map[string]string{
		"<!channel> hi":    "&lt;!channel&gt; hi",
		"<@U123|bob> & co": "&lt;@U123|bob&gt; &amp; co",
		"plain":            "plain",
		"&amp;":            "&amp;amp;",
	} {
		if got := escapeSlack(in); got != want {
			t.Errorf("escapeSlack(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRenderPagesBoundaries(t *testing.T) {
	// Exactly 49, 50 and 51 sections, with and without buttons.
	b := []casebot.Button{{ActionID: "show_case", Label: "Show", Value: "MED-2026-0001"}}
	for _, n := range []int{49, 50, 51, 100} {
		text := strings.TrimSuffix(strings.Repeat(strings.Repeat("a", 2999)+"\n", n), "\n")
		for _, buttons := range [][]casebot.Button{nil, b} {
			pages := renderPages(text, buttons, 5)
			sections := 0
			for _, p := range pages {
				if len(p.blocks) > maxBlocks {
					t.Errorf("n=%d buttons=%d: page of %d blocks", n, len(buttons), len(p.blocks))
				}
				for _, bl := range p.blocks {
					if _, ok := bl.(*slack.SectionBlock); ok {
						sections++
					}
				}
			}
			if sections != n {
				t.Errorf("n=%d buttons=%d: %d sections over %d pages", n, len(buttons), sections, len(pages))
			}
		}
	}
}
