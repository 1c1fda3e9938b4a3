// Package proctest helps tests that run casebot as child processes (the
// soak, the failover tests): building the binary once and finding a free
// loopback port.
package proctest

import (
	"net"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// BuildCasebot builds cmd/casebot into dir and returns its path.
func BuildCasebot(tb testing.TB, dir string) string {
	tb.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(filepath.Dir(file)))
	bin := filepath.Join(dir, "casebot")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/casebot")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build ./cmd/casebot: %v\n%s", err, out)
	}
	return bin
}

// FreePort returns a loopback address that was free a moment ago; a
// daemon binds it again on every restart.
func FreePort(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
