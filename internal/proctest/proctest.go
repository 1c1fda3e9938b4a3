// Package proctest helps tests that run casebot as child processes (the
// soak, the failover tests): building the binary once, finding a free
// loopback port and reading a running instance's HTTP endpoints.
package proctest

import (
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"testing"
	"time"
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

// Get fetches url with a timeout of timeout and returns the status code
// and body (0 and the error's text when it cannot).
func Get(url string, timeout time.Duration) (int, string) {
	c := http.Client{Timeout: timeout}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Gauge reads the value of the metric name (without labels) from the
// /metrics of the instance at base; -1 when it is unknown, or the
// instance is down or frozen.
func Gauge(base, name string, timeout time.Duration) int {
	code, body := Get(base+"/metrics", timeout)
	if code != http.StatusOK {
		return -1
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return -1
	}
	return int(f)
}
