package testserver

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Post is one chat.postMessage the fake Slack accepted.
type Post struct {
	Channel string
	Text    string
	Blocks  string // the blocks JSON as sent
	Key     string // event_payload.key of the message metadata; "" without metadata
	TS      string
	Form    url.Values // the whole request form
}

// Slack is an httptest Slack: the Web API methods casebot calls, checking
// the bot token, and a response_url endpoint. The Web API answers
// auth.test (team Team), conversations.open (channel "D-<user>"),
// chat.postMessage (DMs with blocks only; recorded with their metadata),
// conversations.history (from what was recorded, metadata included on
// request), users.info and the external file upload
// (files.getUploadURLExternal, the POST to its upload URL and
// files.completeUploadExternal; see Uploads); anything else is
// unknown_method.
type Slack struct {
	srv       *httptest.Server
	token     string
	tz        string
	rateEvery int64
	posted    chan Post

	calls   atomic.Int64 // chat.postMessage calls, refused ones too
	history atomic.Int64 // conversations.history calls
	limited atomic.Int64 // posts refused with 429

	mu      sync.Mutex
	posts   []Post
	channel map[string][]Post   // channel -> posts, oldest first
	resp    map[string][][]byte // response_url bodies by key
	waiting map[string]chan []byte
	seq     int64
	methods map[string]int     // Web API calls by method, "upload" for upload URL POSTs
	pending map[string]*Upload // file ID -> upload not completed yet
	uploads []Upload           // completed uploads, oldest first
	views   []View             // accepted views.publish and views.open
	viewed  chan View
	refused []string // view calls refused, with the reason
	files   map[string]SharedFile
}

// Upload is one file that went through Slack's external upload: announced
// by files.getUploadURLExternal, its bytes POSTed to the upload URL, then
// shared by files.completeUploadExternal.
type Upload struct {
	FileID   string
	Filename string // filename given to files.getUploadURLExternal
	Length   int64  // length given to files.getUploadURLExternal
	Received int64  // bytes of the file POSTed to the upload URL
	SHA256   string // hex SHA-256 of those bytes
	Title    string // the file's title in files.completeUploadExternal
	Channel  string // channel_id of files.completeUploadExternal; "" shares it nowhere
}

// SlackOption changes a fake Slack made by NewSlack.
type SlackOption func(*Slack)

// UserTZ sets the time zone users.info reports for every user (default
// "UTC").
func UserTZ(tz string) SlackOption { return func(s *Slack) { s.tz = tz } }

// RateLimitEvery makes every n-th chat.postMessage fail with HTTP 429 and
// Retry-After: 1, as Slack does past its rate limit. n <= 0 never limits.
func RateLimitEvery(n int64) SlackOption { return func(s *Slack) { s.rateEvery = n } }

// NewSlack starts a fake Slack accepting the bot token token, closed when
// the test ends.
func NewSlack(tb testing.TB, token string, opts ...SlackOption) *Slack {
	tb.Helper()
	s := &Slack{token: token, tz: "UTC", posted: make(chan Post, 256),
		channel: map[string][]Post{}, resp: map[string][][]byte{}, waiting: map[string]chan []byte{},
		methods: map[string]int{}, pending: map[string]*Upload{}, viewed: make(chan View, 256), files: map[string]SharedFile{}}
	for _, o := range opts {
		o(s)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.srv.Close)
	return s
}

// URL returns the Web API base URL, ending in "/api/" (slack.OptionAPIURL,
// config slack.api_url).
func (s *Slack) URL() string { return s.srv.URL + "/api/" }

// Posts returns every accepted chat.postMessage, oldest first.
func (s *Slack) Posts() []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Post(nil), s.posts...)
}

// Posted delivers accepted posts as they arrive. It holds the first 256
// that nobody received; later ones are only in Posts.
func (s *Slack) Posted() <-chan Post { return s.posted }

// Limited returns how many posts were refused with 429.
func (s *Slack) Limited() int64 { return s.limited.Load() }

// HistoryCalls returns how many conversations.history calls were served.
func (s *Slack) HistoryCalls() int64 { return s.history.Load() }

// ResponseURL returns a response_url whose posts are kept under key.
func (s *Slack) ResponseURL(key string) string { return s.srv.URL + "/resp/" + key }

// Responses returns the bodies posted to ResponseURL(key), oldest first.
func (s *Slack) Responses(key string) [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.resp[key]...)
}

// AllResponses returns every body posted to any response_url.
func (s *Slack) AllResponses() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out [][]byte
	for _, bs := range s.resp {
		out = append(out, bs...)
	}
	return out
}

// Expect returns a response_url for key, a channel that receives the first
// body posted to it after this call, and a function that stops waiting.
func (s *Slack) Expect(key string) (responseURL string, got <-chan []byte, done func()) {
	ch := make(chan []byte, 1)
	s.mu.Lock()
	s.waiting[key] = ch
	s.mu.Unlock()
	return s.ResponseURL(key), ch, func() {
		s.mu.Lock()
		delete(s.waiting, key)
		s.mu.Unlock()
	}
}

func (s *Slack) serve(w http.ResponseWriter, r *http.Request) {
	if key, ok := strings.CutPrefix(r.URL.Path, "/resp/"); ok {
		s.response(w, r, key)
		return
	}
	if id, ok := strings.CutPrefix(r.URL.Path, "/upload/"); ok {
		s.upload(w, r, id)
		return
	}
	if id, ok := strings.CutPrefix(r.URL.Path, "/files/"); ok {
		s.download(w, r, id)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// slack-go sends the token as a form field on POSTs, as a bearer header on GETs.
	if r.Form.Get("token") != s.token && r.Header.Get("Authorization") != "Bearer "+s.token {
		fmt.Fprint(w, `{"ok":false,"error":"invalid_auth"}`)
		return
	}
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	s.mu.Lock()
	s.methods[method]++
	s.mu.Unlock()
	switch method {
	case "files.getUploadURLExternal":
		s.getUploadURL(w, r)
	case "files.completeUploadExternal":
		s.completeUpload(w, r)
	case "views.publish", "views.open":
		s.viewCall(w, r, method)
	case "files.info":
		s.fileInfo(w, r)
	case "chat.getPermalink":
		fmt.Fprintf(w, `{"ok":true,"channel":%q,"permalink":"https://practice.slack.com/archives/%s/p%s"}`,
			r.Form.Get("channel"), r.Form.Get("channel"), strings.ReplaceAll(r.Form.Get("message_ts"), ".", ""))
	case "auth.test":
		fmt.Fprintf(w, `{"ok":true,"team_id":%q,"user_id":"UBOT"}`, Team)
	case "conversations.open":
		fmt.Fprintf(w, `{"ok":true,"channel":{"id":"D-%s"}}`, r.Form.Get("users"))
	case "chat.postMessage":
		s.postMessage(w, r)
	case "conversations.history":
		s.conversationHistory(w, r)
	case "users.info":
		fmt.Fprintf(w, `{"ok":true,"user":{"id":%q,"name":"m","tz":%q,"profile":{"display_name":"Mediator"}}}`, r.Form.Get("user"), s.tz)
	default:
		fmt.Fprint(w, `{"ok":false,"error":"unknown_method"}`)
	}
}

// response keeps a response_url post and hands it to a waiting Expect.
func (s *Slack) response(w http.ResponseWriter, r *http.Request, key string) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.resp[key] = append(s.resp[key], b)
	ch := s.waiting[key]
	s.mu.Unlock()
	if ch != nil {
		select {
		case ch <- b:
		default: // a second page; the first one decides
		}
	}
	_, _ = io.WriteString(w, "ok")
}

func (s *Slack) postMessage(w http.ResponseWriter, r *http.Request) {
	n := s.calls.Add(1)
	ch := r.Form.Get("channel")
	if !strings.HasPrefix(ch, "D-") || r.Form.Get("blocks") == "" {
		fmt.Fprint(w, `{"ok":false,"error":"invalid_arguments"}`)
		return
	}
	if s.rateEvery > 0 && n%s.rateEvery == 0 {
		s.limited.Add(1)
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"ok":false,"error":"ratelimited"}`)
		return
	}
	p := Post{Channel: ch, Text: r.Form.Get("text"), Blocks: r.Form.Get("blocks"), Form: r.Form}
	if md := r.Form.Get("metadata"); md != "" {
		var m struct {
			EventPayload map[string]any `json:"event_payload"`
		}
		if err := json.Unmarshal([]byte(md), &m); err == nil {
			p.Key, _ = m.EventPayload["key"].(string)
		}
	}
	s.mu.Lock()
	s.seq++
	p.TS = fmt.Sprintf("%d.%06d", time.Now().Unix(), s.seq%1000000)
	s.posts = append(s.posts, p)
	s.channel[ch] = append(s.channel[ch], p)
	s.mu.Unlock()
	select {
	case s.posted <- p:
	default: // nobody is listening; Posts has it
	}
	fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":%q}`, ch, p.TS)
}

func (s *Slack) conversationHistory(w http.ResponseWriter, r *http.Request) {
	s.history.Add(1)
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
	s.mu.Lock()
	all := s.channel[r.Form.Get("channel")]
	var out []msg
	for i := len(all) - 1; i >= 0 && len(out) < limit; i-- {
		p := all[i]
		m := msg{Type: "message", Text: p.Text, TS: p.TS, BotID: "B1"}
		if withMeta && p.Key != "" {
			m.Metadata = &meta{EventType: "casebot_outbox", EventPayload: map[string]any{"key": p.Key}}
		}
		out = append(out, m)
	}
	s.mu.Unlock()
	b, _ := json.Marshal(struct {
		OK       bool  `json:"ok"`
		Messages []msg `json:"messages"`
		HasMore  bool  `json:"has_more"`
	}{true, out, len(all) > len(out)})
	_, _ = w.Write(b)
}

// Calls returns how many calls of a Web API method were served (refused
// ones too); "upload" counts the POSTs to upload URLs.
func (s *Slack) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.methods[method]
}

// Uploads returns every completed upload, oldest first.
func (s *Slack) Uploads() []Upload {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Upload(nil), s.uploads...)
}

// getUploadURL answers files.getUploadURLExternal: it needs a filename
// and a positive length, and hands out an upload URL on this server (so
// slack-go, which sends the token only to Slack or the API URL's host,
// may post there).
func (s *Slack) getUploadURL(w http.ResponseWriter, r *http.Request) {
	name := r.Form.Get("filename")
	length, err := strconv.ParseInt(r.Form.Get("length"), 10, 64)
	if name == "" || err != nil || length <= 0 {
		fmt.Fprint(w, `{"ok":false,"error":"invalid_arguments"}`)
		return
	}
	s.mu.Lock()
	s.seq++
	id := fmt.Sprintf("F%06d", s.seq)
	s.pending[id] = &Upload{FileID: id, Filename: name, Length: length}
	s.mu.Unlock()
	fmt.Fprintf(w, `{"ok":true,"upload_url":%q,"file_id":%q}`, s.srv.URL+"/upload/"+id, id)
}

// upload takes the bytes of an announced file, as a multipart "file" part
// (what slack-go sends) or as the raw body, streaming them into a hash.
// Like Slack, it refuses a body that is not exactly the announced length.
func (s *Slack) upload(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	s.methods["upload"]++
	u := s.pending[id]
	s.mu.Unlock()
	if r.Method != http.MethodPost || u == nil || r.Header.Get("Authorization") != "Bearer "+s.token {
		http.Error(w, "unknown upload", http.StatusNotFound)
		return
	}
	sum := sha256.New()
	var n int64
	var err error
	if mr, merr := r.MultipartReader(); merr == nil {
		for {
			part, perr := mr.NextPart()
			if perr == io.EOF {
				break
			} else if perr != nil {
				err = perr
				break
			}
			if part.FormName() == "file" {
				k, cerr := io.Copy(sum, part)
				n, err = n+k, cerr
			}
			part.Close()
			if err != nil {
				break
			}
		}
	} else {
		n, err = io.Copy(sum, r.Body)
	}
	if err != nil || n != u.Length {
		http.Error(w, fmt.Sprintf("got %d bytes, announced %d (%v)", n, u.Length, err), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	u.Received, u.SHA256 = n, hex.EncodeToString(sum.Sum(nil))
	s.mu.Unlock()
	fmt.Fprintf(w, "OK - %d", n)
}

// completeUpload answers files.completeUploadExternal for files whose
// bytes arrived, recording where each was shared.
func (s *Slack) completeUpload(w http.ResponseWriter, r *http.Request) {
	var files []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(r.Form.Get("files")), &files); err != nil || len(files) == 0 {
		fmt.Fprint(w, `{"ok":false,"error":"invalid_arguments"}`)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range files {
		if u := s.pending[f.ID]; u == nil || u.SHA256 == "" {
			fmt.Fprint(w, `{"ok":false,"error":"file_not_found"}`)
			return
		}
	}
	type summary struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	out := struct {
		OK    bool      `json:"ok"`
		Files []summary `json:"files"`
	}{OK: true}
	for _, f := range files {
		u := s.pending[f.ID]
		delete(s.pending, f.ID)
		u.Title, u.Channel = f.Title, r.Form.Get("channel_id")
		s.uploads = append(s.uploads, *u)
		out.Files = append(out.Files, summary{ID: u.FileID, Title: u.Title})
	}
	b, _ := json.Marshal(out)
	_, _ = w.Write(b)
}
