package mail

import (
	"strconv"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// HTMLToText turns an HTML body into readable plain text: paragraphs and
// headings separated by blank lines, <br> and block ends as line breaks,
// list items as "- " or "1. ", table cells side by side, links as
// "text (url)" when the text is not the URL already, blockquotes as "> "
// quoted lines (so ExtractReply can drop quoted history), entities decoded,
// and script, style, head and template content dropped.
func HTMLToText(s string) string {
	w := &htmlText{}
	z := html.NewTokenizer(strings.NewReader(s))
	skip := 0 // depth inside elements whose content is not text
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return w.String()
		case html.TextToken:
			if skip == 0 {
				w.text(string(z.Text()))
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			a := atom.Lookup(name)
			if skipped(a) {
				if tt == html.StartTagToken {
					skip++
				}
				continue
			}
			if skip > 0 {
				continue
			}
			var href string
			if a == atom.A && hasAttr {
				for {
					k, v, more := z.TagAttr()
					if string(k) == "href" {
						href = string(v)
					}
					if !more {
						break
					}
				}
			}
			w.start(a, href, tt == html.SelfClosingTagToken)
		case html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if skipped(a) {
				if skip > 0 {
					skip--
				}
				continue
			}
			if skip == 0 {
				w.end(a)
			}
		}
	}
}

func skipped(a atom.Atom) bool {
	switch a {
	case atom.Script, atom.Style, atom.Head, atom.Title, atom.Template, atom.Noscript, atom.Iframe, atom.Object, atom.Svg:
		return true
	}
	return false
}

type htmlList struct {
	ordered bool
	n       int
}

// htmlText builds the text: line breaks are requested and written lazily
// so runs of block ends collapse into at most one blank line.
type htmlText struct {
	b         strings.Builder
	nl        int  // newlines owed before the next text
	lineStart bool // the next text starts a line
	space     bool // a space is owed before the next text
	quote     int  // blockquote depth
	pre       int
	endSpace  bool // the last byte written was a space
	lists     []htmlList
	links     []htmlLink
}

type htmlLink struct {
	href  string
	start int // b.Len() when the link began
}

func (w *htmlText) String() string {
	lines := strings.Split(w.b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.Trim(strings.Join(lines, "\n"), "\n")
}

func (w *htmlText) newline(n int) {
	if w.b.Len() == 0 {
		return
	}
	if n > w.nl {
		w.nl = n
	}
	w.space = false
}

func (w *htmlText) quotePrefix(blank bool) string {
	if w.quote == 0 {
		return ""
	}
	if blank {
		return strings.Repeat(">", w.quote)
	}
	return strings.Repeat("> ", w.quote)
}

// emit writes s (without newlines) after any owed line breaks and space.
func (w *htmlText) emit(s string) {
	if w.nl > 0 {
		for i := 0; i < w.nl; i++ {
			w.b.WriteByte('\n')
			if i < w.nl-1 {
				w.b.WriteString(w.quotePrefix(true))
			}
		}
		w.nl = 0
		w.lineStart = true
	}
	if w.b.Len() == 0 {
		w.lineStart = true
	}
	if w.lineStart {
		w.b.WriteString(w.quotePrefix(false))
		w.lineStart = false
	} else if w.space && !w.endSpace {
		w.b.WriteByte(' ')
	}
	w.space = false
	w.b.WriteString(s)
	w.endSpace = strings.HasSuffix(s, " ")
}

func (w *htmlText) text(s string) {
	if w.pre > 0 {
		for i, line := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
			if i > 0 {
				w.nl++
			}
			if line != "" {
				w.emit(line)
			}
		}
		return
	}
	words := strings.Fields(s)
	if len(words) == 0 {
		if s != "" && w.b.Len() > 0 && w.nl == 0 {
			w.space = true
		}
		return
	}
	if startsSpace(s) && w.nl == 0 {
		w.space = true
	}
	w.emit(strings.Join(words, " "))
	w.space = endsSpace(s)
}

func startsSpace(s string) bool { return s != "" && strings.TrimLeft(s, " \t\r\n\f\u00a0") != s }
func endsSpace(s string) bool   { return s != "" && strings.TrimRight(s, " \t\r\n\f\u00a0") != s }

func (w *htmlText) start(a atom.Atom, href string, selfClosing bool) {
	switch a {
	case atom.Br:
		w.emitBreak()
	case atom.P, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Table, atom.Hr:
		w.newline(2)
	case atom.Div, atom.Tr, atom.Section, atom.Article, atom.Header, atom.Footer, atom.Dt, atom.Dd, atom.Center, atom.Address:
		w.newline(1)
	case atom.Blockquote:
		w.newline(1)
		w.quote++
	case atom.Pre:
		w.newline(2)
		w.pre++
	case atom.Ul, atom.Ol:
		w.newline(1)
		if len(w.lists) == 0 {
			w.newline(2) // a top-level list is a paragraph
		}
		if !selfClosing {
			w.lists = append(w.lists, htmlList{ordered: a == atom.Ol})
		}
	case atom.Li:
		w.newline(1)
		indent := ""
		if len(w.lists) > 1 {
			indent = strings.Repeat("  ", len(w.lists)-1)
		}
		marker := "- "
		if n := len(w.lists); n > 0 && w.lists[n-1].ordered {
			w.lists[n-1].n++
			marker = strconv.Itoa(w.lists[n-1].n) + ". "
		}
		w.emit(indent + marker)
	case atom.Td, atom.Th:
		w.space = true
	case atom.A:
		if !selfClosing {
			w.links = append(w.links, htmlLink{href: strings.TrimSpace(href), start: w.b.Len()})
		}
	}
}

// emitBreak writes a line break now, so consecutive <br>s make blank lines.
func (w *htmlText) emitBreak() {
	if w.b.Len() == 0 && w.nl == 0 {
		return
	}
	w.nl++
	w.space = false
	if w.nl > 2 {
		w.nl = 2
	}
}

func (w *htmlText) end(a atom.Atom) {
	switch a {
	case atom.P, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Table:
		w.newline(2)
	case atom.Div, atom.Tr, atom.Li, atom.Section, atom.Article, atom.Header, atom.Footer, atom.Dt, atom.Dd, atom.Center, atom.Address:
		w.newline(1)
	case atom.Blockquote:
		w.newline(1)
		if w.quote > 0 {
			w.quote--
		}
	case atom.Pre:
		w.newline(2)
		if w.pre > 0 {
			w.pre--
		}
	case atom.Ul, atom.Ol:
		w.newline(1)
		if n := len(w.lists); n > 0 {
			w.lists = w.lists[:n-1]
		}
		if len(w.lists) == 0 {
			w.newline(2)
		}
	case atom.A:
		n := len(w.links)
		if n == 0 {
			return
		}
		l := w.links[n-1]
		w.links = w.links[:n-1]
		if !showLink(l.href) {
			return
		}
		text := strings.TrimSpace(w.b.String()[l.start:])
		if sameLink(text, l.href) {
			return
		}
		if text == "" {
			w.emit(l.href)
			return
		}
		w.space = true
		w.emit("(" + l.href + ")")
	}
}

func showLink(href string) bool {
	h := strings.ToLower(href)
	return strings.HasPrefix(h, "http://") || strings.HasPrefix(h, "https://") || strings.HasPrefix(h, "mailto:")
}

func sameLink(text, href string) bool {
	norm := func(s string) string {
		s = strings.ToLower(strings.TrimSpace(s))
		for _, p := range []string{"mailto:", "https://", "http://", "www."} {
			s = strings.TrimPrefix(s, p)
		}
		return strings.TrimRight(s, "/")
	}
	return norm(text) == norm(href)
}
