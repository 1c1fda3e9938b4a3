package main

import (
	"context"
	"fmt"
	"io"

	"github.com/casebot/casebot/config"
	"github.com/casebot/casebot/internal/pgurl"
	"github.com/casebot/casebot/store"
)

// storeLocation is the configured store copy-store copies from: the bbolt
// file (or a PostgreSQL URL given as store.path).
func storeLocation(cfg *config.Config) string { return cfg.Store.Location() }

// runCopyStore copies the configured store to -to, verifies the copy and
// prints its counts (SPEC §2, copy-store).
func runCopyStore(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var cfgPath, to string
	fs := flags("copy-store", stderr, &cfgPath)
	fs.StringVar(&to, "to", "", "`TARGET` store: a bbolt file path or a postgres:// URL; it must be empty (required)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: casebot copy-store [-config FILE] -to TARGET")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if to == "" || fs.NArg() != 0 {
		fs.Usage()
		return exitUsage
	}
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "casebot:", err)
		return exitFail
	}
	from := storeLocation(cfg)
	rep, err := store.CopyStore(ctx, from, to, store.CopyOptions{Timeout: lockTimeout, Progress: stderr})
	if err != nil {
		fmt.Fprintln(stderr, "casebot:", err)
		return exitFail
	}
	printCopyReport(stdout, pgurl.Redact(from), pgurl.Redact(to), rep)
	return exitOK
}

// printCopyReport prints what copy-store copied and verified: a line per
// bucket, the totals and the keyring.
func printCopyReport(w io.Writer, from, to string, rep store.CopyReport) {
	fmt.Fprintf(w, "copied %s to %s and verified it record by record:\n", from, to)
	width := len("bucket")
	for _, b := range rep.Buckets {
		width = max(width, len(b.Name))
	}
	total := fmt.Sprintf("total (%d buckets)", len(rep.Buckets))
	width = max(width, len(total))
	fmt.Fprintf(w, "  %-*s %12s %16s %12s\n", width, "bucket", "keys", "bytes", "sequence")
	for _, b := range rep.Buckets {
		fmt.Fprintf(w, "  %-*s %12d %16d %12d\n", width, b.Name, b.Keys, b.Bytes, b.Sequence)
	}
	fmt.Fprintf(w, "  %-*s %12d %16d\n", width, total, rep.Keys, rep.Bytes)
	if rep.Keyring {
		fmt.Fprintf(w, "keyring: %d case keys, still wrapped by the master key\n", rep.KeyringKeys)
	} else {
		fmt.Fprintln(w, "keyring: none (the store has no case keys)")
	}
}
