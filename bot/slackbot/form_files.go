package slackbot

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/casebot/casebot"
)

// maxFormFiles is how many files a form's file input takes.
const maxFormFiles = 5

// formFile is one file uploaded with a form: the field it came in and its
// Slack file ID.
type formFile struct {
	field, id string
}

// formFiles lists the files uploaded with a submitted form, in field
// order.
func formFiles(f casebot.Form, vals map[string]string) []formFile {
	var out []formFile
	for _, fl := range f.Fields {
		if fl.Kind != casebot.FieldFile {
			continue
		}
		for _, id := range strings.Split(vals[fl.Name], ",") {
			if id = strings.TrimSpace(id); id != "" {
				out = append(out, formFile{field: fl.Name, id: id})
			}
		}
	}
	return out
}

// checkFormFiles refuses, before anything is stored, the files of a form
// that cannot become documents: files are off, too many, or one is empty
// or over the size limit (files.info). It returns the block to show the
// refusal at and the refusal, or "" when all may be filed.
func (h *Handler) checkFormFiles(files []formFile) (block, msg string) {
	block = files[0].field
	if h.cfg.Files == nil || h.cfg.Client == nil {
		return block, "casebot cannot take files here; remove the file, or share it in casebot's direct messages."
	}
	if len(files) > maxFormFiles {
		return block, fmt.Sprintf("At most %d files at a time.", maxFormFiles)
	}
	ctx, cancel := context.WithTimeout(h.ctx, 2*time.Second)
	defer cancel()
	limit := h.maxFile()
	for _, f := range files {
		info, _, _, err := h.cfg.Client.GetFileInfoContext(ctx, f.id, 0, 0)
		if err != nil {
			h.log.Error("slack: files.info of a form's file failed", slog.Any("error", err))
			return f.field, "casebot could not read that file from Slack; try again."
		}
		name := casebot.SafeFileName(info.Name)
		switch {
		case info.Size == 0:
			return f.field, name + " is empty; nothing was stored."
		case int64(info.Size) > limit:
			return f.field, name + " is " + sizeWords(int64(info.Size)) + "; files of at most " + sizeWords(limit) + " are taken. Nothing was stored."
		}
	}
	return "", ""
}

// fileFormFiles files the files uploaded with a form whose command has
// run (reply, a success) as documents of case caseID, as files shared in
// the app's DM are (downloaded, size-limited, handed to the language, which
// checks access), and returns reply with what became of each added.
func (h *Handler) fileFormFiles(ctx context.Context, user, caseID string, files []formFile, reply casebot.Reply) casebot.Reply {
	if len(files) == 0 {
		return reply
	}
	var t strings.Builder
	t.WriteString(strings.TrimRight(reply.Text, "\n"))
	if h.cfg.Files == nil || h.cfg.Client == nil {
		t.WriteString("\ncasebot cannot take files here; no file was filed.")
	} else {
		for _, f := range files {
			r := h.fileOne(ctx, user, caseID, f.id, h.maxFile())
			t.WriteString("\n" + strings.TrimRight(r.Text, "\n"))
		}
	}
	reply.Text = t.String()
	return reply
}

// maxFile is the size limit of a file shared in Slack.
func (h *Handler) maxFile() int64 {
	if h.cfg.MaxFileBytes > 0 {
		return h.cfg.MaxFileBytes
	}
	return defaultMaxFile
}
