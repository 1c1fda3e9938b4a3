package testserver

import (
	"bytes"
	"fmt"
	"net"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// IMAP is an in-process go-imap server (imapmemserver) with one user and
// an INBOX, accepting plain-text logins.
type IMAP struct {
	addr string
	user *imapmemserver.User
}

// NewIMAP serves an in-memory mailbox for user with password pass on
// 127.0.0.1:0 until the test ends. It fails tb when it cannot listen.
func NewIMAP(tb testing.TB, user, pass string) *IMAP {
	tb.Helper()
	u := imapmemserver.NewUser(user, pass)
	if err := u.Create("INBOX", nil); err != nil {
		tb.Fatal(err)
	}
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &Session{User: u}, nil, nil
		},
		InsecureAuth: true, Caps: imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return &IMAP{addr: ln.Addr().String(), user: u}
}

// Session is imapmemserver's session for one user, as the in-process test
// servers serve it: IDLE first reports what changed since the last
// command (imapmemserver listens only for updates that come after IDLE
// starts, so a message appended between a client's last command and its
// IDLE would wait for the next update; a real server such as Dovecot
// reports it when IDLE starts), and BeforeFetch, when set, runs before
// each FETCH with its options.
type Session struct {
	*imapmemserver.UserSession // nil until login
	User                       *imapmemserver.User
	BeforeFetch                func(*imap.FetchOptions)
}

// Login checks the user's name and password.
func (s *Session) Login(username, password string) error {
	if err := s.User.Login(username, password); err != nil {
		return err
	}
	s.UserSession = imapmemserver.NewUserSession(s.User)
	return nil
}

// Close ends the session.
func (s *Session) Close() error {
	if s.UserSession == nil {
		return nil
	}
	return s.UserSession.Close()
}

// Idle reports the updates queued so far, then waits for more.
func (s *Session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	if err := s.UserSession.Poll(w, true); err != nil {
		return err
	}
	return s.UserSession.Idle(w, stop)
}

// Fetch runs BeforeFetch, then the FETCH.
func (s *Session) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	if s.BeforeFetch != nil {
		s.BeforeFetch(options)
	}
	return s.UserSession.Fetch(w, numSet, options)
}

// Addr returns the host:port the server listens on.
func (s *IMAP) Addr() string { return s.addr }

// Append adds a raw RFC 5322 message to the INBOX, unseen. It returns the
// mailbox's error, wrapped.
func (s *IMAP) Append(raw string) error {
	if _, err := s.user.Append("INBOX", literal{bytes.NewReader([]byte(raw)), int64(len(raw))}, &imap.AppendOptions{}); err != nil {
		return fmt.Errorf("testserver: imap append: %w", err)
	}
	return nil
}

// Unseen returns how many INBOX messages are not yet marked \Seen.
func (s *IMAP) Unseen() (int, error) {
	st, err := s.user.Status("INBOX", &imap.StatusOptions{NumUnseen: true, NumMessages: true})
	if err != nil {
		return 0, fmt.Errorf("testserver: imap status: %w", err)
	}
	return int(*st.NumUnseen), nil
}

// literal is a message body for imapmemserver.User.Append.
type literal struct {
	*bytes.Reader
	n int64
}

func (l literal) Size() int64 { return l.n }
