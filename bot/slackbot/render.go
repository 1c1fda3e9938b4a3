package slackbot

import (
	"strings"
	"unicode/utf8"

	"github.com/casebot/casebot"
	"github.com/slack-go/slack"
)

// Slack's limits on one message.
const (
	maxSectionChars  = 3000 // characters in one section's text
	maxBlocks        = 50   // blocks in one message
	maxButtons       = 25   // elements in one actions block
	maxResponsePosts = 5    // posts to one response_url
	maxFallbackChars = 3000 // the notification text beside the blocks
	maxButtonLabel   = 75
)

// escapeSlack escapes the three characters Slack treats as control
// sequences, so that <!channel>, <!here> or <@U123> typed into a title or a
// note shows as text and pings no one.
func escapeSlack(s string) string {
	for i := 0; i < len(s); i++ { // not strings.ContainsAny: it builds a set each call
		if c := s[i]; c == '&' || c == '<' || c == '>' {
			return slackEscaper.Replace(s)
		}
	}
	return s
}

var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// splitText cuts escaped text into chunks of at most max bytes, on line
// boundaries where it can, never inside an escape sequence or a rune.
func splitText(s string, max int) []string {
	var out []string
	for len(s) > max {
		cut := strings.LastIndexByte(s[:max], '\n')
		if cut <= 0 {
			cut = max
			for cut > 0 && !utf8.RuneStart(s[cut]) {
				cut--
			}
			// Do not split "&amp;" and friends.
			if amp := strings.LastIndexByte(s[:cut], '&'); amp >= 0 && amp > cut-5 && !strings.Contains(s[amp:cut], ";") {
				cut = amp
			}
			if cut == 0 {
				cut = max
			}
			out = append(out, s[:cut])
			s = s[cut:]
			continue
		}
		out = append(out, s[:cut])
		s = s[cut+1:]
	}
	if s != "" || len(out) == 0 {
		out = append(out, s)
	}
	return out
}

// section returns a mrkdwn section of already escaped text. Verbatim stops
// Slack from turning bare channel names and URLs into links.
func section(escaped string) slack.Block {
	if strings.TrimSpace(escaped) == "" {
		escaped = " "
	}
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, escaped, false, true), nil, nil)
}

// actions returns an actions block with one button per casebot.Button.
// Action IDs must be unique in a block, so repeats get a ".N" suffix that
// actionName strips again.
func actions(buttons []casebot.Button) slack.Block {
	seen := map[string]int{}
	var els []slack.BlockElement
	for i, b := range buttons {
		if i == maxButtons {
			break
		}
		id := b.ActionID
		if n := seen[id]; n > 0 {
			id = b.ActionID + "." + itoa(n)
		}
		seen[b.ActionID]++
		label := b.Label
		if utf8.RuneCountInString(label) > maxButtonLabel {
			label = string([]rune(label)[:maxButtonLabel-1]) + "…"
		}
		els = append(els, slack.NewButtonBlockElement(id, b.Value, slack.NewTextBlockObject(slack.PlainTextType, label, false, false)))
	}
	return slack.NewActionBlock("", els...)
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// actionName returns the action ID as the table knows it.
func actionName(id string) string {
	name, _, _ := strings.Cut(id, ".")
	return name
}

// page is one Slack message: its blocks and the fallback text.
type page struct {
	blocks []slack.Block
	text   string
}

// renderPages turns plain text and buttons into at most maxPages messages
// within Slack's limits. When the text does not fit, the last page says how
// much was left out. Buttons go on the last page.
func renderPages(text string, buttons []casebot.Button, maxPages int) []page {
	chunks := splitText(escapeSlack(strings.TrimRight(text, "\n")), maxSectionChars)
	room := maxBlocks // blocks for text on the last page
	if len(buttons) > 0 {
		room--
	}
	var pages []page
	for len(chunks) > 0 {
		finalPage := len(pages) == maxPages-1
		if len(chunks) <= room || (!finalPage && len(chunks) <= maxBlocks && len(buttons) == 0) {
			pages = append(pages, newPage(chunks))
			break
		}
		if !finalPage {
			// Leave at least one chunk for the page that carries the buttons.
			n := min(maxBlocks, len(chunks)-1)
			pages = append(pages, newPage(chunks[:n]))
			chunks = chunks[n:]
			continue
		}
		// The last page we may send: make room for a note.
		n := room - 1
		omitted := 0
		for _, c := range chunks[n:] {
			omitted += strings.Count(c, "\n") + 1
		}
		p := newPage(chunks[:n])
		p.blocks = append(p.blocks, section("_… "+itoa(omitted)+" more lines not shown; narrow the command to see them._"))
		pages = append(pages, p)
		break
	}
	if len(buttons) > 0 {
		lp := &pages[len(pages)-1]
		lp.blocks = append(lp.blocks, actions(buttons))
	}
	return pages
}

func newPage(chunks []string) page {
	p := page{blocks: make([]slack.Block, 0, len(chunks)+1)}
	for _, c := range chunks {
		p.blocks = append(p.blocks, section(c))
	}
	p.text = chunks[0]
	if len(p.text) > maxFallbackChars {
		p.text = splitText(p.text, maxFallbackChars)[0]
	}
	return p
}

// replyMessages renders a command reply as ephemeral response messages:
// the first is the immediate answer, the rest follow through response_url.
func replyMessages(r casebot.Reply, maxPages int) []*slack.WebhookMessage {
	text := r.Text
	if text == "" && r.Err != nil {
		text = casebot.ErrorMessage(r.Err)
	}
	if text == "" {
		text = "Done."
	}
	pages := renderPages(text, r.Buttons, maxPages)
	msgs := make([]*slack.WebhookMessage, len(pages))
	for i, p := range pages {
		msgs[i] = &slack.WebhookMessage{
			ResponseType: slack.ResponseTypeEphemeral,
			Text:         p.text,
			Blocks:       &slack.Blocks{BlockSet: p.blocks},
		}
	}
	return msgs
}

// workingMessage is the immediate acknowledgement of a slow command.
func workingMessage() *slack.WebhookMessage {
	return &slack.WebhookMessage{ResponseType: slack.ResponseTypeEphemeral, Text: "Working on it…"}
}
