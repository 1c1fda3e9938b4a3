package mail

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	netmail "net/mail"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"

	"github.com/casebot/casebot"
)

// maxFieldRunes caps every header-derived string.
const maxFieldRunes = 998

// readHeaderBlock reads the header up to and including the blank line and
// returns it cleaned so that textproto.ReadHeader cannot fail on it: lines
// without a colon, keys with invalid bytes, a leading mbox "From " line and
// a continuation at the very start are dropped, as mail clients do.
func readHeaderBlock(br *bufio.Reader, max int) ([]byte, error) {
	var out bytes.Buffer
	if err := readHeaderInto(&out, br, max); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// readHeaderInto is readHeaderBlock writing into out.
func readHeaderInto(out *bytes.Buffer, br *bufio.Reader, max int) error {
	total := 0
	first := true
	kept := false // the previous field was kept, so a continuation may follow
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// An over-long line: keep reading it in pieces.
			buf := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				buf = append(buf, line...)
				if len(buf) > max {
					return errors.New("header line too long")
				}
			}
			line = buf
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		total += len(line)
		if total > max {
			return errors.New("header too big")
		}
		t := bytes.TrimRight(line, "\r\n")
		if len(t) == 0 {
			if len(line) == 0 && first {
				return errors.New("empty message")
			}
			break
		}
		switch {
		case t[0] == ' ' || t[0] == '\t':
			if kept {
				out.Write(t)
				out.WriteString("\r\n")
			}
		case first && bytes.HasPrefix(t, []byte("From ")):
			// mbox separator line
		case validFieldLine(t):
			out.Write(t)
			out.WriteString("\r\n")
			kept = true
		default:
			kept = false
		}
		first = false
		if errors.Is(err, io.EOF) {
			break
		}
	}
	out.WriteString("\r\n")
	return nil
}

func validFieldLine(t []byte) bool {
	i := bytes.IndexByte(t, ':')
	if i <= 0 {
		return false
	}
	for _, c := range bytes.TrimRight(t[:i], " \t") {
		if c < 33 || c > 126 {
			return false
		}
	}
	return true
}

// fillHeader copies the header fields into m, decoded and sanitised.
func fillHeader(m *Message, h message.Header) {
	mh := gomail.Header{Header: h}
	if from := addresses(mh, "From"); len(from) > 0 {
		m.From, m.FromName = from[0].addr, from[0].name
	} else if s := addresses(mh, "Sender"); len(s) > 0 {
		m.From, m.FromName = s[0].addr, s[0].name
	}
	m.To = addrList(addresses(mh, "To"))
	m.Cc = addrList(addresses(mh, "Cc"))
	m.DeliveredTo = append(addrList(addresses(mh, "Delivered-To")), addrList(addresses(mh, "X-Original-To"))...)

	subj, err := mh.Subject()
	if err != nil && subj == "" {
		subj = h.Get("Subject")
	}
	m.Subject = cleanField(subj)

	m.MessageID = firstOr(msgIDs(h.Get("Message-Id")))
	m.InReplyTo = msgIDs(h.Get("In-Reply-To"))
	m.References = msgIDs(h.Get("References"))
	m.Date = parseDate(h.Get("Date"))

	if h.Has("Return-Path") {
		rp := strings.TrimSpace(h.Get("Return-Path"))
		if strings.Trim(rp, "<> \t") == "" {
			m.ReturnPathEmpty = true
		} else if a := addressesOf(rp); len(a) > 0 {
			m.ReturnPath = a[0].addr
		}
	}
	m.Auto, m.AutoReason = autoReason(h, m)
	if fr := h.Get("X-Failed-Recipients"); fr != "" {
		m.Bounce = &Bounce{Recipients: addrList(addressesOf(fr)), Action: "failed", Permanent: true}
	}
}

type addrName struct{ addr, name string }

func addresses(h gomail.Header, key string) []addrName {
	var out []addrName
	for _, v := range h.Values(key) {
		out = append(out, addressesOf(v)...)
	}
	return out
}

var looseAddr = regexp.MustCompile(`[A-Za-z0-9._%+!#$&'*/=?^{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+`)

// addrCache remembers parsed address fields: the same few values (a
// party's From, casebot's own address in To) come back in message after
// message, and parsing one costs microseconds. It is emptied when full, so
// its memory stays bounded.
var addrCache struct {
	sync.Mutex
	m map[string][]addrName
}

const (
	addrCacheEntries  = 1024
	addrCacheValueMax = 512 // longer values are parsed every time
)

// addressesOf parses an address list; when it is not RFC 5322, it falls
// back to anything shaped like an address so no sender is lost. The result
// may be shared: callers must not modify it.
func addressesOf(v string) []addrName {
	if v = strings.TrimSpace(v); v == "" {
		return nil
	}
	if len(v) > addrCacheValueMax {
		return parseAddresses(v)
	}
	addrCache.Lock()
	out, ok := addrCache.m[v]
	addrCache.Unlock()
	if ok {
		return out
	}
	out = parseAddresses(v)
	addrCache.Lock()
	if addrCache.m == nil || len(addrCache.m) >= addrCacheEntries {
		addrCache.m = make(map[string][]addrName, addrCacheEntries)
	}
	addrCache.m[strings.Clone(v)] = out
	addrCache.Unlock()
	return out
}

// parseAddresses is addressesOf without the cache.
func parseAddresses(v string) []addrName {
	var out []addrName
	if list, err := gomail.ParseAddressList(v); err == nil {
		for _, a := range list {
			out = append(out, addrName{normAddr(a.Address), cleanName(a.Name)})
		}
		return out
	}
	for _, loc := range looseAddr.FindAllStringIndex(v, 20) {
		name := ""
		if len(out) == 0 && loc[0] > 0 {
			dec := decodeWords(v[:loc[0]])
			name = cleanName(strings.Trim(dec, " \t<>\"'"))
		}
		out = append(out, addrName{normAddr(v[loc[0]:loc[1]]), name})
	}
	return out
}

// decodeWords decodes RFC 2047 encoded words in any charset go-message
// knows; on error the input is returned as is.
func decodeWords(s string) string {
	var h message.Header
	h.Set("X", s)
	if d, err := h.Text("X"); err == nil {
		return d
	}
	return s
}

func addrList(as []addrName) []string {
	var out []string
	for _, a := range as {
		if a.addr != "" {
			out = append(out, a.addr)
		}
	}
	return out
}

func normAddr(s string) string {
	if n, err := casebot.NormalizeEmail(s); err == nil {
		return n
	}
	return strings.ToLower(cleanField(s))
}

func cleanName(s string) string {
	s = cleanField(s)
	if utf8.RuneCountInString(s) > casebot.MaxNameLen {
		s = string([]rune(s)[:casebot.MaxNameLen])
	}
	return s
}

// cleanField makes a header-derived string safe to store and show: valid
// UTF-8, no CR, LF or other control characters (tabs become spaces), runs
// of spaces collapsed, at most maxFieldRunes runes.
func cleanField(s string) string {
	if isClean(s) {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	space := false
	n := 0
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) || r == '\u2028' || r == '\u2029' {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
		if n++; n >= maxFieldRunes {
			break
		}
	}
	return b.String()
}

// isClean reports whether cleanField would return s unchanged, for the
// common case of printable ASCII with single spaces between words: no
// allocation then.
func isClean(s string) bool {
	if s == "" {
		return true
	}
	if len(s) > maxFieldRunes || s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < ' ' || c > '~':
			return false
		case c == ' ' && s[i+1] == ' ':
			return false
		}
	}
	return true
}

// bracketed returns the texts of up to n non-overlapping "<id>" in v, as
// the regexp <([^<>\s]+)> finds them (leftmost first; \s is ASCII
// white space), without the regexp's cost.
func bracketed(v string, n int) []string {
	var out []string
	for i := 0; i < len(v) && len(out) < n; {
		lt := strings.IndexByte(v[i:], '<')
		if lt < 0 {
			break
		}
		start := i + lt + 1
		j := start
		for j < len(v) && !strings.ContainsRune("<>\t\n\f\r ", rune(v[j])) {
			j++
		}
		if j > start && j < len(v) && v[j] == '>' {
			out = append(out, v[start:j])
			i = j + 1
			continue
		}
		i = start
	}
	return out
}

// msgIDs returns the message identifiers of a Message-ID, In-Reply-To or
// References value, without angle brackets. A bare identifier without
// brackets (seen from some clients) is taken whole.
func msgIDs(v string) []string {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	var out []string
	for _, id := range bracketed(v, 100) {
		if id := cleanField(id); id != "" {
			out = append(out, id)
		}
	}
	if len(out) == 0 && !strings.ContainsAny(v, " \t<>") {
		out = append(out, cleanField(v))
	}
	return out
}

func firstOr(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

var dateLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05 MST",
	"2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04 -0700",
	"Mon, 2 Jan 06 15:04:05 -0700",
	"Mon Jan 2 15:04:05 2006",
	"Mon Jan 2 15:04:05 MST 2006",
	"Mon, 2 Jan 2006 15:04:05",
	time.RFC3339,
}

// parseDate reads a Date value, leniently; zero when unreadable.
func parseDate(v string) time.Time {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}
	}
	// The shape nearly every client writes, tried first: net/mail would
	// reach the same layout after a dozen failed attempts (each allocating
	// an error), and a value that fits it exactly reads the same there.
	if len(v) >= 29 && v[3] == ',' && (v[len(v)-5] == '+' || v[len(v)-5] == '-') {
		if t, err := time.Parse("Mon, 2 Jan 2006 15:04:05 -0700", v); err == nil {
			return t
		}
	}
	return parseDateSlow(v)
}

// parseDateSlow is parseDate without the fast path; v is trimmed and not
// empty.
func parseDateSlow(v string) time.Time {
	if t, err := netmail.ParseDate(v); err == nil {
		return t
	}
	// Drop a trailing comment like "(PST)" and retry the common shapes.
	if i := strings.IndexByte(v, '('); i > 0 {
		v = strings.TrimSpace(v[:i])
	}
	v = strings.Join(strings.Fields(v), " ")
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t
		}
	}
	return time.Time{}
}

// Subject prefixes that mail programs put on automatic replies. Only the
// machine-made forms are listed, so a person writing "Out of office next
// week" is not caught.
var autoSubjectPrefixes = []string{
	"automatic reply:", "auto-reply:", "autoreply:", "auto reply:", "out of office autoreply:",
	"out of office:", "abwesenheitsnotiz:", "automatische antwort:", "réponse automatique :",
	"réponse automatique:", "respuesta automática:", "risposta automatica:", "resposta automática:",
}

// autoReason decides whether a message is automatic, and why. The rules:
//   - Auto-Submitted with any value other than "no" (RFC 3834, as RT does);
//   - Precedence or X-Precedence bulk, junk, list or auto_reply;
//   - X-Autoreply, X-Autorespond, X-Autoresponse, X-AutoReply-From,
//     X-Mail-Autoreply, X-Autogenerated: Reply (osTicket's list);
//   - an empty Return-Path ("<>"), which only bounces and reports carry;
//   - X-Failed-Recipients (Exim bounces);
//   - a subject starting with a client's automatic-reply prefix.
//
// X-Auto-Response-Suppress is not a reason: Outlook puts it on ordinary
// mail. List-Id alone is not a reason either: a party writing through a
// group alias is still a person, and real lists also send Precedence: list.
func autoReason(h message.Header, m *Message) (bool, string) {
	if v := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); v != "" && !strings.HasPrefix(v, "no") {
		return true, "Auto-Submitted: " + cleanField(v)
	}
	for _, k := range []string{"Precedence", "X-Precedence"} {
		switch v := strings.ToLower(strings.TrimSpace(h.Get(k))); v {
		case "bulk", "junk", "list", "auto_reply":
			return true, k + ": " + v
		}
	}
	for _, k := range []string{"X-Autoreply", "X-Autorespond", "X-Autoresponse", "X-Autoreply-From", "X-Mail-Autoreply"} {
		if h.Has(k) {
			v := strings.ToLower(strings.TrimSpace(h.Get(k)))
			if v != "no" && v != "false" {
				return true, k + " header"
			}
		}
	}
	if strings.EqualFold(strings.TrimSpace(h.Get("X-Autogenerated")), "reply") {
		return true, "X-Autogenerated: reply"
	}
	if m.ReturnPathEmpty {
		return true, "empty Return-Path"
	}
	if h.Has("X-Failed-Recipients") {
		return true, "X-Failed-Recipients header"
	}
	subj := strings.ToLower(m.Subject)
	for _, p := range autoSubjectPrefixes {
		if strings.HasPrefix(subj, p) {
			return true, "automatic-reply subject"
		}
	}
	return false, ""
}
