package slackbot

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/casebot/casebot"
	"github.com/slack-go/slack"
)

// Sender delivers outbox messages of kind casebot.OutSlack as direct
// messages: conversations.open with the user, then chat.postMessage with
// the text escaped into Block Kit sections and the buttons, tagged with the
// outbox key as message metadata. It satisfies outbox.Sender, and
// outbox.Confirmer through Delivered, which finds a post by that key.
type Sender struct {
	client *slack.Client
	render NoticeRenderer
	mu     sync.Mutex
	dms    map[string]string // user ID -> DM channel ID
}

// NoticeRenderer words a notice (a domain value the outbox carries) as
// the command language says it: plain text and buttons, which the sender
// escapes into Block Kit. bot.RenderNotice is the one renderer; the
// transport is handed it and never imports the language.
type NoticeRenderer func(n *casebot.Notice) (text string, buttons []casebot.Button)

// NewSender returns a sender posting with client (bot token) that words
// notices with render.
func NewSender(client *slack.Client, render NoticeRenderer) *Sender {
	return &Sender{client: client, render: render, dms: map[string]string{}}
}

// Send posts m to its recipient's DM. A rate limit comes back as an error
// with RetryAfter; errors no retry can fix (unknown user, bad token, missing
// scope) as errors whose Permanent method returns true.
func (s *Sender) Send(ctx context.Context, m casebot.OutMessage) error {
	if m.Kind != casebot.OutSlack {
		return permanentErr{fmt.Errorf("slackbot: sender given a %q message", m.Kind)}
	}
	ch, err := s.dm(ctx, m.To)
	if err != nil {
		return classify("conversations.open", err)
	}
	text, buttons := m.Text, m.Buttons
	if m.Subject != "" {
		text = m.Subject + "\n" + text
	}
	if m.Notice != nil && s.render != nil {
		// A notice is rendered now, in the words of the command language;
		// a message queued before notices existed keeps its text.
		text, buttons = s.render(m.Notice)
	}
	// One chat.postMessage per outbox message keeps delivery exact: a long
	// digest is cut at Slack's block limit rather than split over several
	// posts, of which a retry would repeat the first.
	p := renderPages(text, buttons, 1)[0]
	_, _, err = s.client.PostMessageContext(ctx, ch,
		slack.MsgOptionText(p.text, false),
		slack.MsgOptionBlocks(p.blocks...),
		slack.MsgOptionMetadata(slack.SlackMetadata{EventType: OutboxEventType, EventPayload: map[string]any{"key": outboxKey(m)}}),
	)
	if err != nil {
		var se slack.SlackErrorResponse
		if errors.As(err, &se) && se.Err == "channel_not_found" {
			s.forget(m.To)
		}
		return classify("chat.postMessage", err)
	}
	return nil
}

// OutboxEventType is the metadata event type of casebot's direct messages;
// the payload's "key" is the outbox message's key.
const OutboxEventType = "casebot_outbox"

// historyDepth is how many recent DM messages Delivered reads. Messages to
// one user leave the outbox one at a time and in order, so one whose send
// was cut short is the newest casebot post of that DM; the margin is for
// what the user typed since.
const historyDepth = 50

// outboxKey names m in its metadata: its Key, else its outbox ID.
func outboxKey(m casebot.OutMessage) string {
	if m.Key != "" {
		return m.Key
	}
	return fmt.Sprintf("outbox/%d", m.ID)
}

// Delivered reports whether m is among the recent messages of its
// recipient's DM (conversations.history with metadata; needs the
// im:history scope), for a message whose earlier send may have arrived
// before a crash. Errors are classified as Send's are: a missing scope is
// permanent.
func (s *Sender) Delivered(ctx context.Context, m casebot.OutMessage) (bool, error) {
	ch, err := s.dm(ctx, m.To)
	if err != nil {
		return false, classify("conversations.open", err)
	}
	h, err := s.client.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{
		ChannelID: ch, Limit: historyDepth, IncludeAllMetadata: true,
	})
	if err != nil {
		return false, classify("conversations.history", err)
	}
	key := outboxKey(m)
	for _, msg := range h.Messages {
		if msg.Metadata.EventType == OutboxEventType && fmt.Sprint(msg.Metadata.EventPayload["key"]) == key {
			return true, nil
		}
	}
	return false, nil
}

func (s *Sender) dm(ctx context.Context, user string) (string, error) {
	s.mu.Lock()
	ch, ok := s.dms[user]
	s.mu.Unlock()
	if ok {
		return ch, nil
	}
	c, _, _, err := s.client.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}})
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.dms[user] = c.ID
	s.mu.Unlock()
	return c.ID, nil
}

func (s *Sender) forget(user string) {
	s.mu.Lock()
	delete(s.dms, user)
	s.mu.Unlock()
}

// permanentSlackErrors are Web API errors that retrying this message cannot
// fix. Token errors (invalid_auth, not_authed, token_revoked,
// token_expired, account_inactive) are not among them: they stop every
// message, and an operator fixes them by setting a new token, after which
// the queued messages must still go out; they are retried with back-off.
var permanentSlackErrors = map[string]bool{
	"user_not_found": true, "users_not_found": true, "user_disabled": true,
	"cannot_dm_bot": true,
	"missing_scope": true, "not_allowed_token_type": true, "no_permission": true,
	"invalid_blocks": true, "invalid_blocks_format": true, "msg_too_long": true,
	"no_text": true, "invalid_arguments": true, "restricted_action": true,
	"is_archived": true,
}

// rateLimited carries Slack's Retry-After to the outbox worker.
type rateLimited struct {
	err   error
	after time.Duration
}

func (e rateLimited) Error() string             { return e.err.Error() }
func (e rateLimited) Unwrap() error             { return e.err }
func (e rateLimited) RetryAfter() time.Duration { return e.after }

type permanentErr struct{ err error }

func (e permanentErr) Error() string   { return e.err.Error() }
func (e permanentErr) Unwrap() error   { return e.err }
func (e permanentErr) Permanent() bool { return true }

func classify(method string, err error) error {
	err = fmt.Errorf("slackbot: %s: %w", method, err)
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return rateLimited{err: err, after: rl.RetryAfter}
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && permanentSlackErrors[se.Err] {
		return permanentErr{err}
	}
	return err
}

var _ casebot.FileSender = (*Sender)(nil)

// SendFile uploads f to userID's direct messages with the bot: it opens
// the DM (conversations.open), then uploads with Slack's external upload
// (files.getUploadURLExternal, the POST of the bytes, streamed, and
// files.completeUploadExternal sharing the file to that DM only). It
// never shares to a channel. Errors are classified as Send's are; none
// names the file.
func (s *Sender) SendFile(ctx context.Context, userID string, f casebot.File) error {
	ch, err := s.dm(ctx, userID)
	if err != nil {
		return classify("conversations.open", err)
	}
	_, err = s.client.UploadFileContext(ctx, slack.UploadFileParameters{
		Reader: f.Content, FileSize: int(f.Size), Filename: f.Name, Title: f.Name, Channel: ch,
	})
	if err != nil {
		var se slack.SlackErrorResponse
		if errors.As(err, &se) && se.Err == "channel_not_found" {
			s.forget(userID)
		}
		return classify("files upload", err)
	}
	return nil
}
