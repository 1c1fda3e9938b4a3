package bot

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/casebot/casebot"
)

// docSlackOff is doc's refusal while Slack is off (Config.Files nil).
const docSlackOff = "Slack is not configured on this casebot; use casebot export to get the case file."

// showDocs is how many of the newest documents show lists.
const showDocs = 10

func handleDocs(ctx context.Context, r *Request) Reply {
	c, err := r.Case(ctx, r.Args.ID)
	if err != nil {
		return r.Fail(err)
	}
	docs, total, err := r.Store.Documents(ctx, c.ID, 0)
	if err != nil {
		return r.Fail(fmt.Errorf("bot: documents of %s: %w", c.ID, err))
	}
	if err := r.Store.RecordView(ctx, c.ID, r.Actor.ID, "the documents"); err != nil {
		return r.Fail(fmt.Errorf("bot: record view of %s: %w", c.ID, err))
	}
	if total == 0 {
		return Reply{Text: fmt.Sprintf("%s has no documents yet. Attachments of the parties' emails become its documents.", c.ID)}
	}
	var t text
	t.linef("Documents of %s (%d):", c.ID, total)
	writeDocs(&t, docs, r.Actor.Location())
	t.linef("doc %s <doc#> sends one to your direct messages.", c.ID)
	return Reply{Text: t.String()}
}

// writeDocs lists documents (given newest first) in number order.
func writeDocs(t *text, docs []casebot.Document, loc *time.Location) {
	for i := len(docs) - 1; i >= 0; i-- {
		t.line("  " + docLine(&docs[i], loc))
	}
}

// docLine is one document: "#2 brief.pdf — application/pdf, 12.3 KB —
// from ann@example.com 2026-12-01 14:30 UTC (note #4)", each later
// arrival after it, and "not kept" for a file over the size limit.
func docLine(d *casebot.Document, loc *time.Location) string {
	var b strings.Builder
	typ := d.Type()
	if d.TypeMismatch() {
		typ += " (but its bytes read as " + d.DetectedType + ")"
	}
	fmt.Fprintf(&b, "#%d %s — %s, %s", d.N, d.Name, typ, formatSize(d.Size))
	if !d.Kept {
		b.WriteString(", not kept (over the size limit)")
	}
	for i, a := range d.Arrivals {
		if i == 0 {
			b.WriteString(" — from ")
		} else {
			b.WriteString("; again from ")
		}
		switch {
		case a.Via == casebot.ViaCasebot: // an agreement casebot made
			fmt.Fprintf(&b, "%s %s (made by casebot", a.From, formatTime(a.At, loc))
		case a.Via == casebot.ViaSlack:
			fmt.Fprintf(&b, "%s %s (shared in Slack", a.From, formatTime(a.At, loc))
		default:
			fmt.Fprintf(&b, "%s %s (note #%d", a.From, formatTime(a.At, loc), a.Note)
		}
		if i > 0 && a.Name != d.Name {
			fmt.Fprintf(&b, ", as %s", a.Name)
		}
		b.WriteString(")")
	}
	return b.String()
}

func handleDoc(ctx context.Context, r *Request) Reply {
	// Slack off is said to everyone alike (as email's mail off is), so
	// it reveals nothing of the case; with Slack on, a case the actor may
	// not see is refused exactly as show refuses it.
	files := r.bot.cfg.Files
	if files == nil {
		return featureOff(docSlackOff)
	}
	c, err := r.Case(ctx, r.Args.ID)
	if err != nil {
		return r.Fail(err)
	}
	n := r.Args.N
	d, content, err := r.Store.DocumentFile(ctx, c.ID, n)
	if casebot.ErrorCode(err) == casebot.ENOTFOUND {
		return r.Fail(casebot.Errorf(casebot.ENOTFOUND, "%s has no document #%d; docs %s lists its documents.", c.ID, n, c.ID))
	} else if err != nil {
		return r.Fail(fmt.Errorf("bot: document %d of %s: %w", n, c.ID, err))
	}
	if !d.Kept {
		return r.Fail(casebot.Errorf(casebot.ENOTFOUND, "Document #%d of %s (%s) was over the attachment size limit and was not kept; ask its sender for it another way.",
			n, c.ID, formatSize(d.Size)))
	}
	if len(content) == 0 {
		return r.Fail(casebot.Errorf(casebot.EINVALID, "Document #%d of %s is empty; there is nothing to send.", n, c.ID))
	}
	// The view is recorded before the file leaves: no copy reaches anyone
	// without its entry in the audit trail.
	if err := r.Store.RecordDocumentView(ctx, c.ID, r.Actor.ID, n); err != nil {
		return r.Fail(fmt.Errorf("bot: record view of document %d of %s: %w", n, c.ID, err))
	}
	err = files.SendFile(ctx, r.Actor.ID, casebot.File{Name: d.Name, Type: d.Type(), Size: int64(len(content)), Content: bytes.NewReader(content)})
	if err != nil {
		r.Logger.Error("doc: file not delivered", slog.String("user", r.Actor.ID), slog.String("case", c.ID), slog.Int("doc", n), slog.Any("error", err))
		e := casebot.Errorf(casebot.EUNAVAIL, "Slack did not take document #%d of %s, so it was not sent; try again in a moment.", n, c.ID)
		return Reply{Text: e.Message, Err: e}
	}
	return Reply{Text: fmt.Sprintf("Sent document #%d of %s, %s (%s), to your direct messages.", n, c.ID, d.Name, formatSize(d.Size))}
}
