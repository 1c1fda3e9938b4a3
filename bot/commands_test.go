package bot

import (
	"slices"
	"strings"
	"testing"
)

// A command marked Wakes wakes the scheduler when it succeeds; a read, or a
// refused change, does not.
func TestWakes(t *testing.T) {
	wakes := 0
	e := newEnvWith(t, func(c *Config) { c.Wake = func() { wakes++ } })
	id := e.newCase(uMed, "Lease dispute")
	if wakes != 1 {
		t.Fatalf("new woke the scheduler %d times, want 1", wakes)
	}
	for _, tt := range []struct {
		text string
		want int
	}{
		{"show " + id, 0},
		{"list", 0},
		{"timeline " + id, 0},
		{"deadline " + id + " +3d Papers", 1},
		{"session " + id + " +4d 2h Opening", 1},
		{"reschedule " + id + " 1 +5d", 1},
		{"cancel " + id + " 1", 1},
		{"deadline MED-2099-9999 +3d Papers", 0}, // refused
	} {
		before := wakes
		e.run(uMed, tt.text)
		if got := wakes - before; got != tt.want {
			t.Errorf("%q woke the scheduler %d times, want %d", tt.text, got, tt.want)
		}
	}
}

// Every command in the table has a metric label of its own, derived from
// the table (reschedule and cancel included), which Labels lists; anything
// else is "unknown" and an empty text is help.
func TestLabels(t *testing.T) {
	b := New(Config{})
	labels := b.Labels()
	if labels[len(labels)-1] != "unknown" {
		t.Errorf("Labels() = %v, want unknown last", labels)
	}
	byLabel := map[string][]string{}
	for _, c := range b.Commands() {
		got := b.Label(strings.ToUpper(c.Name()) + " MED-2026-0001 some words")
		if got == "unknown" || !slices.Contains(labels, got) {
			t.Errorf("%s has label %q, which Labels() %v does not list", c.Name(), got, labels)
		}
		byLabel[got] = append(byLabel[got], c.Name())
	}
	for label, names := range byLabel {
		for _, n := range names { // variants share their words' label
			if n != label && !strings.HasPrefix(n, label+" ") {
				t.Errorf("label %q counts %v, want the command of that name and its variants", label, names)
			}
		}
	}
	if len(byLabel)+1 != len(labels) {
		t.Errorf("Labels() = %v, want the %d labels of the table and unknown", labels, len(byLabel))
	}
	for _, tt := range []struct{ text, want string }{
		{"", "help"},
		{"   ", "help"},
		{"reschedule MED-2026-0001 1 +2d", "reschedule"},
		{"cancel MED-2026-0001 1", "cancel"},
		{"  LIST all", "list"},
		{"party frobnicate", "unknown"},
		{"party remove MED-2026-0001 a@b.example", "party remove"},
		{"Party ADD x", "party add"},
		{"drop table cases", "unknown"},
		{"unknown", "unknown"},
	} {
		if got := b.Label(tt.text); got != tt.want {
			t.Errorf("Label(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}
