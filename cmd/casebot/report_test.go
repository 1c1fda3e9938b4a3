package main

import (
	"context"
	"strings"
	"testing"
)

// report over signed Slack answers with its summary and uploads the CSV
// and the chart to the actor's own DM; without Slack it says the files
// need it.
func TestReportOverSlackUploadsCSVAndChart(t *testing.T) {
	ctx := context.Background()
	rd, slackAPI, _, id := startSlackMailDaemon(t, "")
	if rep := rd.d.Command(ctx, "U1", "close "+id+" settled"); rep.Err != nil {
		t.Fatal(rep.Text)
	}
	got := slowCommand(t, rd, slackAPI, "report", "U1", "report")
	if !strings.Contains(got, "Opened 1; 1 closed, 100% settled") || !strings.Contains(got, "Sent the CSV (1 closed cases) and the chart to your direct messages.") {
		t.Fatalf("report answered %s", got)
	}
	ups := slackAPI.Uploads()
	if len(ups) != 2 {
		t.Fatalf("uploads %+v, want the CSV and the chart", ups)
	}
	for i, ext := range []string{".csv", ".png"} {
		u := ups[i]
		if u.Channel != "D-U1" || !strings.HasSuffix(u.Filename, ext) || u.Received != u.Length || u.Length == 0 {
			t.Errorf("upload %d: %+v, want a whole %s file in D-U1", i, u, ext)
		}
	}
}

func TestReportWithoutSlack(t *testing.T) {
	cfgPath, _ := testConfig(t, "")
	rd := startDaemon(t, cfgPath)
	rep := rd.d.Command(context.Background(), "U1", "report")
	if rep.Err != nil || !strings.Contains(rep.Text, "they need Slack") || !strings.Contains(rep.Text, "Report ") {
		t.Fatalf("report without Slack = %q (%v)", rep.Text, rep.Err)
	}
}
