package bot_test

import (
	"context"
	"strings"
	"testing"

	"github.com/casebot/casebot"
)

// Slack sends what the user typed with &, < and > escaped; the case must hold
// the text as typed, and the echo must be escaped exactly once.
func TestSlackTextIsStoredAsTyped(t *testing.T) {
	e := newEnv(t, nil)
	m := e.command(t, "U1", "new Smith &amp; Jones &lt;b&gt; &amp;lt;")
	if got := msgText(m); !strings.Contains(got, "Smith &amp; Jones &lt;b&gt; &amp;lt;") {
		t.Errorf("reply = %q, want the title escaped once", got)
	}
	cs, err := e.db.Cases(context.Background(), casebot.CaseFilter{State: "all"})
	if err != nil || len(cs) != 1 {
		t.Fatalf("cases = %v, %v", cs, err)
	}
	if want := "Smith & Jones <b> &lt;"; cs[0].Title != want {
		t.Errorf("stored title = %q, want %q", cs[0].Title, want)
	}
}
