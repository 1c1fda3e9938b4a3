package mail

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"mime"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

const maxReportBytes = 64 << 10

// deliveryStatus reads a message/delivery-status part (RFC 3464): a
// per-message block, then one block per recipient.
func (p *parser) deliveryStatus(r io.Reader) error {
	b, err := io.ReadAll(io.LimitReader(r, maxReportBytes))
	if err = leafErr(err); err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, r); leafErr(err) != nil {
		return err
	}
	type rcpt struct{ addr, action, status string }
	var failed, delayed, other []rcpt
	blocks := strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n\n")
	for _, blk := range blocks {
		f := reportFields(blk)
		addr := f["final-recipient"]
		if addr == "" {
			addr = f["original-recipient"]
		}
		if i := strings.IndexByte(addr, ';'); i >= 0 {
			addr = addr[i+1:]
		}
		if addr = strings.Trim(strings.TrimSpace(addr), "<>"); addr == "" {
			continue
		}
		rc := rcpt{normAddr(addr), strings.ToLower(cleanField(f["action"])), cleanField(firstWord(f["status"]))}
		switch rc.action {
		case "failed":
			failed = append(failed, rc)
		case "delayed":
			delayed = append(delayed, rc)
		default:
			other = append(other, rc)
		}
	}
	pick := failed
	if len(pick) == 0 {
		pick = delayed
	}
	if len(pick) == 0 {
		pick = other
	}
	if p.m.Bounce == nil {
		p.m.Bounce = &Bounce{}
	}
	bn := p.m.Bounce
	bn.Recipients = nil
	for _, rc := range pick {
		bn.Recipients = append(bn.Recipients, rc.addr)
	}
	if len(pick) > 0 {
		bn.Action, bn.Status = pick[0].action, pick[0].status
	}
	bn.Permanent = bn.Action == "failed" && (bn.Status == "" || strings.HasPrefix(bn.Status, "5"))
	return nil
}

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

// reportFields reads "Name: value" lines (with continuations) leniently.
func reportFields(blk string) map[string]string {
	f := map[string]string{}
	last := ""
	for _, line := range strings.Split(blk, "\n") {
		if line == "" {
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && last != "" {
			f[last] += " " + strings.TrimSpace(line)
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			last = ""
			continue
		}
		last = strings.ToLower(strings.TrimSpace(k))
		if _, seen := f[last]; !seen {
			f[last] = strings.TrimSpace(v)
		}
	}
	return f
}

// original reads the header of the returned message in a report, for its
// Message-ID and Subject, and discards the rest.
func (p *parser) original(r io.Reader) error {
	br := bufio.NewReader(r)
	raw, err := readHeaderBlock(br, maxHeaderBytes)
	if err == nil {
		if th, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw))); err == nil {
			h := message.Header{Header: th}
			if p.m.Bounce == nil {
				p.m.Bounce = &Bounce{}
			}
			p.m.Bounce.OriginalMessageID = firstOr(msgIDs(h.Get("Message-Id")))
			p.m.Bounce.OriginalSubject = cleanField(decodeWords(h.Get("Subject")))
		}
	} else if errors.Is(err, errTooBig) {
		return err
	}
	_, err = io.Copy(io.Discard, br)
	return leafErr(err)
}

// MaxFilenameRunes caps attachment names.
const MaxFilenameRunes = 200

// SafeFilename turns an attachment name from a message into a safe base
// name: any directory part dropped, control characters and characters
// that are unsafe in file names removed, no leading dots, at most
// MaxFilenameRunes runes with the extension kept. An empty result becomes
// "attachment-N" with an extension for the media type.
func SafeFilename(name, mediaType string, n int) string {
	name = decodeWords(strings.ToValidUTF8(name, "\uFFFD"))
	name = strings.ReplaceAll(name, "\\", "/")
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r), r == '\uFFFD', r == '\u2028', r == '\u2029', r == '\u202E', r == '\u202D':
			return -1
		case strings.ContainsRune(`:*?"<>|`, r):
			return '_'
		case unicode.IsSpace(r):
			return ' '
		}
		return r
	}, name)
	name = strings.TrimSpace(strings.Join(strings.Fields(name), " "))
	name = strings.TrimLeft(name, ". ")
	name = strings.TrimRight(name, ". ")
	if utf8.RuneCountInString(name) > MaxFilenameRunes {
		ext := filepath.Ext(name)
		if utf8.RuneCountInString(ext) > 20 {
			ext = ""
		}
		rs := []rune(strings.TrimSuffix(name, ext))
		name = strings.TrimSpace(string(rs[:MaxFilenameRunes-utf8.RuneCountInString(ext)])) + ext
	}
	if name == "" {
		ext := ""
		if exts, _ := mime.ExtensionsByType(mediaType); len(exts) > 0 {
			ext = exts[0]
		}
		switch mediaType {
		case "image/jpeg":
			ext = ".jpg"
		case "message/rfc822":
			ext = ".eml"
		case "text/plain":
			ext = ".txt"
		}
		name = "attachment-" + strconv.Itoa(n) + ext
	}
	return name
}
