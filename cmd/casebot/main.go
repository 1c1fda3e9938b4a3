// Command casebot is the case-coordination daemon for mediation practices
// (SPEC §2): `serve` runs it; `do` runs one command text against its store;
// `backup` copies the store; `export` writes one case's file as a zip;
// `copy-store` moves the whole store to another bbolt file or PostgreSQL;
// `check-config` validates the configuration;
// `version` prints the version.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // schedule.timezone works on machines without a zone database

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/agreement"
	"github.com/casebot/casebot/config"
	"github.com/casebot/casebot/store"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3".
var version = "dev"

// Exit codes.
const (
	exitOK      = 0
	exitFail    = 1 // refused command, bad config, runtime failure
	exitUsage   = 2
	lockTimeout = 1500 * time.Millisecond // do/backup: well inside SPEC's 2 s

	doTimeout     = time.Minute      // longest wait for a daemon's answer to do
	backupTimeout = 30 * time.Minute // longest wait for a daemon's backup
)

const usage = `casebot coordinates dispute-mediation cases.

Usage:
  casebot serve        [-config FILE]            run the daemon until SIGINT/SIGTERM
  casebot do           [-config FILE] -as USERID TEXT...
                                                 run one command as a Slack user, e.g.
                                                 casebot do -as U01 list all
  casebot backup       [-config FILE] OUT        write a consistent copy of the store
  casebot export       [-config FILE] -as USERID <ID> OUT
                                                 write one case's whole file as a zip, e.g.
                                                 casebot export -as U01 MED-2026-0042 case.zip
  casebot copy-store   [-config FILE] -to TARGET copy the whole store to an empty bbolt file
                                                 or postgres:// URL, then verify the copy
  casebot check-config [-config FILE]            validate the config and show what is on
  casebot version                                print the version

Without -config, ./casebot.toml is read if it exists, else built-in defaults
apply (store ./casebot.db, HTTP 127.0.0.1:8080, Slack, IMAP and SMTP off).
`

func main() {
	os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Main runs the casebot command line with args (without the program name)
// and returns the process exit code: 0 on success, 1 on a refused command or
// a failure, 2 on a usage error. serve stops on SIGINT or SIGTERM.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return run(context.Background(), args, stdin, stdout, stderr)
}

// run is Main with a context: cancelling it stops serve like a signal.
func run(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, args, stderr)
	case "do":
		return runDo(ctx, args, stdout, stderr)
	case "backup":
		return runBackup(ctx, args, stdout, stderr)
	case "export":
		return runExport(ctx, args, stdout, stderr)
	case "copy-store":
		return runCopyStore(ctx, args, stdout, stderr)
	case "check-config":
		return runCheckConfig(args, stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "casebot", versionString())
		return exitOK
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "casebot: unknown command %q\n\n%s", cmd, usage)
	return exitUsage
}

// versionString returns the -ldflags version, else the module version from
// the build info, else "dev" (with the VCS revision when known).
func versionString() string {
	if version != "dev" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return version
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return version + "+" + s.Value[:12]
		}
	}
	return version
}

// flags returns a flag set for subcommand name with the -config flag.
func flags(name string, stderr io.Writer, configPath *string) *flag.FlagSet {
	fs := flag.NewFlagSet("casebot "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(configPath, "config", "", "config `FILE` (default ./"+config.DefaultFile+" if it exists, else built-in defaults)")
	return fs
}

// loadConfig loads the config named by -config, else ./casebot.toml when it
// exists, else the defaults; secrets come from the environment.
func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		if _, err := os.Stat(config.DefaultFile); err == nil {
			path = config.DefaultFile
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("config: %w", err)
		}
	}
	return config.Load(path, os.Getenv)
}

// newLogger returns the daemon's logger: text on stderr.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

func runServe(ctx context.Context, args []string, stderr io.Writer) int {
	var cfgPath string
	fs := flags("serve", stderr, &cfgPath)
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "casebot serve: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "casebot:", err)
		return exitFail
	}
	logger := newLogger(stderr, slog.LevelInfo)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	d := NewDaemon(cfg, logger)
	if err := d.Run(ctx); err != nil {
		logger.Error("casebot failed", slog.Any("error", err))
		return exitFail
	}
	return exitOK
}

func runDo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var cfgPath, as string
	fs := flags("do", stderr, &cfgPath)
	fs.StringVar(&as, "as", "", "Slack user `ID` to act as (required), e.g. U01")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: casebot do [-config FILE] -as USERID TEXT...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	text := commandText(fs.Args())
	if as == "" || text == "" {
		fs.Usage()
		return exitUsage
	}
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "casebot:", err)
		return exitFail
	}

	// A daemon that accepted but never answers must not hang do for ever.
	callCtx, cancel := context.WithTimeout(ctx, doTimeout)
	defer cancel()
	resp, err := callControl(callCtx, socketPath(cfg.Store), controlRequest{Op: "do", As: as, Text: text})
	if err == nil {
		fmt.Fprintln(stdout, strings.TrimRight(resp.Text, "\n"))
		if resp.Error {
			return exitFail
		}
		return exitOK
	}
	if !errors.Is(err, errNoDaemon) {
		fmt.Fprintln(stderr, "casebot:", err)
		return exitFail
	}

	// No daemon: open the store and every part's commands here, run the
	// command, and leave what it queued in the outbox for the daemon.
	logger := newLogger(stderr, slog.LevelWarn)
	d := NewDaemon(cfg, logger)
	if err := d.OpenOffline(ctx, lockTimeout); err != nil {
		if errors.Is(err, store.ErrInUse) {
			fmt.Fprintf(stderr, "casebot: store %s is in use by another process, and no daemon answers on %s\n",
				cfg.Store.Path, socketPath(cfg.Store))
		} else {
			fmt.Fprintln(stderr, "casebot:", err)
		}
		return exitFail
	}
	reply := d.Command(ctx, as, text)
	fmt.Fprintln(stdout, strings.TrimRight(replyText(reply.Text, reply.Err), "\n"))
	if err := d.Close(); err != nil {
		fmt.Fprintln(stderr, "casebot: close store:", err)
		return exitFail
	}
	if reply.Err != nil {
		return exitFail
	}
	return exitOK
}

// commandText joins do's arguments into one command text. The shell has
// already split them, so a later argument holding spaces ("Room 4") was one
// quoted word: it is quoted again for the command parser. A first argument
// holding spaces is a whole command typed as one string ("list all"), and
// the arguments are then joined as they are.
func commandText(args []string) string {
	if len(args) == 0 {
		return ""
	}
	if len(args) == 1 || strings.ContainsAny(args[0], " \t\n") {
		return strings.TrimSpace(strings.Join(args, " "))
	}
	words := make([]string, len(args))
	for i, a := range args {
		if i > 0 && strings.ContainsAny(a, " \t\n") && !strings.Contains(a, `"`) {
			a = `"` + a + `"`
		}
		words[i] = a
	}
	return strings.TrimSpace(strings.Join(words, " "))
}

// replyText is what a transport shows for a reply: its text, else the
// refusal's message.
func replyText(text string, err error) string {
	if text == "" && err != nil {
		return casebot.ErrorMessage(err)
	}
	return text
}

// openStore opens the configured store for do or backup, waiting at most
// lockTimeout for the file lock. On failure it prints why and returns a nil
// DB and the exit code.
func openStore(ctx context.Context, cfg *config.Config, readOnly bool, logger *slog.Logger, stderr io.Writer) (*store.DB, int) {
	db, err := store.Open(ctx, cfg.Store.Location(), store.Options{
		CasePrefix:    cfg.Store.CasePrefix,
		EncryptionKey: cfg.Store.Key,
		Timeout:       lockTimeout,
		ReadOnly:      readOnly,
		Logger:        logger,
		Zone:          cfg.Schedule.Location,
	})
	if err != nil {
		if errors.Is(err, store.ErrInUse) {
			fmt.Fprintf(stderr, "casebot: store %s is in use by another process, and no daemon answers on %s\n",
				cfg.Store.Path, socketPath(cfg.Store))
		} else {
			fmt.Fprintln(stderr, "casebot:", err)
		}
		return nil, exitFail
	}
	return db, exitOK
}

func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var cfgPath string
	fs := flags("backup", stderr, &cfgPath)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: casebot backup [-config FILE] OUT")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() != 1 || fs.Arg(0) == "" {
		fs.Usage()
		return exitUsage
	}
	out, err := filepath.Abs(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "casebot:", err)
		return exitFail
	}
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "casebot:", err)
		return exitFail
	}
	if same, _ := sameFile(out, cfg.Store.Path); same {
		fmt.Fprintf(stderr, "casebot: backup %s would overwrite the store itself\n", out)
		return exitUsage
	}

	callCtx, cancel := context.WithTimeout(ctx, backupTimeout)
	defer cancel()
	resp, err := callControl(callCtx, socketPath(cfg.Store), controlRequest{Op: "backup", Path: out})
	switch {
	case err == nil && resp.Error:
		fmt.Fprintln(stderr, "casebot:", resp.Text)
		return exitFail
	case err == nil:
		fmt.Fprintf(stdout, "wrote %d bytes to %s (from the running daemon)\n", resp.Bytes, out)
		return exitOK
	case !errors.Is(err, errNoDaemon):
		fmt.Fprintln(stderr, "casebot:", err)
		return exitFail
	}

	db, code := openStore(ctx, cfg, true, newLogger(stderr, slog.LevelWarn), stderr)
	if db == nil {
		return code
	}
	defer db.Close()
	n, err := writeFileAtomic(out, func(w io.Writer) (int64, error) { return db.Backup(ctx, w) })
	if err != nil {
		fmt.Fprintln(stderr, "casebot:", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "wrote %d bytes to %s\n", n, out)
	return exitOK
}

// sameFile reports whether a and b name the same existing file.
func sameFile(a, b string) (bool, error) {
	fa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(fa, fb), nil
}

func runCheckConfig(args []string, stdout, stderr io.Writer) int {
	var cfgPath string
	fs := flags("check-config", stderr, &cfgPath)
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "casebot check-config: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "casebot:", err)
		return exitFail
	}
	// The agreement templates as start-up reads them: one naming an
	// unknown field is an error here too, with its file and line.
	if _, err := agreement.New(cfg.Records.TemplatesDir); err != nil {
		fmt.Fprintln(stderr, "casebot:", err)
		return exitFail
	}
	fmt.Fprint(stdout, cfg.Summary())
	fmt.Fprintln(stdout, "config OK")
	return exitOK
}
