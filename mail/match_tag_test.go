package mail

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// subjectTags must find what the subjectTag regexp finds.
func TestSubjectTagsMatchesItsRegexp(t *testing.T) {
	cases := []string{
		"Re: [MED-2026-0042] dates", "[med-2026-0042]", "[MED-2026-00421234]", "[MED-2026-004]", "[MED-20260-0042]",
		"[ABCDEFGHIJ-2026-0042]", "[ABCDEFGHIJK-2026-0042]", "[1ED-2026-0042]", "[[MED-2026-0042]]", "[MED-2026-0042",
		"[A-2026-0042] and [B2-2027-12345]", "[MED-2026-0042][MED-2026-0043]", "[MED-2026-0042 ]", "[MÉD-2026-0042]",
		"", "[", "]", "[-2026-0042]", "[M-2026-0042]", "[M--2026-0042]", "x[MED-2026-0042]y[bad]z[CASE-2025-0001]",
	}
	pieces := []string{"[", "]", "MED", "m", "É", "-", "2026", "0042", "12345", "9", "A1B2", "x", " ", "ABCDEFGHIJK"}
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		var b strings.Builder
		for range 1 + r.IntN(9) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		cases = append(cases, b.String())
	}
	for _, c := range cases {
		var want []string
		for _, sm := range subjectTag.FindAllStringSubmatch(c, -1) {
			want = append(want, sm[1])
		}
		if got := subjectTags(c); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("subjectTags(%q) = %q, the regexp finds %q", c, got, want)
		}
	}
}
