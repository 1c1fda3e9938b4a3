package bot

import (
	"context"
	"testing"
)

func BenchmarkParse(b *testing.B) {
	bot := New(Config{})
	text := `session MED-2026-0001 "2026-12-01 14:30" 2h Opening session --where "Room 4"`
	for b.Loop() {
		toks, _ := tokenize(text)
		cands, rest, _ := bot.lookup(toks)
		if _, _, err := choose(cands, rest, testNow, testLoc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkShow runs show (a read plus an audited view) on a real store.
func BenchmarkShow(b *testing.B) {
	e := newEnvTB(b)
	id := e.newCase(uMed, "Bench")
	e.must(uMed, "party add "+id+" claimant Carl carl@x.example")
	e.must(uMed, "note "+id+" hello")
	for b.Loop() {
		if r := e.bot.Run(context.Background(), uMed, "show "+id); r.Err != nil {
			b.Fatal(r.Text)
		}
	}
}
