package store

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// TestEngineErrors: an engine's unreachable database and a fenced write
// reach users as clear EUNAVAIL refusals, and stay recognisable for the
// daemon; other errors pass unchanged.
func TestEngineErrors(t *testing.T) {
	down := fmt.Errorf("pgkv: begin: %w: dial tcp 10.0.0.7:5432: connection refused", kv.ErrUnavailable)
	err := engineError(down)
	if casebot.ErrorCode(err) != casebot.EUNAVAIL || !strings.Contains(casebot.ErrorMessage(err), "cannot be reached") {
		t.Errorf("unavailable: code %q message %q", casebot.ErrorCode(err), casebot.ErrorMessage(err))
	}
	if !errors.Is(err, kv.ErrUnavailable) || !strings.Contains(err.Error(), "10.0.0.7:5432") {
		t.Errorf("unavailable: the engine's error is lost: %v", err)
	}
	fenced := fmt.Errorf("pgkv: commit: %w", kv.ErrFenced)
	err = engineError(fenced)
	if casebot.ErrorCode(err) != casebot.EUNAVAIL || !errors.Is(err, kv.ErrFenced) {
		t.Errorf("fenced: code %q, is fenced %v", casebot.ErrorCode(err), errors.Is(err, kv.ErrFenced))
	}
	other := errors.New("disk on fire")
	if engineError(other) != other || engineError(nil) != nil {
		t.Error("other errors changed")
	}
	nf := casebot.Errorf(casebot.ENOTFOUND, "no such case")
	if engineError(nf) != error(nf) {
		t.Error("a domain error changed")
	}
}
