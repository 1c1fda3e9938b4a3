package bot

import (
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
