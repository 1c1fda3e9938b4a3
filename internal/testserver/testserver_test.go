package testserver_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/slack-go/slack"

	"github.com/casebot/casebot/internal/testserver"
)

func TestSlackWebAPI(t *testing.T) {
	ctx := context.Background()
	fake := testserver.NewSlack(t, "xoxb-t", testserver.RateLimitEvery(3))
	c := slack.New("xoxb-t", slack.OptionAPIURL(fake.URL()))

	if _, err := slack.New("xoxb-wrong", slack.OptionAPIURL(fake.URL())).AuthTestContext(ctx); err == nil || !strings.Contains(err.Error(), "invalid_auth") {
		t.Fatalf("auth.test with a wrong token: %v, want invalid_auth", err)
	}
	at, err := c.AuthTestContext(ctx)
	if err != nil || at.TeamID != testserver.Team {
		t.Fatalf("auth.test = %+v, %v; want team %s", at, err, testserver.Team)
	}
	ch, _, _, err := c.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{"U7"}})
	if err != nil || ch.ID != "D-U7" {
		t.Fatalf("conversations.open = %+v, %v; want D-U7", ch, err)
	}
	blocks := slack.MsgOptionBlocks(slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "hi", false, false), nil, nil))
	if _, _, err := c.PostMessageContext(ctx, "C1", slack.MsgOptionText("hi", false), blocks); err == nil {
		t.Fatal("a post outside a DM was accepted")
	}
	if _, _, err := c.PostMessageContext(ctx, "D-U7", slack.MsgOptionText("one", false), blocks,
		slack.MsgOptionMetadata(slack.SlackMetadata{EventType: "casebot_outbox", EventPayload: map[string]any{"key": "k1"}})); err != nil {
		t.Fatalf("post: %v", err)
	}
	_, _, err = c.PostMessageContext(ctx, "D-U7", slack.MsgOptionText("two", false), blocks)
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != time.Second || fake.Limited() != 1 {
		t.Fatalf("third call: %v (limited %d), want a 429 with Retry-After 1s", err, fake.Limited())
	}
	select {
	case p := <-fake.Posted():
		if p.Channel != "D-U7" || p.Text != "one" || p.Key != "k1" || p.Blocks == "" {
			t.Fatalf("posted %+v", p)
		}
	default:
		t.Fatal("nothing on Posted")
	}
	if got := fake.Posts(); len(got) != 1 {
		t.Fatalf("%d posts recorded, want 1", len(got))
	}
	h, err := c.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: "D-U7", IncludeAllMetadata: true})
	if err != nil || len(h.Messages) != 1 || h.Messages[0].Metadata.EventPayload["key"] != "k1" || fake.HistoryCalls() != 1 {
		t.Fatalf("history = %+v, %v", h, err)
	}
	u, err := c.GetUserInfoContext(ctx, "U7")
	if err != nil || u.ID != "U7" || u.TZ != "UTC" {
		t.Fatalf("users.info = %+v, %v", u, err)
	}
}

func TestSlackResponseURL(t *testing.T) {
	fake := testserver.NewSlack(t, "xoxb-t")
	u, got, done := fake.Expect("k")
	defer done()
	for _, body := range []string{`{"text":"first"}`, `{"text":"second"}`} {
		resp, err := http.Post(u, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if b := <-got; string(b) != `{"text":"first"}` {
		t.Fatalf("Expect got %s, want the first post", b)
	}
	if n := len(fake.Responses("k")); n != 2 || len(fake.AllResponses()) != 2 {
		t.Fatalf("%d responses kept under k, want 2", n)
	}
}

func TestSignSlack(t *testing.T) {
	body := testserver.SlashForm("U1", "list", "trig.1", "http://127.0.0.1:1/x").Encode()
	now := time.Now()
	h := testserver.SignSlack("s3cret", now, body)
	for _, tc := range []struct {
		name   string
		secret string
		ok     bool
	}{{"right secret", "s3cret", true}, {"wrong secret", "other", false}} {
		v, err := slack.NewSecretsVerifier(h, tc.secret)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(&v, body)
		if err := v.Ensure(); (err == nil) != tc.ok {
			t.Errorf("%s: slack-go verifier says %v", tc.name, err)
		}
	}
}

func TestSMTPAuth(t *testing.T) {
	open := testserver.NewSMTP(t, testserver.SMTPOptions{})
	if err := sendMail(t, open.Addr(), nil, "a@example.com", []string{"b@example.com"}, strings.NewReader("Subject: x\r\n\r\nhi\r\n")); err != nil {
		t.Fatal(err)
	}
	if m := open.Messages(); len(m) != 1 || m[0].From != "a@example.com" || m[0].Rcpt[0] != "b@example.com" || !strings.Contains(string(m[0].Data), "hi") {
		t.Fatalf("messages %+v", m)
	}

	locked := testserver.NewSMTP(t, testserver.SMTPOptions{User: "u", Password: "pw"})
	msg := "Subject: y\r\n\r\nhello\r\n"
	if err := sendMail(t, locked.Addr(), nil, "a@example.com", []string{"b@example.com"}, strings.NewReader(msg)); err == nil {
		t.Fatal("mail without AUTH accepted")
	}
	if err := sendMail(t, locked.Addr(), sasl.NewPlainClient("", "u", "nope"), "a@example.com", []string{"b@example.com"}, strings.NewReader(msg)); err == nil {
		t.Fatal("wrong password accepted")
	}
	if err := sendMail(t, locked.Addr(), sasl.NewPlainClient("", "u", "pw"), "a@example.com", []string{"b@example.com"}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	if n := len(locked.Messages()); n != 1 {
		t.Fatalf("%d messages, want 1", n)
	}
}

func TestIMAP(t *testing.T) {
	s := testserver.NewIMAP(t, "cases", "pw")
	for _, raw := range []string{"Subject: a\r\n\r\none\r\n", "Subject: b\r\n\r\ntwo\r\n"} {
		if err := s.Append(raw); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.Unseen(); err != nil || n != 2 {
		t.Fatalf("Unseen = %d, %v; want 2", n, err)
	}
	c, err := imapclient.DialInsecure(s.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("cases", "wrong").Wait(); err == nil {
		t.Fatal("wrong password accepted")
	}
	if err := c.Login("cases", "pw").Wait(); err != nil {
		t.Fatal(err)
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil || sel.NumMessages != 2 {
		t.Fatalf("select = %+v, %v; want 2 messages", sel, err)
	}
}

// sendMail sends one message over plain SMTP, logging in first when auth
// is set.
func sendMail(t *testing.T, addr string, auth sasl.Client, from string, to []string, r io.Reader) error {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return err
	}
	if auth != nil {
		if err := c.Auth(auth); err != nil {
			return err
		}
	}
	return c.SendMail(from, to, r)
}
