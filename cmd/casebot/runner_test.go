package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/bot"
	"github.com/casebot/casebot/config"
)

// lockedBuffer collects log output written from any goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) take() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.b.String()
	l.b.Reset()
	return s
}

// Every transport runs commands through d.Command; an internal error there
// is logged exactly once, whether a handler failed or panicked, and the log
// line carries the command's name, never its text.
func TestInternalErrorLoggedOnce(t *testing.T) {
	cfgPath, _ := testConfig(t, "")
	cfg, err := config.Load(cfgPath, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	d := NewDaemon(cfg, slog.New(slog.NewTextHandler(io.MultiWriter(&logs, tWriter{t}), nil)))
	if err := d.OpenOffline(context.Background(), time.Second); err != nil {
		t.Fatalf("OpenOffline: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	for _, c := range []bot.Command{
		{Usage: "fail <text>", Summary: "test: a store error", Handle: func(_ context.Context, r *bot.Request) bot.Reply {
			return r.Fail(errors.New("test: store gone"))
		}},
		{Usage: "crash <text>", Summary: "test: a panic", Handle: func(context.Context, *bot.Request) bot.Reply {
			panic("test: crash")
		}},
	} {
		if err := d.Bot.Register(c); err != nil {
			t.Fatal(err)
		}
	}

	for _, text := range []string{"fail confidential words", "crash confidential words"} {
		t.Run(strings.Fields(text)[0], func(t *testing.T) {
			logs.take()
			rep := d.Command(context.Background(), "U1", text)
			if got := casebot.ErrorCode(rep.Err); got != casebot.EINTERNAL {
				t.Fatalf("code %q, want %q; reply %q", got, casebot.EINTERNAL, rep.Text)
			}
			out := logs.take()
			if got := strings.Count(out, "level=ERROR"); got != 1 {
				t.Errorf("%d error lines, want 1:\n%s", got, out)
			}
			if strings.Contains(out, "confidential") {
				t.Errorf("log holds the command's text:\n%s", out)
			}
		})
	}
}
