// Package mail turns party email into case material and sends case email.
//
// The parsing half (parse*.go, reply*.go, html*.go) reads one raw message
// with go-message: every charset go-message knows, multipart/alternative,
// nested multiparts, forwards, encoded names, attachments, auto-replies and
// delivery status reports. It keeps memory bounded: the message is streamed,
// never read past the size limit, and only capped amounts of text and
// attachment content are kept.
package mail

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-message"
	// Every charset go-message knows, not only UTF-8 and US-ASCII.
	_ "github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/textproto"

	"github.com/casebot/casebot"
)

// Default limits, as in SPEC mail_limits.
const (
	DefaultMaxMessageBytes    = 26214400
	DefaultMaxAttachmentBytes = 10485760
)

// Internal caps that keep memory bounded whatever the limits say.
const (
	// MaxTextBytes is the most body text a Message keeps; the rest is
	// dropped and Message.TextTruncated is set.
	MaxTextBytes   = 1 << 20
	maxHeaderBytes = 1 << 20
	maxDepth       = 16  // multipart / message/rfc822 nesting
	maxParts       = 500 // leaf parts per message
)

// Limits bound what Parse reads and keeps. Zero fields take the defaults.
type Limits struct {
	MaxMessageBytes    int64
	MaxAttachmentBytes int64
}

func (l Limits) withDefaults() Limits {
	if l.MaxMessageBytes <= 0 {
		l.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if l.MaxAttachmentBytes <= 0 {
		l.MaxAttachmentBytes = DefaultMaxAttachmentBytes
	}
	return l
}

// Message is what casebot keeps of one inbound email. Every header-derived
// string is decoded and free of CR, LF and other control characters.
type Message struct {
	From     string // sender address, lower-case (casebot.NormalizeEmail when valid)
	FromName string
	To       []string // addresses, lower-case
	Cc       []string
	// DeliveredTo holds Delivered-To and X-Original-To addresses.
	DeliveredTo []string
	Subject     string
	MessageID   string // without angle brackets
	InReplyTo   []string
	References  []string
	Date        time.Time // zero when missing or unreadable
	ReturnPath  string
	// ReturnPathEmpty is set when Return-Path is present and "<>".
	ReturnPathEmpty bool
	// Text is the whole body as plain text (HTML converted when the message
	// has no text/plain body). At most MaxTextBytes.
	Text          string
	TextTruncated bool
	// Reply is Text with quoted history and signature removed (ExtractReply).
	Reply    string
	HTMLOnly bool
	// Attachments are the non-body parts, inline images included.
	Attachments []casebot.Attachment
	// Auto is set for auto-replies, bulk and list mail and delivery reports;
	// such mail never becomes a note and never gets an answer. AutoReason
	// names the header that decided it. See autoReason for the rules.
	Auto       bool
	AutoReason string
	// Bounce is non-nil for delivery status reports and Exim-style
	// X-Failed-Recipients bounces. Such messages are also Auto.
	Bounce *Bounce
	// Size is the number of raw bytes read.
	Size int64
	// BodySHA256 is the hex SHA-256 of the normalised Text, for
	// de-duplication together with MessageID.
	BodySHA256 string
}

// Bounce is what a delivery failure report says.
type Bounce struct {
	// Recipients are the addresses that failed (or, when none failed, were
	// delayed), lower-case.
	Recipients []string
	Action     string // failed, delayed, ... (RFC 3464), lower-case
	Status     string // e.g. 5.1.1
	// Permanent is set for a failed action with a 5.x.x status (or no
	// status): stop mailing the address.
	Permanent bool
	// OriginalMessageID and OriginalSubject come from the returned original
	// message, when the report includes it; they help find the case.
	OriginalMessageID string
	OriginalSubject   string
}

// ParseError says why a message could not be read. Intake quarantines the
// message with Reason.
type ParseError struct {
	Reason string
	Err    error
}

func (e *ParseError) Error() string {
	if e.Err != nil {
		return "mail: parse: " + e.Reason + ": " + e.Err.Error()
	}
	return "mail: parse: " + e.Reason
}

func (e *ParseError) Unwrap() error { return e.Err }

var errTooBig = errors.New("message exceeds the size limit")

// countReader counts the bytes it reads and never reads more than max+1
// bytes from r; once more than max bytes have arrived it fails with errTooBig.
type countReader struct {
	r   io.Reader // io.LimitReader(r, max+1)
	n   int64
	max int64
}

func (c *countReader) Read(p []byte) (int, error) {
	if c.n > c.max {
		return 0, errTooBig
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.max {
		return n, errTooBig
	}
	return n, err
}

// capWriter keeps the first max bytes written to it and counts the rest.
type capWriter struct {
	buf  []byte
	max  int
	over bool
	n    int64 // bytes written in all
}

func (w *capWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	if room := w.max - len(w.buf); room > 0 {
		if len(p) <= room {
			w.buf = append(w.buf, p...)
			return len(p), nil
		}
		w.buf = append(w.buf, p[:room]...)
	}
	w.over = true
	return len(p), nil
}

// Parse reads one raw message. It never reads more than
// lim.MaxMessageBytes+1 bytes from r.
//
// An oversize message returns a partial *Message (header fields only, nil
// when even the header is too big) and a *ParseError whose Reason gives the
// sizes; the rest of r is left unread. A message whose MIME structure is
// broken returns the header fields plus the raw body as Text, and a
// *ParseError with the reason, so intake can quarantine it with its sender
// and subject. A message whose header cannot be read at all returns
// (nil, *ParseError).
func Parse(r io.Reader, lim Limits) (*Message, error) {
	lim = lim.withDefaults()
	cr := &countReader{r: io.LimitReader(r, lim.MaxMessageBytes+1), max: lim.MaxMessageBytes}
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(cr)
	// Nothing Parse returns refers to br: text and attachments are copies.
	defer func() { br.Reset(nil); readerPool.Put(br) }()

	th, has, err := readHeader(br)
	if err != nil {
		if errors.Is(err, errTooBig) {
			return nil, tooBig(r, lim)
		}
		return nil, &ParseError{Reason: "unreadable header", Err: err}
	}
	h := message.Header{Header: th}
	m := &Message{}
	fillHeader(m, h, has)

	raw := &capWriter{max: MaxTextBytes}
	p := &parser{lim: lim, m: m}
	body := io.TeeReader(br, raw)
	ent, entErr := message.New(h, body)
	if ent == nil {
		return finish(m, cr, &ParseError{Reason: "unreadable body", Err: entErr})
	}
	var c collector
	walkErr := p.walkEntity(ent, &c, 0, entErr)
	// Read to the end: the size check covers the epilogue too.
	if walkErr == nil || !errors.Is(walkErr, errTooBig) {
		if _, err := io.Copy(io.Discard, body); err != nil && walkErr == nil {
			walkErr = err
		}
	}
	switch {
	case errors.Is(walkErr, errTooBig):
		m.Attachments = nil
		m.Size = cr.n
		return m, tooBig(r, lim)
	case walkErr != nil && truncated(walkErr) && len(c.segs) > 0:
		// The message ends inside a part (a lost final boundary or a cut
		// transfer): keep what was read; a cut attachment is marked Truncated.
	case walkErr != nil:
		// Broken MIME: try once more with a boundary found in the body,
		// else keep the raw body text.
		if !raw.over && p.retry(h, raw.buf) {
			return finish(m, cr, nil)
		}
		m.Attachments = nil
		m.Bounce = nil
		c = collector{}
		c.addPlain(stripHeaderLines(fixUTF8(raw.buf)))
		m.Text, m.TextTruncated = c.text()
		m.HTMLOnly = false
		return finish(m, cr, &ParseError{Reason: "malformed MIME structure", Err: walkErr})
	}
	m.Text, m.TextTruncated = c.text()
	m.TextTruncated = m.TextTruncated || p.truncated
	m.HTMLOnly = c.htmlOnly()
	return finish(m, cr, nil)
}

// readerPool holds the buffered readers Parse wraps around its input, so a
// stream of messages does not allocate a 4 KiB buffer for each.
var readerPool = sync.Pool{New: func() any { return bufio.NewReader(nil) }}

// readHeader reads the header block from br, cleaned by readHeaderInto
// (so that go-message cannot fail on it) and cut to the fields Parse
// uses, and builds go-message's header of it; it also says which of those
// fields it kept.
//
// The fields go to textproto.Header.AddRaw one by one, each a slice of one
// copy of the block, last first (so that, as with textproto.ReadHeader,
// Get returns the first): ReadHeader would copy each field into a buffer
// of its own, a quarter of parsing a short reply.
func readHeader(br *bufio.Reader) (textproto.Header, fieldSet, error) {
	buf := headerBufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 64<<10 {
			headerBufPool.Put(buf)
		}
	}()
	var f fieldFilter
	if err := readHeaderInto(buf, br, maxHeaderBytes, &f); err != nil {
		return textproto.Header{}, 0, err
	}
	block := bytes.Clone(buf.Bytes())
	var starts [32]int
	fields := starts[:0]
	for i := 0; i < len(block); {
		end := bytes.Index(block[i:], crlf)
		if end <= 0 {
			break // the blank line that ends the block
		}
		if block[i] != ' ' && block[i] != '\t' {
			fields = append(fields, i)
		}
		i += end + 2
	}
	var h textproto.Header
	end := len(block) - 2 // before the blank line
	for k := len(fields) - 1; k >= 0; k-- {
		h.AddRaw(block[fields[k]:end:end])
		end = fields[k]
	}
	return h, f.has, nil
}

var crlf = []byte("\r\n")

var headerBufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// retry parses the captured body again with a boundary sniffed from it.
func (p *parser) retry(h message.Header, body []byte) bool {
	mt, params, err := h.ContentType()
	if err != nil || !strings.HasPrefix(strings.ToLower(mt), "multipart/") {
		return false
	}
	b := sniffBoundary(body)
	if b == "" || b == params["boundary"] {
		return false
	}
	h = h.Copy()
	if params == nil {
		params = map[string]string{}
	}
	params["boundary"] = b
	h.SetContentType(mt, params)
	ent, entErr := message.New(h, bytes.NewReader(body))
	if ent == nil {
		return false
	}
	p.m.Attachments, p.m.Bounce, p.parts = nil, nil, 0
	var c collector
	if err := p.walkEntity(ent, &c, 0, entErr); err != nil {
		p.m.Attachments, p.m.Bounce = nil, nil
		return false
	}
	p.m.Text, p.m.TextTruncated = c.text()
	p.m.HTMLOnly = c.htmlOnly()
	return true
}

// sniffBoundary returns the first "--boundary" delimiter found in body.
func sniffBoundary(body []byte) string {
	for _, line := range strings.SplitN(string(body), "\n", 200) {
		line = strings.TrimRight(line, "\r \t")
		if len(line) > 2 && len(line) <= 72 && strings.HasPrefix(line, "--") && !strings.ContainsAny(line[2:], " \t") {
			return strings.TrimSuffix(line[2:], "--")
		}
	}
	return ""
}

// stripHeaderLines drops MIME boundary and part-header lines from a raw body
// kept as fallback text, so the reader sees the words, not the structure.
func stripHeaderLines(b string) string {
	var out []string
	for _, line := range strings.Split(b, "\n") {
		t := strings.TrimRight(line, "\r")
		lt := strings.ToLower(t)
		if strings.HasPrefix(t, "--") && len(t) > 2 && !strings.ContainsAny(t, " \t") {
			continue
		}
		if strings.HasPrefix(lt, "content-type:") || strings.HasPrefix(lt, "content-transfer-encoding:") ||
			strings.HasPrefix(lt, "content-disposition:") || strings.HasPrefix(lt, "mime-version:") {
			continue
		}
		out = append(out, t)
	}
	return strings.Join(out, "\n")
}

// truncated reports whether err says the message ended inside a part.
func truncated(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF) || strings.HasSuffix(err.Error(), "NextPart: EOF")
}

func tooBig(r io.Reader, lim Limits) *ParseError {
	if s, ok := r.(interface{ Size() int64 }); ok && s.Size() > lim.MaxMessageBytes {
		return &ParseError{Reason: fmt.Sprintf("message is %d bytes; the limit is %d", s.Size(), lim.MaxMessageBytes), Err: errTooBig}
	}
	return &ParseError{Reason: fmt.Sprintf("message is more than %d bytes; the limit is %d", lim.MaxMessageBytes, lim.MaxMessageBytes), Err: errTooBig}
}

// finish fills the derived fields.
func finish(m *Message, cr *countReader, err *ParseError) (*Message, error) {
	m.Size = cr.n
	m.Reply = ExtractReply(m.Text)
	m.BodySHA256 = bodyHash(m.Text)
	if m.Bounce != nil && !m.Auto {
		m.Auto, m.AutoReason = true, "delivery status report"
	}
	if err != nil {
		return m, err
	}
	return m, nil
}

// bodyHash hashes Text with line ends and trailing spaces normalised, so the
// same body fetched twice (or re-encoded by a server) hashes the same.
//
// It hashes exactly what it always has (the trimmed lines joined by "\n",
// then trimmed; a stored de-duplication key depends on it), built in a
// pooled buffer: splitting on "\n" and trimming "\r" with the spaces is
// the same as first turning "\r\n" into "\n".
func bodyHash(text string) string {
	bp := hashBufPool.Get().(*[]byte)
	b := (*bp)[:0]
	for rest := text; ; {
		line, tail, more := strings.Cut(rest, "\n")
		b = append(b, strings.TrimRight(line, " \t\r")...)
		if !more {
			break
		}
		b = append(b, '\n')
		rest = tail
	}
	sum := sha256.Sum256(bytes.TrimSpace(b))
	if cap(b) <= 1<<20 {
		*bp = b
		hashBufPool.Put(bp)
	}
	return hex.EncodeToString(sum[:])
}

var hashBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}
