package mail

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// wroteEN must agree with the regexp it stands in for, on the shapes mail
// carries and on random strings built from the pieces that matter.
func TestWroteENMatchesItsRegexp(t *testing.T) {
	cases := []string{
		"On Mon, Mediation Office wrote:", "On Mon, 2 Mar 2026 at 10:00, Ann Lee <ann@example.com> wrote:",
		"on x wrote:", "ON x WROTE :", "On x wrote  :", "On  wrote:", "On x wrote", "On xwrote:", "Onx wrote:",
		"On\tx\twrote\t:", "On x wrote:\n", "On x\nwrote:", "On é wrote:", "Once upon a time she wrote:",
		"On wrote wrote:", "On a wrote:", "On wrote:", "On  x wrote:", "Le 2 mars, Ann a écrit :", "",
		"On x wrote::", "On x wrote :", "On x wrote\f:", "On x wrote\r:", "On x\vwrote:", "On \xff wrote:",
	}
	pieces := []string{"On", "on", "ON", " ", "\t", "\n", "x", "é", "wrote", "WROTE", ":", "：", "\xff", "w", "rote", "\r", "\f"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var b strings.Builder
		for range 1 + r.IntN(7) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		cases = append(cases, b.String())
	}
	for _, c := range cases {
		if got, want := wroteEN(c), quoteHeaders[0].MatchString(c); got != want {
			t.Errorf("wroteEN(%q) = %v, the regexp says %v", c, got, want)
		}
	}
}
