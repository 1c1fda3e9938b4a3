package mail

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
	htmlcharset "golang.org/x/net/html/charset"
	"golang.org/x/text/encoding/charmap"

	"github.com/casebot/casebot"
)

// parser walks one message's MIME tree, streaming every part.
type parser struct {
	lim       Limits
	m         *Message
	parts     int
	truncated bool // a text part was longer than MaxTextBytes
}

// segment is one piece of body text, in message order.
type segment struct {
	text string
	html bool // converted from HTML
}

// collector gathers body text; alternatives get their own collector so the
// best one can be chosen.
type collector struct{ segs []segment }

func (c *collector) addPlain(s string) { c.add(segment{text: s}) }
func (c *collector) addHTML(s string)  { c.add(segment{text: s, html: true}) }

func (c *collector) add(s segment) {
	if strings.TrimSpace(s.text) != "" {
		c.segs = append(c.segs, s)
	}
}

func (c *collector) hasPlain() bool {
	for _, s := range c.segs {
		if !s.html {
			return true
		}
	}
	return false
}

func (c *collector) htmlOnly() bool { return len(c.segs) > 0 && !c.hasPlain() }

// text joins the segments and caps the result at MaxTextBytes.
func (c *collector) text() (string, bool) {
	var b strings.Builder
	for i, s := range c.segs {
		if i > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(strings.Trim(s.text, "\n"))
	}
	return capText(b.String(), MaxTextBytes)
}

// capText cuts s to at most max bytes at a rune boundary.
func capText(s string, max int) (string, bool) {
	if len(s) <= max {
		return s, false
	}
	s = s[:max]
	for len(s) > 0 && !utf8.ValidString(s[len(s)-4:]) {
		s = s[:len(s)-1]
	}
	return strings.ToValidUTF8(s, ""), true
}

// leafErr reports whether a read error inside one part should stop the
// whole message. Bad base64 or quoted-printable spoils only its own part.
func leafErr(err error) error {
	if err == nil {
		return nil
	}
	var ce base64.CorruptInputError
	if errors.As(err, &ce) || strings.HasPrefix(err.Error(), "quotedprintable:") {
		return nil
	}
	return err
}

// mediaType returns the lower-case media type and parameters of a part,
// text/plain when the Content-Type is missing or garbage (RFC 2045 §5.2).
func mediaType(h message.Header) (string, map[string]string) {
	mt, params, err := h.ContentType()
	if err != nil {
		mt = strings.TrimSpace(strings.SplitN(mt, ";", 2)[0])
		if !strings.Contains(mt, "/") || strings.ContainsAny(mt, " \t\"") {
			mt = "text/plain"
		}
	}
	if params == nil {
		params = map[string]string{}
	}
	return strings.ToLower(mt), params
}

// walkEntity reads e and everything below it into c and p.m.Attachments.
func (p *parser) walkEntity(e *message.Entity, c *collector, depth int, entErr error) error {
	mt, params := mediaType(e.Header)
	if depth > maxDepth || p.parts >= maxParts {
		_, err := io.Copy(io.Discard, e.Body)
		return leafErr(err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		return p.walkMultipart(e, mt, params, c, depth)
	}
	p.parts++
	disp, dparams, _ := e.Header.ContentDisposition()
	disp = strings.ToLower(disp)
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	switch {
	case mt == "message/rfc822" || mt == "message/global":
		return p.forward(e, name, c, depth)
	case mt == "message/delivery-status" || mt == "message/global-delivery-status":
		return p.deliveryStatus(e.Body)
	case (mt == "text/plain" || mt == "text/html") && disp != "attachment" && name == "":
		s, cut, err := readText(e.Body, mt, params)
		if err != nil {
			return err
		}
		p.truncated = p.truncated || cut
		if mt == "text/html" {
			c.addHTML(HTMLToText(s))
		} else {
			c.addPlain(s)
		}
		return nil
	}
	return p.attachment(e.Body, mt, name)
}

func (p *parser) walkMultipart(e *message.Entity, mt string, params map[string]string, c *collector, depth int) error {
	mr := e.MultipartReader()
	if mr == nil {
		return fmt.Errorf("%s: no multipart reader", mt)
	}
	var best *collector
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
			return fmt.Errorf("%s: %w", mt, err)
		}
		if part == nil {
			return fmt.Errorf("%s: %w", mt, err)
		}
		switch {
		case mt == "multipart/alternative":
			// Prefer the first plain-text alternative, else the first with any text.
			var sub collector
			if err := p.walkEntity(part, &sub, depth+1, err); err != nil {
				return err
			}
			if best == nil || (!best.hasPlain() && sub.hasPlain()) || len(best.segs) == 0 {
				best = &sub
			}
		case mt == "multipart/report" && isOriginal(part):
			if err := p.original(part.Body); err != nil {
				return err
			}
		default:
			if err := p.walkEntity(part, c, depth+1, err); err != nil {
				return err
			}
		}
	}
	if best != nil {
		c.segs = append(c.segs, best.segs...)
	}
	return nil
}

// isOriginal reports whether a report part is the returned original message.
func isOriginal(e *message.Entity) bool {
	mt, _ := mediaType(e.Header)
	return mt == "message/rfc822" || mt == "text/rfc822-headers" || mt == "message/global" || mt == "message/global-headers"
}

// readText reads a text part (at most MaxTextBytes) as UTF-8, whatever its
// charset: a charset go-message does not know, or no charset on 8-bit
// text, falls back to sniffing (HTML) or Windows-1252.
func readText(r io.Reader, mt string, params map[string]string) (string, bool, error) {
	buf := textBufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 1<<20 {
			textBufPool.Put(buf)
		}
	}()
	if _, err := buf.ReadFrom(io.LimitReader(r, MaxTextBytes+1)); leafErr(err) != nil {
		return "", false, leafErr(err)
	}
	b := buf.Bytes()
	n, err := io.Copy(io.Discard, r)
	if leafErr(err) != nil {
		return "", false, err
	}
	cut := n > 0 || len(b) > MaxTextBytes
	var s string
	switch {
	case utf8.Valid(b):
		// One copy out of the pooled buffer, with CRLF turned into LF on
		// the way (as strings.ReplaceAll below would).
		s = crlfToLF(b)
	case mt == "text/html":
		enc, _, _ := htmlcharset.DetermineEncoding(b, "text/html")
		if d, err := enc.NewDecoder().Bytes(b); err == nil {
			s = string(d)
		} else {
			s = fixUTF8(b)
		}
	default:
		s = fixUTF8(b)
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s, _ = capText(s, MaxTextBytes)
	if mt == "text/plain" && strings.EqualFold(params["format"], "flowed") {
		s = unflow(s, strings.EqualFold(params["delsp"], "yes"))
	}
	return s, cut, nil
}

// textBufPool holds the buffers readText reads a part into.
var textBufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// crlfToLF returns b as a string with every "\r\n" replaced by "\n".
func crlfToLF(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for {
		i := bytes.Index(b, []byte("\r\n"))
		if i < 0 {
			sb.Write(b)
			return sb.String()
		}
		sb.Write(b[:i])
		sb.WriteByte('\n')
		b = b[i+2:]
	}
}

// fixUTF8 returns b as UTF-8, reading it as Windows-1252 when it is not
// already valid UTF-8 (the most common undeclared charset).
func fixUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	d, err := charmap.Windows1252.NewDecoder().Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(d)
}

// unflow joins the soft line breaks of format=flowed text (RFC 3676).
func unflow(s string, delsp bool) string {
	var out []string
	var cur strings.Builder
	depth, open := 0, false
	flush := func() {
		prefix := strings.Repeat(">", depth)
		if depth > 0 {
			prefix += " "
		}
		out = append(out, prefix+cur.String())
		cur.Reset()
		open = false
	}
	for _, line := range strings.Split(s, "\n") {
		d := 0
		for d < len(line) && line[d] == '>' {
			d++
		}
		content := strings.TrimPrefix(line[d:], " ")
		if open && d != depth {
			flush()
		}
		depth = d
		flowed := strings.HasSuffix(content, " ") && content != "-- "
		if flowed && delsp {
			content = content[:len(content)-1]
		}
		cur.WriteString(content)
		if flowed {
			open = true
			continue
		}
		flush()
	}
	if open {
		flush()
	}
	return strings.Join(out, "\n")
}

// attachment hashes the whole part and keeps up to MaxAttachmentBytes.
func (p *parser) attachment(r io.Reader, mt, name string) error {
	sum := sha256.New()
	keep := &capWriter{max: int(p.lim.MaxAttachmentBytes)}
	n, err := io.Copy(io.MultiWriter(sum, keep), r)
	err = leafErr(err)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return err
	}
	p.m.Attachments = append(p.m.Attachments, casebot.Attachment{
		Name:      SafeFilename(name, mt, len(p.m.Attachments)+1),
		Type:      cleanField(mt),
		Size:      n,
		SHA256:    hex.EncodeToString(sum.Sum(nil)),
		Content:   keep.buf,
		Truncated: keep.over || err != nil, // err: the message ended inside this part
	})
	return err
}

// forward reads an attached message: it is kept as an attachment (.eml)
// and its text is added to the body under a forward marker, since a party
// forwarding mail means that mail to be read.
func (p *parser) forward(e *message.Entity, name string, c *collector, depth int) error {
	sum := sha256.New()
	keep := &capWriter{max: int(p.lim.MaxAttachmentBytes)}
	tee := io.TeeReader(e.Body, io.MultiWriter(sum, keep))
	br := bufio.NewReader(tee)
	var fw Message
	var sub collector
	if raw, err := readHeaderBlock(br, maxHeaderBytes); err == nil {
		th, _ := textproto.ReadHeader(bufio.NewReader(strings.NewReader(string(raw))))
		h := message.Header{Header: th}
		fillHeader(&fw, h, fieldsOf(h))
		ent, entErr := message.New(h, br)
		if ent != nil {
			if err := p.walkEntity(ent, &sub, depth+1, entErr); err != nil {
				return err
			}
		}
	} else if errors.Is(err, errTooBig) {
		return err
	}
	if _, err := io.Copy(io.Discard, tee); leafErr(err) != nil {
		return err
	}
	var b strings.Builder
	b.WriteString(forwardMarker + "\n")
	if fw.From != "" {
		if fw.FromName != "" {
			fmt.Fprintf(&b, "From: %s <%s>\n", fw.FromName, fw.From)
		} else {
			fmt.Fprintf(&b, "From: %s\n", fw.From)
		}
	}
	if !fw.Date.IsZero() {
		fmt.Fprintf(&b, "Date: %s\n", fw.Date.Format("Mon, 2 Jan 2006 15:04:05 -0700"))
	}
	if fw.Subject != "" {
		fmt.Fprintf(&b, "Subject: %s\n", fw.Subject)
	}
	text, _ := sub.text()
	b.WriteString("\n" + text)
	c.add(segment{text: b.String(), html: sub.htmlOnly()})
	if name == "" {
		name = fw.Subject + ".eml"
	}
	p.m.Attachments = append(p.m.Attachments, casebot.Attachment{
		Name:      SafeFilename(name, "message/rfc822", len(p.m.Attachments)+1),
		Type:      "message/rfc822",
		Size:      keep.n,
		SHA256:    hex.EncodeToString(sum.Sum(nil)),
		Content:   keep.buf,
		Truncated: keep.over,
	})
	return nil
}

// forwardMarker introduces forwarded text; ExtractReply keeps what follows.
const forwardMarker = "---------- Forwarded message ---------"
