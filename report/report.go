// Package report turns a casebot.Report into the files the report command
// sends to the actor: a CSV of the period's closed cases (no party, no
// content) and a PNG chart of cases opened and closed per month with the
// settlement rate. It imports only the root and the plotting library.
package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"image/color"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/casebot/casebot"
)

// Chart size in pixels.
const (
	ChartWidth  = 1000
	ChartHeight = 700
	chartDPI    = 100
)

// CSVHeader is the first row of the CSV.
var CSVHeader = []string{"id", "type", "priority", "source", "mediator", "opened", "closed", "outcome", "days", "sessions"}

// Renderer makes the report's files; it implements casebot.ReportFiles.
type Renderer struct{}

var _ casebot.ReportFiles = Renderer{}

// Files returns the CSV and the PNG chart of r, named after its period.
func (Renderer) Files(r *casebot.Report) ([]casebot.File, error) {
	name := "casebot-report-" + r.FromMonth + "-to-" + r.ToMonth
	c, err := CSV(r)
	if err != nil {
		return nil, err
	}
	p, err := Chart(r)
	if err != nil {
		return nil, err
	}
	return []casebot.File{
		{Name: name + ".csv", Type: "text/csv", Size: int64(len(c)), Content: bytes.NewReader(c)},
		{Name: name + ".png", Type: "image/png", Size: int64(len(p)), Content: bytes.NewReader(p)},
	}, nil
}

// CSV returns one row per closed case of the report, after CSVHeader.
// Times are RFC 3339 in UTC; days to a tenth.
func CSV(r *casebot.Report) ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.Write(CSVHeader); err != nil {
		return nil, fmt.Errorf("report: csv: %w", err)
	}
	for _, c := range r.Cases {
		row := []string{c.ID, c.Type, string(c.Priority), c.Source, c.Mediator, c.Opened.UTC().Format(time.RFC3339),
			c.Closed.UTC().Format(time.RFC3339), string(c.Outcome), strconv.FormatFloat(c.Days, 'f', 1, 64), strconv.Itoa(c.Sessions)}
		if err := w.Write(row); err != nil {
			return nil, fmt.Errorf("report: csv: %w", err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, fmt.Errorf("report: csv: %w", err)
	}
	return b.Bytes(), nil
}

// monthLabels names the report's months on the x axis.
type monthLabels []string

func (m monthLabels) Ticks(min, max float64) []plot.Tick {
	var ts []plot.Tick
	step := 1 + len(m)/13
	for i, l := range m {
		t := plot.Tick{Value: float64(i)}
		if i%step == 0 {
			t.Label = l
		}
		ts = append(ts, t)
	}
	return ts
}

// Chart returns a PNG (ChartWidth x ChartHeight pixels): above, bars of
// cases opened and closed per month; below, the settlement rate of the
// month's closed cases as a line.
func Chart(r *casebot.Report) ([]byte, error) {
	n := len(r.Months)
	opened, closed := make(plotter.Values, n), make(plotter.Values, n)
	rate := make(plotter.XYs, 0, n)
	labels := make(monthLabels, n)
	for i, m := range r.Months {
		opened[i], closed[i], labels[i] = float64(m.Opened), float64(m.Closed), m.Month
		if m.Closed > 0 {
			rate = append(rate, plotter.XY{X: float64(i), Y: 100 * float64(m.Settled) / float64(m.Closed)})
		}
	}
	top := plot.New()
	top.Title.Text = "Cases opened and closed, " + r.FromMonth + " to " + r.ToMonth
	top.Y.Label.Text = "cases"
	top.Y.Min = 0
	top.X.Tick.Marker = labels
	top.X.Min, top.X.Max = -0.5, float64(n)-0.5
	w := vg.Points(0.3 * 650 / float64(max(n, 1)))
	ob, err := plotter.NewBarChart(opened, w)
	if err != nil {
		return nil, fmt.Errorf("report: chart: %w", err)
	}
	ob.Color, ob.Offset = color.RGBA{R: 70, G: 120, B: 190, A: 255}, -w/2
	cb, err := plotter.NewBarChart(closed, w)
	if err != nil {
		return nil, fmt.Errorf("report: chart: %w", err)
	}
	cb.Color, cb.Offset = color.RGBA{R: 230, G: 140, B: 50, A: 255}, w/2
	top.Add(ob, cb)
	top.Legend.Add("opened", ob)
	top.Legend.Add("closed", cb)
	top.Legend.Top = true

	bottom := plot.New()
	bottom.Title.Text = "Settlement rate of the cases closed (settled or partial)"
	bottom.Y.Label.Text = "%"
	bottom.Y.Min, bottom.Y.Max = 0, 100
	bottom.X.Min, bottom.X.Max = -0.5, float64(n)-0.5
	bottom.X.Tick.Marker = labels
	if len(rate) > 0 {
		line, points, err := plotter.NewLinePoints(rate)
		if err != nil {
			return nil, fmt.Errorf("report: chart: %w", err)
		}
		line.Color, points.Color = color.RGBA{R: 40, G: 150, B: 80, A: 255}, color.RGBA{R: 40, G: 150, B: 80, A: 255}
		bottom.Add(line, points)
	}

	img := vgimg.NewWith(vgimg.UseWH(vg.Length(ChartWidth)*vg.Inch/chartDPI, vg.Length(ChartHeight)*vg.Inch/chartDPI), vgimg.UseDPI(chartDPI))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadX: vg.Millimeter, PadY: 4 * vg.Millimeter, PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter,
		PadLeft: 2 * vg.Millimeter, PadRight: 4 * vg.Millimeter}
	canvases := plot.Align([][]*plot.Plot{{top}, {bottom}}, tiles, dc)
	top.Draw(canvases[0][0])
	bottom.Draw(canvases[1][0])
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&b); err != nil {
		return nil, fmt.Errorf("report: chart: %w", err)
	}
	return b.Bytes(), nil
}
