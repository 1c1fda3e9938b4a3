package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"time"

	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/casebot/casebot"
)

// SMTPConfig configures an SMTPSender.
type SMTPConfig struct {
	Addr     string // host:port
	TLS      string // TLSImplicit, TLSStartTLS or TLSNone (loopback only)
	Username string // no AUTH when empty
	Password string
	// Addressing is smtp.from and the per-case plus addresses.
	Addressing Addressing
	// Cases reads the case of a message at send time, for its Reply-To
	// token and to refuse addresses flagged as bouncing meanwhile.
	Cases interface {
		Case(ctx context.Context, id string) (*casebot.Case, error)
	}
	// Documents reads the case documents a message carries (OutMessage.
	// Attach) at send time; a message with documents fails for good
	// without it.
	Documents casebot.DocumentReader
	// OnReject, when set, is told that the server refused a recipient
	// permanently (5xx to RCPT): flag the address and tell the mediator.
	OnReject func(ctx context.Context, m casebot.OutMessage, reason string)
	// TLSConfig overrides the TLS settings (tests); nil uses the defaults.
	TLSConfig *tls.Config
	// Now returns the current time (the Date header); time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
}

// SMTPSender delivers OutEmail outbox messages by SMTP (it implements
// outbox.Sender). Every header is built by go-message, with control
// characters removed from names and subjects, so no header can be
// injected. A temporary failure (4xx, a connection error) is returned for
// the outbox to retry; a permanent one is marked so (Permanent() true).
type SMTPSender struct {
	cfg SMTPConfig
}

// NewSMTPSender checks cfg and returns a sender. It refuses TLSNone for a
// host that is not loopback.
func NewSMTPSender(cfg SMTPConfig) (*SMTPSender, error) {
	if err := checkTLSMode("smtp", cfg.Addr, cfg.TLS); err != nil {
		return nil, err
	}
	if cfg.Addressing.Domain == "" {
		return nil, errors.New("mail: smtp sender needs smtp.from")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &SMTPSender{cfg: cfg}, nil
}

// permanentError is an error the outbox must not retry.
type permanentError struct{ err error }

func (e permanentError) Error() string   { return e.err.Error() }
func (e permanentError) Unwrap() error   { return e.err }
func (e permanentError) Permanent() bool { return true }

// Send delivers one message. It returns nil only when the server accepted it.
func (s *SMTPSender) Send(ctx context.Context, m casebot.OutMessage) error {
	if m.Kind != casebot.OutEmail {
		return permanentError{fmt.Errorf("mail: cannot send a %q message by SMTP", m.Kind)}
	}
	replyTo := s.cfg.Addressing.From()
	if m.CaseID != "" && s.cfg.Cases != nil {
		c, err := s.cfg.Cases.Case(ctx, m.CaseID)
		switch {
		case casebot.ErrorCode(err) == casebot.ENOTFOUND:
		case err != nil:
			return fmt.Errorf("mail: case %s: %w", m.CaseID, err)
		default:
			if i := c.Party(m.To); i >= 0 && c.Parties[i].Bouncing {
				return permanentError{fmt.Errorf("mail: %s is flagged as bouncing in %s", m.To, c.ID)}
			}
			if c.Token != "" {
				replyTo = s.cfg.Addressing.ReplyTo(c)
			}
		}
	}
	files, err := s.attachments(ctx, m)
	if err != nil {
		return err
	}
	// Check that the message builds before the server sees any of it.
	if err := s.write(io.Discard, m, replyTo, nil); err != nil {
		return permanentError{err}
	}
	return s.deliver(ctx, m, func(w io.Writer) error { return s.write(w, m, replyTo, files) })
}

// Build returns the RFC 5322 message for m with the given Reply-To,
// without the documents it may carry.
func (s *SMTPSender) Build(m casebot.OutMessage, replyTo string) ([]byte, error) {
	var buf bytes.Buffer
	if err := s.write(&buf, m, replyTo, nil); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// write writes the RFC 5322 message for m with the given Reply-To to w:
// the text alone, or multipart/mixed with the text (beside the calendar,
// for an invitation), the calendar file and the documents as attachments.
func (s *SMTPSender) write(w io.Writer, m casebot.OutMessage, replyTo string, files []docFile) error {
	a := s.cfg.Addressing
	var h gomail.Header
	h.SetDate(s.cfg.Now())
	h.SetAddressList("From", []*gomail.Address{{Name: a.Name, Address: a.From()}})
	h.SetAddressList("To", []*gomail.Address{{Name: cleanHeader(m.ToName), Address: cleanHeader(m.To)}})
	h.SetAddressList("Reply-To", []*gomail.Address{{Name: a.Name, Address: replyTo}})
	h.SetSubject(cleanHeader(m.Subject))
	if m.MessageID != "" {
		h.SetMessageID(cleanHeader(m.MessageID))
	} else if err := h.GenerateMessageIDWithHostname(a.Domain); err != nil {
		return fmt.Errorf("mail: message id: %w", err)
	}
	if m.InReplyTo != "" {
		h.SetMsgIDList("In-Reply-To", []string{cleanHeader(m.InReplyTo)})
		h.SetMsgIDList("References", []string{cleanHeader(m.InReplyTo)})
	}
	if m.Auto {
		h.Set("Auto-Submitted", "auto-generated")
		h.Set("X-Auto-Response-Suppress", "All")
	}
	if len(m.Calendar) == 0 && len(files) == 0 {
		h.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
		h.Set("Content-Transfer-Encoding", "quoted-printable")
		tw, err := gomail.CreateSingleInlineWriter(w, h)
		if err != nil {
			return fmt.Errorf("mail: build message: %w", err)
		}
		if _, err := io.WriteString(tw, m.Text); err != nil {
			return err
		}
		if err := tw.Close(); err != nil {
			return fmt.Errorf("mail: build message: %w", err)
		}
		return nil
	}
	mw, err := gomail.CreateWriter(w, h)
	if err != nil {
		return fmt.Errorf("mail: build message: %w", err)
	}
	var th gomail.InlineHeader
	th.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	th.Set("Content-Transfer-Encoding", "quoted-printable")
	if len(m.Calendar) == 0 {
		tw, err := mw.CreateSingleInline(th)
		if err != nil {
			return fmt.Errorf("mail: build message: %w", err)
		}
		if err := writeClose(tw, []byte(m.Text)); err != nil {
			return err
		}
	} else if err := writeCalendar(mw, th, m); err != nil {
		return err
	}
	for _, f := range files {
		var ah gomail.AttachmentHeader
		ah.SetContentType(f.typ, nil)
		// RFC 2231 for a name that is not ASCII (go-message's SetFilename
		// would write RFC 2047 words inside the parameter instead).
		ah.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.name}))
		ah.Set("Content-Transfer-Encoding", "base64")
		aw, err := mw.CreateAttachment(ah)
		if err != nil {
			return fmt.Errorf("mail: build message: %w", err)
		}
		if err := writeClose(aw, f.content); err != nil {
			return err
		}
	}
	return mw.Close()
}

// writeCalendar writes an invitation's parts into mw: the text beside the
// calendar (multipart/alternative), then the calendar as invite.ics.
func writeCalendar(mw *gomail.Writer, th gomail.InlineHeader, m casebot.OutMessage) error {
	method := calendarMethod(m.Calendar)
	iw, err := mw.CreateInline()
	if err != nil {
		return fmt.Errorf("mail: build message: %w", err)
	}
	var ch gomail.InlineHeader
	ch.SetContentType("text/calendar", map[string]string{"charset": "utf-8", "method": method})
	ch.Set("Content-Transfer-Encoding", "base64")
	for _, p := range []struct {
		h    gomail.InlineHeader
		body []byte
	}{{th, []byte(m.Text)}, {ch, m.Calendar}} {
		pw, err := iw.CreatePart(p.h)
		if err != nil {
			return fmt.Errorf("mail: build message: %w", err)
		}
		if err := writeClose(pw, p.body); err != nil {
			return err
		}
	}
	if err := iw.Close(); err != nil {
		return err
	}
	var ah gomail.AttachmentHeader
	ah.SetContentType("application/ics", map[string]string{"method": method})
	ah.SetFilename("invite.ics")
	ah.Set("Content-Transfer-Encoding", "base64")
	aw, err := mw.CreateAttachment(ah)
	if err != nil {
		return fmt.Errorf("mail: build message: %w", err)
	}
	return writeClose(aw, m.Calendar)
}

// writeClose writes p to a part and closes it.
func writeClose(w io.WriteCloser, p []byte) error {
	if _, err := w.Write(p); err != nil {
		return err
	}
	return w.Close()
}

// calendarMethod reads METHOD from an iCalendar object (REQUEST when absent).
func calendarMethod(ics []byte) string {
	for _, l := range bytes.Split(ics, []byte("\n")) {
		l = bytes.TrimSpace(l)
		if v, ok := bytes.CutPrefix(l, []byte("METHOD:")); ok {
			return string(v)
		}
	}
	return casebot.MethodRequest
}

func (s *SMTPSender) dial(ctx context.Context) (*smtp.Client, error) {
	d := &net.Dialer{Timeout: 30 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("mail: connect to %s: %w", s.cfg.Addr, err)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(2 * time.Minute)
	}
	_ = conn.SetDeadline(deadline)
	host, _, _ := net.SplitHostPort(s.cfg.Addr)
	tc := s.cfg.TLSConfig
	if tc == nil {
		tc = &tls.Config{ServerName: host}
	}
	var c *smtp.Client
	switch s.cfg.TLS {
	case TLSImplicit:
		c = smtp.NewClient(tls.Client(conn, tc))
	case TLSStartTLS:
		c, err = smtp.NewClientStartTLS(conn, tc)
	default:
		c = smtp.NewClient(conn)
	}
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("mail: starttls with %s: %w", s.cfg.Addr, err)
	}
	if err := c.Hello(s.cfg.Addressing.Domain); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("mail: hello: %w", err)
	}
	if s.cfg.Username != "" {
		if err := c.Auth(sasl.NewPlainClient("", s.cfg.Username, s.cfg.Password)); err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("mail: smtp auth as %s: %w", s.cfg.Username, err)
		}
	}
	return c, nil
}

func permanentSMTP(err error) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code >= 500
}

func (s *SMTPSender) deliver(ctx context.Context, m casebot.OutMessage, write func(io.Writer) error) error {
	c, err := s.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Mail(s.cfg.Addressing.From(), nil); err != nil {
		return fmt.Errorf("mail: MAIL FROM: %w", err)
	}
	if err := c.Rcpt(m.To, nil); err != nil {
		if permanentSMTP(err) {
			s.cfg.Logger.Warn("smtp: recipient refused", slog.String("to", m.To), slog.String("case", m.CaseID), slog.Any("error", err))
			if s.cfg.OnReject != nil {
				s.cfg.OnReject(ctx, m, "refused by the mail server: "+err.Error())
			}
			return permanentError{fmt.Errorf("mail: RCPT TO %s: %w", m.To, err)}
		}
		return fmt.Errorf("mail: RCPT TO %s: %w", m.To, err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("mail: DATA: %w", err)
	}
	// On an error the data is not ended ("."): closing the connection
	// makes the server drop the partial message.
	if err := write(w); err != nil {
		return fmt.Errorf("mail: DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		if permanentSMTP(err) {
			return permanentError{fmt.Errorf("mail: message refused: %w", err)}
		}
		return fmt.Errorf("mail: DATA: %w", err)
	}
	_ = c.Quit()
	return nil
}
