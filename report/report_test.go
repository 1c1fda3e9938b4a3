package report

import (
	"bytes"
	"encoding/csv"
	"image/png"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/casebot/casebot"
)

func sample() *casebot.Report {
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	return &casebot.Report{FromMonth: "2026-01", ToMonth: "2026-03",
		Months: []casebot.MonthFigures{{Month: "2026-01", Opened: 4, Closed: 2, Settled: 1}, {Month: "2026-02", Opened: 1}, {Month: "2026-03", Opened: 2, Closed: 3, Settled: 3}},
		Cases: []casebot.ClosedCase{
			{ID: "MED-2026-0001", Type: "family, \"urgent\"", Priority: casebot.PriorityHigh, Source: "court", Mediator: "U1",
				Opened: t0, Closed: t0.Add(36 * time.Hour), Outcome: casebot.StatusSettled, Days: 1.5, Sessions: 2},
			{ID: "MED-2026-0002", Priority: casebot.PriorityLow, Mediator: "U2", Opened: t0, Closed: t0.Add(240 * time.Hour),
				Outcome: casebot.StatusImpasse, Days: 10},
		}}
}

// The CSV parses back to one row per closed case, quoting kept, no more
// columns than the header names.
func TestCSVParsesBack(t *testing.T) {
	b, err := CSV(sample())
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{CSVHeader,
		{"MED-2026-0001", "family, \"urgent\"", "high", "court", "U1", "2026-01-05T09:00:00Z", "2026-01-06T21:00:00Z", "settled", "1.5", "2"},
		{"MED-2026-0002", "", "low", "", "U2", "2026-01-05T09:00:00Z", "2026-01-15T09:00:00Z", "impasse", "10.0", "0"}}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for i := range want {
		if !slices.Equal(rows[i], want[i]) {
			t.Errorf("row %d = %q, want %q", i, rows[i], want[i])
		}
	}
}

// The chart is a PNG of ChartWidth x ChartHeight pixels with something
// drawn on it, also for a period with no closed case.
func TestChartIsAPNGOfTheRightSize(t *testing.T) {
	empty := &casebot.Report{FromMonth: "2026-01", ToMonth: "2026-01", Months: []casebot.MonthFigures{{Month: "2026-01"}}}
	for name, r := range map[string]*casebot.Report{"sample": sample(), "empty": empty} {
		b, err := Chart(r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := img.Bounds().Size(); got.X != ChartWidth || got.Y != ChartHeight {
			t.Errorf("%s: chart is %v, want %dx%d", name, got, ChartWidth, ChartHeight)
		}
		colours := map[uint32]bool{}
		for y := 0; y < ChartHeight; y += 7 {
			for x := 0; x < ChartWidth; x += 7 {
				r, g, b, _ := img.At(x, y).RGBA()
				colours[r>>8<<16|g>>8<<8|b>>8] = true
			}
		}
		if len(colours) < 3 {
			t.Errorf("%s: the chart has %d colours; nothing drawn?", name, len(colours))
		}
	}
	fs, err := Renderer{}.Files(sample())
	if err != nil || len(fs) != 2 || fs[0].Type != "text/csv" || fs[1].Type != "image/png" || fs[1].Name != "casebot-report-2026-01-to-2026-03.png" {
		t.Fatalf("Files = %+v, %v", fs, err)
	}
	for _, f := range fs {
		b, _ := io.ReadAll(f.Content)
		if int64(len(b)) != f.Size {
			t.Errorf("%s: %d bytes, Size says %d", f.Name, len(b), f.Size)
		}
	}
}
