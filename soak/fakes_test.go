package soak

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-smtp"
)

// slackPost is one message the fake Slack accepted.
type slackPost struct {
	Channel string
	Key     string // the outbox key from the message metadata, else "text:<text>"
	Text    string
	TS      string
}

// fakeSlack is an httptest Slack Web API: it checks the bot token, opens DM
// channels, records every chat.postMessage with its metadata, answers
// conversations.history from what it recorded (so the outbox can ask
// whether a message in flight at a crash arrived), serves users.info, and
// refuses one post in rateEvery with 429 Retry-After: 1.
type fakeSlack struct {
	srv       *httptest.Server
	token     string
	rateEvery int64

	calls   atomic.Int64 // chat.postMessage calls, refused ones too
	history atomic.Int64 // conversations.history calls
	limited atomic.Int64 // posts refused with 429

	mu      sync.Mutex
	posts   []slackPost
	channel map[string][]slackPost // channel -> posts, oldest first
	seq     int64
}

func newFakeSlack(t *testing.T, token string) *fakeSlack {
	f := &fakeSlack{token: token, rateEvery: 200, channel: map[string][]slackPost{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSlack) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// slack-go sends the token as a form field on POSTs, as a bearer header on GETs.
	if r.Form.Get("token") != f.token && r.Header.Get("Authorization") != "Bearer "+f.token {
		fmt.Fprint(w, `{"ok":false,"error":"invalid_auth"}`)
		return
	}
	switch strings.TrimPrefix(r.URL.Path, "/api/") {
	case "conversations.open":
		fmt.Fprintf(w, `{"ok":true,"channel":{"id":"D-%s"}}`, r.Form.Get("users"))
	case "chat.postMessage":
		f.postMessage(w, r)
	case "conversations.history":
		f.conversationHistory(w, r)
	case "users.info":
		fmt.Fprintf(w, `{"ok":true,"user":{"id":%q,"name":"m","tz":"UTC","profile":{"display_name":"Mediator"}}}`, r.Form.Get("user"))
	default:
		fmt.Fprint(w, `{"ok":false,"error":"unknown_method"}`)
	}
}

func (f *fakeSlack) postMessage(w http.ResponseWriter, r *http.Request) {
	n := f.calls.Add(1)
	ch := r.Form.Get("channel")
	if !strings.HasPrefix(ch, "D-") || r.Form.Get("blocks") == "" {
		fmt.Fprint(w, `{"ok":false,"error":"invalid_arguments"}`)
		return
	}
	if f.rateEvery > 0 && n%f.rateEvery == 0 {
		f.limited.Add(1)
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"ok":false,"error":"ratelimited"}`)
		return
	}
	p := slackPost{Channel: ch, Text: r.Form.Get("text")}
	if md := r.Form.Get("metadata"); md != "" {
		var m struct {
			EventPayload map[string]any `json:"event_payload"`
		}
		if err := json.Unmarshal([]byte(md), &m); err == nil {
			p.Key, _ = m.EventPayload["key"].(string)
		}
	}
	if p.Key == "" {
		p.Key = "text:" + ch + ":" + p.Text
	}
	f.mu.Lock()
	f.seq++
	p.TS = fmt.Sprintf("%d.%06d", time.Now().Unix(), f.seq%1000000)
	f.posts = append(f.posts, p)
	f.channel[ch] = append(f.channel[ch], p)
	f.mu.Unlock()
	fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":%q}`, ch, p.TS)
}

func (f *fakeSlack) conversationHistory(w http.ResponseWriter, r *http.Request) {
	f.history.Add(1)
	limit, _ := strconv.Atoi(r.Form.Get("limit"))
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	withMeta := r.Form.Get("include_all_metadata") == "1"
	type meta struct {
		EventType    string         `json:"event_type"`
		EventPayload map[string]any `json:"event_payload"`
	}
	type msg struct {
		Type     string `json:"type"`
		Text     string `json:"text"`
		TS       string `json:"ts"`
		BotID    string `json:"bot_id"`
		Metadata *meta  `json:"metadata,omitempty"`
	}
	f.mu.Lock()
	all := f.channel[r.Form.Get("channel")]
	var out []msg
	for i := len(all) - 1; i >= 0 && len(out) < limit; i-- {
		p := all[i]
		m := msg{Type: "message", Text: p.Text, TS: p.TS, BotID: "B1"}
		if withMeta && !strings.HasPrefix(p.Key, "text:") {
			m.Metadata = &meta{EventType: "casebot_outbox", EventPayload: map[string]any{"key": p.Key}}
		}
		out = append(out, m)
	}
	f.mu.Unlock()
	b, _ := json.Marshal(struct {
		OK       bool  `json:"ok"`
		Messages []msg `json:"messages"`
		HasMore  bool  `json:"has_more"`
	}{true, out, len(all) > len(out)})
	_, _ = w.Write(b)
}

// snapshot returns the accepted posts.
func (f *fakeSlack) snapshot() []slackPost {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]slackPost(nil), f.posts...)
}

// smtpSink is an in-process go-smtp server that keeps every message with
// its Message-ID.
type smtpSink struct {
	addr string
	mu   sync.Mutex
	byID map[string]int // Message-ID -> deliveries
	n    int
}

func newSMTPSink(t *testing.T) *smtpSink {
	s := &smtpSink{byID: map[string]int{}}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return sinkSession{s}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = time.Minute, time.Minute
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

type sinkSession struct{ s *smtpSink }

func (x sinkSession) Reset()                               {}
func (x sinkSession) Logout() error                        { return nil }
func (x sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (x sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (x sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(b))).ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return fmt.Errorf("sink: header: %w", err)
	}
	id := strings.Trim(h.Get("Message-Id"), "<> ")
	x.s.mu.Lock()
	x.s.byID[id]++
	x.s.n++
	x.s.mu.Unlock()
	return nil
}

// counts returns the number of deliveries, of distinct Message-IDs, and of
// Message-IDs delivered more than once (a resend after a crash).
func (s *smtpSink) counts() (deliveries, distinct, resent int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.byID {
		if n > 1 {
			resent++
		}
	}
	return s.n, len(s.byID), resent
}

// imapServer is an in-process go-imap server with one user and an INBOX.
type imapServer struct {
	addr string
	user *imapmemserver.User
}

func newIMAPServer(t *testing.T) *imapServer {
	mem := imapmemserver.New()
	user := imapmemserver.NewUser("cases", "pw")
	if err := user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(user)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		InsecureAuth: true, Caps: imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return &imapServer{addr: ln.Addr().String(), user: user}
}

type literal struct {
	*bytes.Reader
	n int64
}

func (l literal) Size() int64 { return l.n }

// add appends a raw message to the INBOX.
func (s *imapServer) add(raw string) error {
	_, err := s.user.Append("INBOX", literal{bytes.NewReader([]byte(raw)), int64(len(raw))}, &imap.AppendOptions{})
	return err
}

// unseen returns how many INBOX messages the intake has not yet marked \Seen.
func (s *imapServer) unseen() (int, error) {
	st, err := s.user.Status("INBOX", &imap.StatusOptions{NumUnseen: true, NumMessages: true})
	if err != nil {
		return 0, err
	}
	return int(*st.NumUnseen), nil
}

// replySink is the response_url endpoint: late answers to slash commands
// arrive here, under /r/<command number>.
type replySink struct {
	srv     *httptest.Server
	mu      sync.Mutex
	waiting map[string]chan string
}

func newReplySink(t *testing.T) *replySink {
	s := &replySink{waiting: map[string]chan string{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			Text string `json:"text"`
		}
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		ch := s.waiting[strings.TrimPrefix(r.URL.Path, "/r/")]
		s.mu.Unlock()
		if ch != nil {
			select {
			case ch <- m.Text:
			default: // a second page; the first one decides
			}
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// expect registers a command's response_url and returns where its late
// answer will arrive and a function to forget it.
func (s *replySink) expect(id string) (url string, got <-chan string, done func()) {
	ch := make(chan string, 1)
	s.mu.Lock()
	s.waiting[id] = ch
	s.mu.Unlock()
	return s.srv.URL + "/r/" + id, ch, func() {
		s.mu.Lock()
		delete(s.waiting, id)
		s.mu.Unlock()
	}
}
