package mail_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/internal/testserver"
	"github.com/casebot/casebot/mail"
	"github.com/casebot/casebot/store"
)

const (
	imapUser = "cases"
	imapPass = "secret"
)

// imapServer is a real in-process IMAP server (go-imap's imapmemserver)
// on 127.0.0.1:0 whose connections a test can cut.
type imapServer struct {
	addr string
	user *imapmemserver.User
	srv  *imapserver.Server

	mu          sync.Mutex
	conns       []net.Conn
	beforeFetch func(*imap.FetchOptions)
}

type trackingListener struct {
	net.Listener
	s *imapServer
}

func (l trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.s.mu.Lock()
		l.s.conns = append(l.s.conns, c)
		l.s.mu.Unlock()
	}
	return c, err
}

func startIMAP(tb testing.TB) *imapServer {
	tb.Helper()
	return startIMAPWith(tb, imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}})
}

// startIMAPWith serves the capabilities caps (IMAP4rev2 implies IDLE; a
// server with only IMAP4rev1 has none).
func startIMAPWith(tb testing.TB, caps imap.CapSet) *imapServer {
	tb.Helper()
	return startIMAPServer(tb, caps, nil, false)
}

// startIMAPServer serves caps in plain text, with STARTTLS offered when tc
// is set, or TLS from the first byte when implicit.
func startIMAPServer(tb testing.TB, caps imap.CapSet, tc *tls.Config, implicit bool) *imapServer {
	tb.Helper()
	user := imapmemserver.NewUser(imapUser, imapPass)
	if err := user.Create("INBOX", nil); err != nil {
		tb.Fatal(err)
	}
	s := &imapServer{user: user}
	s.srv = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &testserver.Session{User: s.user, BeforeFetch: func(o *imap.FetchOptions) {
				s.mu.Lock()
				hook := s.beforeFetch
				s.mu.Unlock()
				if hook != nil {
					hook(o)
				}
			}}, nil, nil
		},
		InsecureAuth: tc == nil,
		TLSConfig:    tc,
		Caps:         caps,
		Logger:       discardLogger{},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s.addr = ln.Addr().String()
	if tc != nil && implicit {
		ln = tls.NewListener(ln, tc)
	}
	go func() { _ = s.srv.Serve(trackingListener{ln, s}) }()
	tb.Cleanup(func() { _ = s.srv.Close() })
	return s
}

// onFetch sets a function to run before each FETCH the server handles
// (with its options), on the server's goroutine for that connection.
func (s *imapServer) onFetch(f func(*imap.FetchOptions)) {
	s.mu.Lock()
	s.beforeFetch = f
	s.mu.Unlock()
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}

// drop cuts every open connection, as a server restart or a NAT timeout would.
func (s *imapServer) drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		_ = c.Close()
	}
	s.conns = nil
}

func (s *imapServer) append(tb testing.TB, mailbox, raw string, flags ...imap.Flag) {
	tb.Helper()
	lit := bytes.NewReader([]byte(raw))
	if _, err := s.user.Append(mailbox, literal{lit, int64(len(raw))}, &imap.AppendOptions{Flags: flags}); err != nil {
		tb.Fatalf("append: %v", err)
	}
}

type literal struct {
	*bytes.Reader
	n int64
}

func (l literal) Size() int64 { return l.n }

// client logs in to the test server.
func (s *imapServer) client(tb testing.TB) *imapclient.Client {
	tb.Helper()
	c, err := imapclient.DialInsecure(s.addr, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	if err := c.Login(imapUser, imapPass).Wait(); err != nil {
		tb.Fatal(err)
	}
	return c
}

// rawMail builds a plain text message.
func rawMail(from, to, subject, msgID, body string, extra ...string) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\n", from, to, subject)
	if msgID != "" {
		fmt.Fprintf(&b, "Message-ID: <%s>\r\n", msgID)
	}
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n")
	return b.String()
}

func openStore(tb testing.TB, key []byte) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), filepath.Join(tb.TempDir(), "casebot.db"), store.Options{EncryptionKey: key,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

func testAddressing(tb testing.TB) mail.Addressing {
	tb.Helper()
	a, err := mail.NewAddressing("Mediation Office <cases@practice.example>")
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

func newIntake(tb testing.TB, s *imapServer, db mail.IntakeStore, mod func(*mail.IntakeConfig)) *mail.Intake {
	tb.Helper()
	cfg := mail.IntakeConfig{Addr: s.addr, TLS: mail.TLSNone, Username: imapUser, Password: imapPass,
		Addressing: testAddressing(tb), Store: db, Poll: time.Hour, MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if mod != nil {
		mod(&cfg)
	}
	in, err := mail.NewIntake(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return in
}

func newCase(tb testing.TB, db *store.DB, parties ...casebot.Party) *casebot.Case {
	tb.Helper()
	c, err := db.CreateCase(context.Background(), &casebot.Case{Title: "Lease dispute", Mediator: "U1", Parties: parties},
		casebot.Change{Actor: "U1", Action: "case.create"})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func noteCount(tb testing.TB, db *store.DB, id string) int {
	tb.Helper()
	ns, err := db.Notes(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return len(ns)
}

func timeAfter10s() <-chan time.Time { return time.After(10 * time.Second) }
