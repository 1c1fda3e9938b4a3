package slackbot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/casebot/casebot"
	"github.com/slack-go/slack/slackevents"
)

// DocumentFiler files the files users share in the app's DM as case
// documents. *bot.Bot implements it: the access rule and the reply's
// words are the language's.
type DocumentFiler interface {
	// MayFile returns nil when userID may add documents to caseID, else
	// the refusal to show them.
	MayFile(ctx context.Context, userID, caseID string) error
	// FileDocument files a (content whole) as a document of caseID and
	// returns the reply naming its doc#, or the refusal.
	FileDocument(ctx context.Context, userID, caseID string, a casebot.Attachment) casebot.Reply
}

// defaultMaxFile is the size limit of a shared file when Config.MaxFileBytes
// is zero (mail_limits.max_attachment_bytes' default).
const defaultMaxFile = 10 << 20

// errTooBig stops a download that passes the size limit.
var errTooBig = errors.New("file over the size limit")

// capped is a buffer that refuses to grow past max bytes.
type capped struct {
	buf bytes.Buffer
	max int64
}

func (c *capped) Write(p []byte) (int, error) {
	if int64(c.buf.Len()+len(p)) > c.max {
		return 0, errTooBig
	}
	return c.buf.Write(p)
}

// fileShare files the files of a message a user posted in the app's DM as
// documents of the case the message names: each downloaded with the bot
// token (files.info, then its url_private_download), size-limited, and
// handed to the language, which checks access, hashes and stores it. The
// user is told the doc# or why nothing was filed.
func (h *Handler) fileShare(ctx context.Context, e *slackevents.MessageEvent) {
	user := e.User
	if h.cfg.Files == nil || h.cfg.Client == nil {
		h.replyDM(ctx, user, casebot.Reply{Text: "casebot cannot take files here; nothing was filed."})
		return
	}
	text := e.Text
	if text == "" && e.Message != nil {
		text = e.Message.Text
	}
	id, ok := casebot.FindCaseID(unescapeSlack(text))
	if !ok {
		h.replyDM(ctx, user, casebot.Reply{Text: "Which case is this file for? Nothing was filed. Share it again with a message naming the case, like MED-2026-0042."})
		return
	}
	if err := h.cfg.Files.MayFile(ctx, user, id); err != nil {
		h.replyDM(ctx, user, casebot.Reply{Text: casebot.ErrorMessage(err) + " Nothing was filed.", Err: err})
		return
	}
	limit := h.maxFile()
	for _, f := range e.Message.Files {
		h.replyDM(ctx, user, h.fileOne(ctx, user, id, f.ID, limit))
	}
}

// fileOne downloads one shared file and files it; it returns the reply.
func (h *Handler) fileOne(ctx context.Context, user, caseID, fileID string, limit int64) casebot.Reply {
	refusal := func(format string, args ...any) casebot.Reply {
		err := casebot.Errorf(casebot.EINVALID, format, args...)
		return casebot.Reply{Text: err.Message, Err: err}
	}
	info, _, _, err := h.cfg.Client.GetFileInfoContext(ctx, fileID, 0, 0)
	if err != nil {
		h.log.Error("slack: files.info failed", slog.String("user", user), slog.Any("error", err))
		return refusal("casebot could not read that file from Slack; nothing was filed. Try again later.")
	}
	name := casebot.SafeFileName(info.Name)
	switch {
	case info.Size == 0:
		return refusal("%s is empty; nothing was filed.", name)
	case int64(info.Size) > limit:
		return refusal("%s is %s; files of at most %s are taken. Nothing was filed.", name, sizeWords(int64(info.Size)), sizeWords(limit))
	}
	url := info.URLPrivateDownload
	if url == "" {
		url = info.URLPrivate
	}
	buf := &capped{max: limit}
	if err := h.cfg.Client.GetFileContext(ctx, url, buf); errors.Is(err, errTooBig) {
		return refusal("%s is over %s; nothing was filed.", name, sizeWords(limit))
	} else if err != nil {
		h.log.Error("slack: file download failed", slog.String("user", user), slog.Any("error", err))
		return refusal("casebot could not download %s from Slack; nothing was filed. Try again later.", name)
	}
	if buf.buf.Len() == 0 {
		return refusal("%s is empty; nothing was filed.", name)
	}
	return h.cfg.Files.FileDocument(ctx, user, caseID, casebot.Attachment{Name: info.Name, Type: info.Mimetype, Content: buf.buf.Bytes()})
}

// sizeWords shows a byte count as 512 bytes, 12.0 KB or 10.0 MB.
func sizeWords(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d bytes", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}
