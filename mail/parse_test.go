package mail

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// expect holds the field checks for one testdata message beyond its .want.
type expect struct {
	from, fromName, subject string
	auto                    bool
	bounce                  []string // bounce recipients; nil: no bounce
	permanent               bool
	attachments             []string // attachment names in order
	htmlOnly                bool
	noDate                  bool
}

var expects = map[string]expect{
	"gmail_wrapped":                 {from: "jane.doe@gmail.com", fromName: "Jane Doe", subject: "Re: [MED-2026-0042] Proposed session on 1 December"},
	"gmail_french":                  {from: "marie.dupont@gmail.com", subject: "Re: [MED-2026-0051] Préavis de séance"},
	"gmail_german":                  {from: "k.mueller@gmail.com", fromName: "Klaus Müller", subject: "AW: [MED-2026-0060] Terminvorschlag für die Sitzung"},
	"gmail_spanish":                 {fromName: "Lucía García", subject: "Re: [MED-2026-0063] Sesión de mediación"},
	"gmail_portuguese":              {fromName: "João Silva"},
	"outlook_html_divrply":          {from: "anna.lee@contoso.example", htmlOnly: true},
	"html_only":                     {fromName: "Clark, Emily", htmlOnly: true},
	"auto_submitted":                {auto: true},
	"auto_outlook_oof":              {auto: true},
	"auto_x_autoreply":              {auto: true},
	"auto_precedence_bulk":          {auto: true},
	"auto_empty_return_path":        {auto: true},
	"dsn_postfix":                   {auto: true, bounce: []string{"j.doe@oldcompany.example"}, permanent: true},
	"dsn_gmail_delayed":             {auto: true, bounce: []string{"slow@slowhost.example"}},
	"bounce_exim_failed_recipients": {auto: true, bounce: []string{"old.partner@hostco.example"}, permanent: true},
	"attachment_rfc2047":            {attachments: []string{"Vereinbarung_März.pdf", "Schäden Küche.png"}},
	"attachment_rfc2231":            {attachments: []string{"Vereinbarung_März.pdf", "Kommentare zur Vereinbarung über die Rückzahlung.docx"}},
	"inline_image_related":          {attachments: []string{"IMG_0042.png"}},
	"nested_mixed_alt_related":      {attachments: []string{"image001.png", "schedule.csv"}},
	"forward_rfc822":                {attachments: []string{"Letter from the landlord.eml"}},
	"missing_final_boundary":        {attachments: []string{"half.pdf"}},
	"missing_date":                  {from: "olga.ivanova@mail.example", noDate: true},
	"header_line_without_colon":     {from: "olga.ivanova@mail.example", subject: "[MED-2026-0093] header without colon"},
	"header_crlf_injection":         {fromName: "Evil Bcc: all@practice.example", subject: "Hello Bcc: victim@example.com injected"},
	"charset_koi8r":                 {fromName: "Ольга Иванова", subject: "Re: [MED-2026-0093] Повестка заседания"},
	"charset_shift_jis":             {fromName: "田中 太郎", subject: "Re: [MED-2026-0101] 調停期日のご案内"},
	"charset_gb2312":                {fromName: "王芳", subject: "回复: [MED-2026-0102] 调解会议安排"},
	"charset_iso8859_1":             {fromName: "Jürgen Weiß", subject: "AW: [MED-2026-0060] Terminbestätigung für die Sitzung"},
	"charset_windows1252":           {fromName: "Chloé O’Neill", subject: "RE: [MED-2026-0042] “Final” offer – €15,000"},
	"hostile_names": {attachments: []string{"passwd", "evilname.exe", strings.Repeat("A", MaxFilenameRunes-4) + ".pdf",
		"secret.doc", "attachment-5.bin", "invoicefdp.exe"}},
}

func testdataFiles(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.eml"))
	if err != nil || len(files) < 40 {
		tb.Fatalf("want at least 40 testdata messages, got %d (%v)", len(files), err)
	}
	return files
}

func TestParseTestdata(t *testing.T) {
	for _, file := range testdataFiles(t) {
		name := strings.TrimSuffix(filepath.Base(file), ".eml")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(strings.TrimSuffix(file, ".eml") + ".want")
			if err != nil {
				t.Fatalf("every .eml needs a .want: %v", err)
			}
			m, err := Parse(bytes.NewReader(raw), Limits{})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got, w := trimLines(m.Reply), trimLines(string(want)); got != w {
				t.Errorf("Reply:\n%s\n--- want:\n%s", got, w)
			}
			e := expects[name]
			check := func(field, got, want string) {
				if want != "" && got != want {
					t.Errorf("%s = %q, want %q", field, got, want)
				}
			}
			check("From", m.From, e.from)
			check("FromName", m.FromName, e.fromName)
			check("Subject", m.Subject, e.subject)
			if m.From == "" || m.MessageID == "" || m.Subject == "" {
				t.Errorf("From %q, Message-ID %q, Subject %q: all testdata messages have them", m.From, m.MessageID, m.Subject)
			}
			if m.Auto != e.auto {
				t.Errorf("Auto = %v (%s), want %v", m.Auto, m.AutoReason, e.auto)
			}
			if e.bounce == nil && m.Bounce != nil {
				t.Errorf("Bounce = %+v, want none", m.Bounce)
			}
			if e.bounce != nil {
				if m.Bounce == nil || !slices.Equal(m.Bounce.Recipients, e.bounce) || m.Bounce.Permanent != e.permanent {
					t.Errorf("Bounce = %+v, want recipients %v permanent %v", m.Bounce, e.bounce, e.permanent)
				}
			}
			var names []string
			for _, a := range m.Attachments {
				names = append(names, a.Name)
				if sum := sha256.Sum256(a.Content); !a.Truncated && hex.EncodeToString(sum[:]) != a.SHA256 {
					t.Errorf("attachment %q: SHA256 does not match its content", a.Name)
				}
				if !a.Truncated && int64(len(a.Content)) != a.Size {
					t.Errorf("attachment %q: size %d, content %d bytes", a.Name, a.Size, len(a.Content))
				}
			}
			if !slices.Equal(names, e.attachments) {
				t.Errorf("attachments = %q, want %q", names, e.attachments)
			}
			if m.HTMLOnly != e.htmlOnly {
				t.Errorf("HTMLOnly = %v, want %v", m.HTMLOnly, e.htmlOnly)
			}
			if m.Date.IsZero() != e.noDate {
				t.Errorf("Date = %v", m.Date)
			}
			if m.Size != int64(len(raw)) {
				t.Errorf("Size = %d, want %d", m.Size, len(raw))
			}
			if len(m.BodySHA256) != 64 {
				t.Errorf("BodySHA256 = %q", m.BodySHA256)
			}
			for _, s := range append([]string{m.From, m.FromName, m.Subject, m.MessageID, m.ReturnPath}, append(m.InReplyTo, m.References...)...) {
				if strings.ContainsAny(s, "\r\n\x00") {
					t.Errorf("header field %q holds CR, LF or NUL", s)
				}
			}
		})
	}
}

func trimLines(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\r")
	}
	return strings.Join(lines, "\n")
}

// countingReader counts what Parse reads from it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// endless yields a message header and then an unbounded body.
type endless struct{ head []byte }

func (e *endless) Read(p []byte) (int, error) {
	if len(e.head) > 0 {
		n := copy(p, e.head)
		e.head = e.head[n:]
		return n, nil
	}
	for i := range p {
		p[i] = 'x'
		if i%70 == 69 {
			p[i] = '\n'
		}
	}
	return len(p), nil
}

func TestParseOversizeStopsReading(t *testing.T) {
	const max = 64 << 10
	head := "From: Big Sender <big@example.com>\r\nSubject: huge\r\nMessage-ID: <big@example.com>\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/octet-stream\r\n\r\n"
	cr := &countingReader{r: &endless{head: []byte(head)}}
	m, err := Parse(cr, Limits{MaxMessageBytes: max})
	var pe *ParseError
	if !errors.As(err, &pe) || !strings.Contains(pe.Reason, "the limit is 65536") {
		t.Fatalf("err = %v, want a ParseError naming the limit", err)
	}
	if cr.n > max+1 {
		t.Errorf("read %d bytes, want at most %d", cr.n, max+1)
	}
	if m == nil || m.From != "big@example.com" || m.Subject != "huge" {
		t.Errorf("partial message = %+v, want the header fields", m)
	}

	// A known size is named in the reason.
	big := strings.Repeat("a", max+10)
	_, err = Parse(strings.NewReader(head+big), Limits{MaxMessageBytes: max})
	if !errors.As(err, &pe) || pe.Reason != "message is "+strconv.Itoa(len(head)+len(big))+" bytes; the limit is 65536" {
		t.Errorf("err = %v", err)
	}
	// Exactly at the limit is fine.
	exact := "Subject: x\r\n\r\n"
	exact += strings.Repeat("b", 1000-len(exact))
	if m, err := Parse(strings.NewReader(exact), Limits{MaxMessageBytes: 1000}); err != nil || m.Size != 1000 {
		t.Errorf("message of exactly the limit: %v, %+v", err, m)
	}
}

func TestParseAttachmentTruncated(t *testing.T) {
	content := bytes.Repeat([]byte("0123456789"), 1000) // 10,000 bytes
	var b strings.Builder
	b.WriteString("From: a@example.com\r\nSubject: file\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n" +
		"--zz\r\nContent-Type: text/plain\r\n\r\nsee file\r\n--zz\r\nContent-Type: application/octet-stream\r\n" +
		"Content-Disposition: attachment; filename=data.bin\r\n\r\n")
	b.Write(content)
	b.WriteString("\r\n--zz--\r\n")
	m, err := Parse(strings.NewReader(b.String()), Limits{MaxAttachmentBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Attachments) != 1 {
		t.Fatalf("attachments = %+v", m.Attachments)
	}
	a := m.Attachments[0]
	sum := sha256.Sum256(content)
	if a.Size != 10000 || len(a.Content) != 4096 || !a.Truncated || a.SHA256 != hex.EncodeToString(sum[:]) || a.Name != "data.bin" {
		t.Errorf("attachment = %q size %d kept %d truncated %v sha %s", a.Name, a.Size, len(a.Content), a.Truncated, a.SHA256)
	}
	if !bytes.Equal(a.Content, content[:4096]) {
		t.Error("kept content is not the start of the attachment")
	}
}

func TestParseTextCapped(t *testing.T) {
	body := strings.Repeat("word ", MaxTextBytes/5+1000)
	m, err := Parse(strings.NewReader("From: a@example.com\r\nSubject: long\r\n\r\n"+body), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Text) > MaxTextBytes || !m.TextTruncated {
		t.Errorf("Text is %d bytes (truncated %v), want at most %d", len(m.Text), m.TextTruncated, MaxTextBytes)
	}
}

func TestParseBrokenMIMEFallsBack(t *testing.T) {
	raw := "From: Party <party@example.com>\r\nSubject: broken\r\nMessage-ID: <b@example.com>\r\n" +
		"Content-Type: multipart/mixed; boundary=\"nowhere\"\r\n\r\nno boundary line at all, just words\r\n"
	m, err := Parse(strings.NewReader(raw), Limits{})
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Reason != "malformed MIME structure" {
		t.Fatalf("err = %v, want a malformed MIME ParseError", err)
	}
	if m == nil || m.From != "party@example.com" || m.Subject != "broken" || !strings.Contains(m.Text, "just words") {
		t.Errorf("partial = %+v, want header fields and the raw text", m)
	}
}

func TestParseUnreadableHeader(t *testing.T) {
	for name, raw := range map[string]string{
		"empty":      "",
		"huge field": "Subject: " + strings.Repeat("x", maxHeaderBytes+10) + "\r\n\r\nbody",
	} {
		m, err := Parse(strings.NewReader(raw), Limits{})
		var pe *ParseError
		if m != nil || !errors.As(err, &pe) {
			t.Errorf("%s: got %+v, %v; want nil and a ParseError", name, m, err)
		}
	}
}

func TestSafeFilename(t *testing.T) {
	for _, tc := range []struct{ in, mt, want string }{
		{"../../etc/passwd", "text/plain", "passwd"},
		{"..\\..\\windows\\system32\\cmd.exe", "", "cmd.exe"},
		{"evil\x00name\r\nX-Injected: yes.pdf", "", "evilnameX-Injected_ yes.pdf"},
		{"..", "application/pdf", "attachment-3.pdf"},
		{"", "image/jpeg", "attachment-3.jpg"},
		{"report<1>?.pdf", "", "report_1__.pdf"},
		{"=?UTF-8?Q?Vereinbarung=5FM=C3=A4rz.pdf?=", "", "Vereinbarung_März.pdf"},
		{strings.Repeat("ü", 10000) + ".docx", "", strings.Repeat("ü", MaxFilenameRunes-5) + ".docx"},
	} {
		if got := SafeFilename(tc.in, tc.mt, 3); got != tc.want {
			t.Errorf("SafeFilename(%.40q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCleanFieldNoControls(t *testing.T) {
	got := cleanField("a\r\nb\tc\x00d\u2028e  f")
	if got != "a b c d e f" {
		t.Errorf("cleanField = %q", got)
	}
}

// BenchmarkParse parses every testdata message once per iteration.
func BenchmarkParse(b *testing.B) {
	var msgs [][]byte
	var total int64
	for _, file := range testdataFiles(b) {
		raw, err := os.ReadFile(file)
		if err != nil {
			b.Fatal(err)
		}
		msgs = append(msgs, raw)
		total += int64(len(raw))
	}
	b.SetBytes(total)
	b.ReportAllocs()
	for b.Loop() {
		for _, raw := range msgs {
			if _, err := Parse(bytes.NewReader(raw), Limits{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(msgs))/b.Elapsed().Seconds(), "msgs/s")
}
