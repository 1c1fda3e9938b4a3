package main

import (
	"crypto/hmac"
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
	"testing"
	"time"
)

// fakeSlackAPI is an httptest Slack Web API that checks the bot token and
// records the direct messages it is asked to post.
type fakeSlackAPI struct {
	t     *testing.T
	srv   *httptest.Server
	mu    sync.Mutex
	posts []url.Values
	got   chan url.Values
}

func newFakeSlackAPI(t *testing.T) *fakeSlackAPI {
	f := &fakeSlackAPI{t: t, got: make(chan url.Values, 16)}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSlackAPI) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// slack-go sends the token as a form field on POSTs, as a bearer header on GETs.
	if r.Form.Get("token") != "xoxb-test" && r.Header.Get("Authorization") != "Bearer xoxb-test" {
		fmt.Fprint(w, `{"ok":false,"error":"invalid_auth"}`)
		return
	}
	switch strings.TrimPrefix(r.URL.Path, "/api/") {
	case "conversations.open":
		fmt.Fprintf(w, `{"ok":true,"channel":{"id":"D-%s"}}`, r.Form.Get("users"))
	case "chat.postMessage":
		if !strings.HasPrefix(r.Form.Get("channel"), "D-") || r.Form.Get("blocks") == "" {
			fmt.Fprint(w, `{"ok":false,"error":"invalid_arguments"}`)
			return
		}
		f.mu.Lock()
		f.posts = append(f.posts, r.Form)
		f.mu.Unlock()
		f.got <- r.Form
		fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":"1.%d"}`, r.Form.Get("channel"), time.Now().UnixNano())
	case "auth.test":
		fmt.Fprint(w, `{"ok":true,"team_id":"T1","user_id":"UBOT"}`)
	case "users.info":
		fmt.Fprintf(w, `{"ok":true,"user":{"id":%q,"name":"m","tz":"Europe/London","profile":{"display_name":"Mediator"}}}`, r.Form.Get("user"))
	default:
		fmt.Fprint(w, `{"ok":false,"error":"unknown_method"}`)
	}
}

// signedCommand posts a slash command from workspace T1 as Slack would.
func signedCommand(t *testing.T, base, secret, user, text string) (int, string) {
	t.Helper()
	return signedForm(t, base, secret, url.Values{"command": {"/case"}, "text": {text}, "user_id": {user}, "team_id": {"T1"},
		"trigger_id": {strconv.FormatInt(time.Now().UnixNano(), 10)}, "response_url": {"http://127.0.0.1:1/unused"}})
}

// signedForm posts a correctly signed slash command form.
func signedForm(t *testing.T, base, secret string, form url.Values) (int, string) {
	t.Helper()
	body := form.Encode()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:%s", ts, body)
	req, err := http.NewRequest(http.MethodPost, base+"/slack/commands", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The whole daemon with Slack on: a signed command runs, an unsigned one is
// refused, and the notice the command queues reaches the mediator as a DM.
func TestServeWithSlack(t *testing.T) {
	slackAPI := newFakeSlackAPI(t)
	cfgPath, _ := testConfig(t, fmt.Sprintf("[slack]\nsigning_secret = \"s3cret\"\nbot_token = \"xoxb-test\"\napi_url = %q\nadmins = [\"UADMIN\"]\n", slackAPI.srv.URL+"/api/"))
	rd := startDaemon(t, cfgPath)

	code, body := signedCommand(t, rd.base, "s3cret", "UADMIN", "new Boundary wall")
	if code != http.StatusOK || !strings.Contains(body, "MED-") {
		t.Fatalf("signed new = %d %s", code, body)
	}
	var msg struct {
		ResponseType string `json:"response_type"`
		Text         string `json:"text"`
	}
	if err := json.Unmarshal([]byte(body), &msg); err != nil || msg.ResponseType != "ephemeral" {
		t.Fatalf("reply %s: %v, want ephemeral JSON", body, err)
	}
	id := caseIDRe.FindString(body)

	if code, _ := signedCommand(t, rd.base, "wrong", "UADMIN", "new Forged"); code != http.StatusUnauthorized {
		t.Fatalf("wrongly signed command = %d, want 401", code)
	}
	// The workspace comes from auth.test; another one, or another slash
	// command, is refused.
	if code, _ := signedForm(t, rd.base, "s3cret", url.Values{"command": {"/case"}, "text": {"list"}, "user_id": {"UADMIN"}, "team_id": {"T2"}}); code != http.StatusForbidden {
		t.Fatalf("command from another workspace = %d, want 403", code)
	}
	if code, _ := signedForm(t, rd.base, "s3cret", url.Values{"command": {"/other"}, "text": {"list"}, "user_id": {"UADMIN"}, "team_id": {"T1"}}); code != http.StatusBadRequest {
		t.Fatalf("another slash command = %d, want 400", code)
	}

	if code, body := signedCommand(t, rd.base, "s3cret", "UADMIN", "assign "+id+" <@UMED|mediator>"); code != http.StatusOK {
		t.Fatalf("assign = %d %s", code, body)
	}
	select {
	case post := <-slackAPI.got:
		if post.Get("channel") != "D-UMED" || !strings.Contains(post.Get("text")+post.Get("blocks"), id) {
			t.Fatalf("notice = %v, want a DM to UMED naming %s", post, id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no DM reached Slack after assign")
	}
	waitFor(t, "outbox empty", func() bool {
		n, err := rd.d.DB.OutboxDepth(t.Context())
		return err == nil && n == 0
	})
}
