package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// writeAtomic writes a file through write into a temporary file beside
// path (mode 0600), syncs it, runs commit (when set), and renames the file
// into place, so path never holds a partial copy and a failed write or
// commit leaves no temporary file behind. what names the job in errors
// ("backup", "export"). It returns the bytes written.
func writeAtomic(path, what string, write func(w io.Writer) (int64, error), commit func() error) (int64, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	tmp := f.Name()
	fail := func(err error) (int64, error) {
		_ = f.Close()
		_ = os.Remove(tmp)
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	if err := f.Chmod(0o600); err != nil {
		return fail(err)
	}
	n, err := write(f)
	if err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	if commit != nil {
		if err := commit(); err != nil {
			_ = os.Remove(tmp)
			return 0, err
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // make the rename durable
		_ = d.Close()
	}
	return n, nil
}
