package testserver

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// SMTPOptions configure NewSMTP. The zero value accepts mail from anyone.
type SMTPOptions struct {
	// Password, when set, makes the server offer AUTH PLAIN and refuse
	// MAIL FROM (530) until a client logs in as User with Password.
	User, Password string
	// TLS, when set, is offered through STARTTLS, or (ImplicitTLS) spoken
	// from the first byte.
	TLS         *tls.Config
	ImplicitTLS bool
}

// Message is one message the SMTP sink accepted: its envelope and the raw
// data as sent after DATA.
type Message struct {
	From string
	Rcpt []string
	Data []byte
}

// SMTP is an in-process go-smtp server that keeps every message.
type SMTP struct {
	addr   string
	opts   SMTPOptions
	mu     sync.Mutex
	got    []Message
	refuse map[string]error // RCPT TO address -> error
}

// NewSMTP serves SMTP on 127.0.0.1:0 until the test ends. It fails tb when
// it cannot listen.
func NewSMTP(tb testing.TB, opts SMTPOptions) *SMTP {
	tb.Helper()
	s := &SMTP{opts: opts}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &smtpSession{s: s}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = time.Minute, time.Minute
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s.addr = ln.Addr().String()
	switch {
	case opts.TLS != nil && opts.ImplicitTLS:
		ln = tls.NewListener(ln, opts.TLS)
	case opts.TLS != nil:
		srv.TLSConfig = opts.TLS
	}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return s
}

// Addr returns the host:port the server listens on.
func (s *SMTP) Addr() string { return s.addr }

// Messages returns every message accepted so far, oldest first.
func (s *SMTP) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.got...)
}

// smtpSession is one SMTP connection. It implements smtp.AuthSession; a
// server without a password never sees AUTH succeed, nor needs it.
type smtpSession struct {
	s      *SMTP
	authed bool
	cur    Message
}

var _ smtp.AuthSession = (*smtpSession)(nil)

func (x *smtpSession) Reset()        { x.cur = Message{} }
func (x *smtpSession) Logout() error { return nil }

func (x *smtpSession) AuthMechanisms() []string {
	if x.s.opts.Password == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (x *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if x.s.opts.Password == "" || user != x.s.opts.User || pass != x.s.opts.Password {
			return errors.New("bad credentials")
		}
		x.authed = true
		return nil
	}), nil
}

func (x *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if x.s.opts.Password != "" && !x.authed {
		return &smtp.SMTPError{Code: 530, Message: "authentication required"}
	}
	x.cur.From = from
	return nil
}

func (x *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.s.mu.Lock()
	err := x.s.refuse[to]
	x.s.mu.Unlock()
	if err != nil {
		return err
	}
	x.cur.Rcpt = append(x.cur.Rcpt, to)
	return nil
}

// Refuse makes RCPT TO rcpt fail with err (an *smtp.SMTPError says which
// reply code); a nil err accepts rcpt again.
func (s *SMTP) Refuse(rcpt string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse == nil {
		s.refuse = map[string]error{}
	}
	if err == nil {
		delete(s.refuse, rcpt)
		return
	}
	s.refuse[rcpt] = err
}

func (x *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.cur.Data = b
	x.s.mu.Lock()
	x.s.got = append(x.s.got, x.cur)
	x.s.mu.Unlock()
	return nil
}
