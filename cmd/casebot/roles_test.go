package main

import (
	"net/http"
	"strings"
	"testing"
)

// On bbolt the one instance is the leader: casebot_leader is 1, the
// leader's workers run, and no control-socket behaviour changes.
func TestBoltInstanceLeads(t *testing.T) {
	cfgPath, storePath := testConfig(t, "")
	rd := startDaemon(t, cfgPath)
	if !rd.d.Leading() {
		t.Error("the bbolt instance does not lead")
	}
	code, body := get(rd.base + "/metrics")
	if code != http.StatusOK || !strings.Contains(body, "\ncasebot_leader 1\n") {
		t.Errorf("GET /metrics = %d; casebot_leader 1 missing", code)
	}
	if got, want := rd.d.SocketPath(), storePath+".sock"; got != want {
		t.Errorf("socket %q, want %q", got, want)
	}
}
