package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/config"
)

// The control socket lets `casebot do`, `backup` and `export` reach a running
// daemon, which holds the store's file lock. It is a unix socket next to the
// store (<store.path>.sock, mode 0600) speaking one JSON request and one JSON
// response per connection.

// maxSocketPath is the longest unix socket path Linux accepts (sun_path less
// its terminating NUL).
const maxSocketPath = 107

// controlRequest is what a client sends.
type controlRequest struct {
	Op   string `json:"op"`             // "do", "backup", "export" or "ping"
	As   string `json:"as,omitempty"`   // do, export: the acting Slack user ID
	Text string `json:"text,omitempty"` // do: the command text
	ID   string `json:"id,omitempty"`   // export: the case ID
	Path string `json:"path,omitempty"` // backup, export: absolute output path
}

// controlResponse is what the daemon answers.
type controlResponse struct {
	Text  string `json:"text"`
	Error bool   `json:"error"`
	Bytes int64  `json:"bytes,omitempty"`
}

// errNoDaemon means nothing answers on the control socket.
var errNoDaemon = errors.New("no daemon answers on the control socket")

// socketPath returns the control socket path for a bbolt store
// (<store.path>.sock), or "" for PostgreSQL: `do`, `backup` and `export`
// then open the database themselves, which it allows beside running
// instances, and no socket is bound.
func socketPath(s config.Store) string {
	if s.Postgres() {
		return ""
	}
	return s.Path + ".sock"
}

// controlServer serves the control socket for a Daemon.
type controlServer struct {
	path string
	ln   *net.UnixListener // nil when the socket is disabled
	d    *Daemon

	// ctx is the base of request contexts; cancelled after the drain.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// listenControl binds the control socket at path. A stale socket left by a
// crash is removed after checking that nothing answers on it; a live one, or
// a non-socket file at path, is an error. A path too long for a unix socket
// disables the socket with a warning (do then reports the store in use).
func listenControl(path string, d *Daemon) (*controlServer, error) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &controlServer{path: path, d: d, ctx: ctx, cancel: cancel}
	if path == "" {
		return s, nil // PostgreSQL: no socket
	}
	if len(path) > maxSocketPath {
		d.Logger.Warn("control socket disabled: path too long; casebot do and backup cannot reach this daemon",
			slog.String("socket", path), slog.Int("max_len", maxSocketPath))
		return s, nil
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			cancel()
			return nil, fmt.Errorf("daemon: control socket %s exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, 500*time.Millisecond); err == nil {
			_ = c.Close()
			cancel()
			return nil, fmt.Errorf("daemon: control socket %s: another casebot answers there", path)
		}
		if err := os.Remove(path); err != nil {
			cancel()
			return nil, fmt.Errorf("daemon: remove stale control socket: %w", err)
		}
		d.Logger.Info("removed stale control socket", slog.String("socket", path))
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("daemon: control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		_ = ln.Close()
		cancel()
		return nil, fmt.Errorf("daemon: control socket: %w", err)
	}
	s.ln = ln
	return s, nil
}

// serve accepts connections until the listener is closed.
func (s *controlServer) serve() error {
	if s.ln == nil {
		return nil
	}
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("accept: %w", err)
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(conn)
		}()
	}
}

// shutdown stops accepting and waits for in-flight requests until ctx ends,
// then cancels them.
func (s *controlServer) shutdown(ctx context.Context) error {
	s.close()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	defer s.cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.cancel()
		<-done
		return ctx.Err()
	}
}

// close closes the listener and removes the socket file.
func (s *controlServer) close() {
	s.once.Do(func() {
		if s.ln != nil {
			_ = s.ln.Close() // also unlinks the file
			_ = os.Remove(s.path)
		}
	})
}

// handle answers one request.
func (s *controlServer) handle(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var req controlRequest
	if err := json.NewDecoder(io.LimitReader(conn, 1<<20)).Decode(&req); err != nil {
		s.d.Logger.Warn("control socket: bad request", slog.Any("error", err))
		return
	}
	_ = conn.SetReadDeadline(time.Time{})
	var resp controlResponse
	switch req.Op {
	case "ping":
		resp.Text = "pong"
	case "do":
		reply := s.d.Command(s.ctx, req.As, req.Text)
		resp.Text, resp.Error = replyText(reply.Text, reply.Err), reply.Err != nil
	case "backup":
		if !filepath.IsAbs(req.Path) {
			resp.Text, resp.Error = "backup path must be absolute", true
			break
		}
		n, err := writeFileAtomic(req.Path, func(w io.Writer) (int64, error) { return s.d.DB.Backup(s.ctx, w) })
		if err != nil {
			s.d.Logger.Error("backup failed", slog.String("path", req.Path), slog.Any("error", err))
			resp.Text, resp.Error = err.Error(), true
			break
		}
		s.d.Logger.Info("backup written", slog.String("path", req.Path), slog.Int64("bytes", n))
		resp.Bytes = n
	case "export":
		res, err := s.d.Export(s.ctx, req.As, req.ID, req.Path)
		if err != nil {
			if casebot.ErrorCode(err) == casebot.EINTERNAL {
				s.d.Logger.Error("export failed", slog.String("case", req.ID), slog.Any("error", err))
			}
			resp.Text, resp.Error = exportMessage(err), true
			break
		}
		resp.Text, resp.Bytes = res.Summary.String(), res.Bytes
	default:
		resp.Text, resp.Error = fmt.Sprintf("unknown op %q", req.Op), true
	}
	_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := json.NewEncoder(conn).Encode(resp); err != nil {
		s.d.Logger.Warn("control socket: write response", slog.Any("error", err))
	}
}

// callControl sends req to the daemon on the socket at path. It returns an
// error wrapping errNoDaemon when nothing listens there, so the caller may
// use the store directly.
func callControl(ctx context.Context, path string, req controlRequest) (controlResponse, error) {
	var resp controlResponse
	if path == "" {
		return resp, fmt.Errorf("%w: there is no control socket with PostgreSQL", errNoDaemon)
	}
	d := net.Dialer{Timeout: 500 * time.Millisecond}
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return resp, fmt.Errorf("%w: %v", errNoDaemon, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return resp, fmt.Errorf("control socket %s: send: %w", path, err)
	}
	if err := json.NewDecoder(bufio.NewReader(conn)).Decode(&resp); err != nil {
		return resp, fmt.Errorf("control socket %s: the daemon did not answer: %w", path, err)
	}
	return resp, nil
}

// writeFileAtomic writes a backup through write into a temporary file
// beside path (mode 0600), syncs it and renames it into place, so path
// never holds a partial copy. It returns the bytes written.
func writeFileAtomic(path string, write func(w io.Writer) (int64, error)) (int64, error) {
	return writeAtomic(path, "backup", write, nil)
}
