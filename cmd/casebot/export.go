package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/bot"
	"github.com/casebot/casebot/casefile"
	"github.com/casebot/casebot/store"
)

// exportTimeout bounds the wait for a daemon's export.
const exportTimeout = backupTimeout

// exported is what an export wrote.
type exported struct {
	Bytes int64
	casefile.Summary
}

// checkExportPath refuses, with a sentence naming the problem, an output
// path whose folder is missing, is not a folder or may not be written,
// and a path that is itself a folder. out must be absolute.
func checkExportPath(out string) error {
	dir := filepath.Dir(out)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return casebot.Errorf(casebot.EINVALID, "The folder %s does not exist; nothing was exported.", dir)
	case err != nil:
		return casebot.Errorf(casebot.EINVALID, "The folder %s cannot be read (%v); nothing was exported.", dir, errors.Unwrap(err))
	case !fi.IsDir():
		return casebot.Errorf(casebot.EINVALID, "%s is not a folder; nothing was exported.", dir)
	}
	if err := unix.Access(dir, unix.W_OK|unix.X_OK); err != nil {
		return casebot.Errorf(casebot.EINVALID, "The folder %s is not writable (%v); nothing was exported.", dir, err)
	}
	if fi, err := os.Stat(out); err == nil && fi.IsDir() {
		return casebot.Errorf(casebot.EINVALID, "%s is a folder; name the zip file to write.", out)
	}
	return nil
}

// Export writes the case file of case id (casefile), as user sees it, to
// out, an absolute path: through a temporary file in out's folder, synced,
// then renamed (mode 0600). It is refused before any work, with nothing
// written, for a path checkExportPath refuses and for a user who may not
// see the case (the denial show gives, revealing nothing). The export is
// recorded in the case's audit trail ("case.export") before the rename,
// checking access again in that transaction. Document contents are read
// one at a time.
func (d *Daemon) Export(ctx context.Context, user, id, out string) (exported, error) {
	var res exported
	id, err := casebot.NormalizeCaseID(id)
	if err != nil {
		return res, err
	}
	if !filepath.IsAbs(out) {
		return res, casebot.Errorf(casebot.EINVALID, "The export path %s is not absolute.", out)
	}
	if err := checkExportPath(out); err != nil {
		return res, err
	}
	if same, _ := sameFile(out, d.Config.Store.Path); same {
		return res, casebot.Errorf(casebot.EINVALID, "%s is the store itself; name another file.", out)
	}
	actor := d.Bot.Actor(user)
	c, err := d.DB.Case(ctx, id)
	if casebot.ErrorCode(err) == casebot.ENOTFOUND || err == nil && !actor.CanSee(c) {
		return res, actor.Denied(id)
	} else if err != nil {
		return res, fmt.Errorf("export: %w", err)
	}
	f, err := d.caseFile(ctx, actor, c)
	if err != nil {
		return res, err
	}
	n, err := writeAtomic(out, "export", func(w io.Writer) (int64, error) {
		cw := &countWriter{w: w}
		sum, werr := casefile.Write(ctx, cw, f)
		res.Summary = sum
		return cw.n, werr
	}, func() error {
		return d.DB.RecordExport(ctx, id, user, res.Summary.String(), casebot.About{Text: "the case file"}, func(c *casebot.Case) error {
			if !actor.CanSee(c) {
				return actor.Denied(id)
			}
			return nil
		})
	})
	if err != nil {
		return exported{}, err
	}
	res.Bytes = n
	d.Logger.Info("case exported", slog.String("case", id), slog.String("user", user), slog.String("path", out), slog.Int64("bytes", n))
	return res, nil
}

// caseFile reads what case c's file holds: its notes (with their raw
// messages), its audit trail as the timeline command words it for actor,
// and its documents in doc# order, whose content casefile asks for one
// at a time.
func (d *Daemon) caseFile(ctx context.Context, actor casebot.Actor, c *casebot.Case) (casefile.File, error) {
	notes, err := d.DB.Notes(ctx, c.ID)
	if err != nil {
		return casefile.File{}, fmt.Errorf("export: %w", err)
	}
	events, err := d.DB.Audit(ctx, c.ID)
	if err != nil {
		return casefile.File{}, fmt.Errorf("export: %w", err)
	}
	docs, _, err := d.DB.Documents(ctx, c.ID, 0)
	if err != nil {
		return casefile.File{}, fmt.Errorf("export: %w", err)
	}
	slices.Reverse(docs) // newest first → doc# order
	offers, err := d.DB.Offers(ctx, c.ID)
	if err != nil {
		return casefile.File{}, fmt.Errorf("export: %w", err)
	}
	loc := actor.Location()
	return casefile.File{
		Case: c, Notes: notes, Timeline: bot.TimelineText(c, events, loc), Documents: docs, Offers: offers,
		Content: func(ctx context.Context, n int) (io.Reader, error) {
			_, content, err := d.DB.DocumentFile(ctx, c.ID, n)
			return bytes.NewReader(content), err
		},
		Loc: loc, Exported: d.Now(), By: actor.ID,
	}, nil
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// exportMessage is what the command line shows for a failed export: the
// refusal's sentence, or the error itself for the operator.
func exportMessage(err error) string {
	if casebot.ErrorCode(err) == casebot.EINTERNAL {
		return err.Error()
	}
	return casebot.ErrorMessage(err)
}

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var cfgPath, as string
	fs := flags("export", stderr, &cfgPath)
	fs.StringVar(&as, "as", "", "Slack user `ID` to export as (required); refused unless they may see the case")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: casebot export [-config FILE] -as USERID <ID> OUT")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if as == "" || fs.NArg() != 2 || fs.Arg(1) == "" {
		fs.Usage()
		return exitUsage
	}
	id, err := casebot.NormalizeCaseID(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "casebot:", casebot.ErrorMessage(err))
		return exitFail
	}
	out, err := filepath.Abs(fs.Arg(1))
	if err != nil {
		fmt.Fprintln(stderr, "casebot:", err)
		return exitFail
	}
	// The path first: a refusal costs nothing and touches nothing.
	if err := checkExportPath(out); err != nil {
		fmt.Fprintln(stderr, "casebot:", casebot.ErrorMessage(err))
		return exitFail
	}
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "casebot:", err)
		return exitFail
	}

	callCtx, cancel := context.WithTimeout(ctx, exportTimeout)
	defer cancel()
	resp, err := callControl(callCtx, socketPath(cfg.Store), controlRequest{Op: "export", As: as, ID: id, Path: out})
	switch {
	case err == nil && resp.Error:
		fmt.Fprintln(stderr, "casebot:", resp.Text)
		return exitFail
	case err == nil:
		fmt.Fprintf(stdout, "wrote %d bytes to %s: %s (from the running daemon)\n", resp.Bytes, out, resp.Text)
		return exitOK
	case !errors.Is(err, errNoDaemon):
		fmt.Fprintln(stderr, "casebot:", err)
		return exitFail
	}

	// No daemon: open the store here, as do does.
	d := NewDaemon(cfg, newLogger(stderr, slog.LevelWarn))
	if err := d.OpenOffline(ctx, lockTimeout); err != nil {
		if errors.Is(err, store.ErrInUse) {
			fmt.Fprintf(stderr, "casebot: store %s is in use by another process, and no daemon answers on %s\n",
				cfg.Store.Path, socketPath(cfg.Store))
		} else {
			fmt.Fprintln(stderr, "casebot:", err)
		}
		return exitFail
	}
	res, err := d.Export(ctx, as, id, out)
	if cerr := d.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(stderr, "casebot:", exportMessage(err))
		return exitFail
	}
	fmt.Fprintf(stdout, "wrote %d bytes to %s: %s\n", res.Bytes, out, res.Summary)
	return exitOK
}
