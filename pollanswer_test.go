package casebot

import (
	"reflect"
	"testing"
)

func TestParsePollAnswer(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		n     int
		want  []int // nil: not read
		out   []int // OutOfRange
		wantK bool  // read as an answer (want may be empty: none)
	}{
		{"comma", "1, 3", 3, []int{1, 3}, nil, true},
		{"and", "1 and 3", 3, []int{1, 3}, nil, true},
		{"ampersand", "1 & 3", 3, []int{1, 3}, nil, true},
		{"one", "2", 3, []int{2}, nil, true},
		{"all", "all", 3, []int{1, 2, 3}, nil, true},
		{"All caps", "ALL!", 2, []int{1, 2}, nil, true},
		{"none", "none", 3, []int{}, nil, true},
		{"all but", "all but 2", 3, []int{1, 3}, nil, true},
		{"all except two", "All except 1 and 3", 4, []int{2, 4}, nil, true},
		{"range", "1-3", 4, []int{1, 2, 3}, nil, true},
		{"hash", "#2 and #4", 4, []int{2, 4}, nil, true},
		{"repeated", "2, 2 and 1", 3, []int{1, 2}, nil, true},
		{"fillers", "1 and 3 work for me", 3, []int{1, 3}, nil, true},
		{"change of mind", "Sorry, only 3 works after all.", 3, []int{3}, nil, true},
		{"greeting first", "Hello,\n\n2 and 3 suit me.\nThanks, Ann", 3, []int{2, 3}, nil, true},
		{"german und", "1 und 3", 3, []int{1, 3}, nil, true},
		{"german alle", "alle", 3, []int{1, 2, 3}, nil, true},
		{"german keine", "keine", 3, []int{}, nil, true},
		{"german ausser", "Alle außer 2", 3, []int{1, 3}, nil, true},
		{"german sentence", "Termine 2 und 3 passen mir", 3, []int{2, 3}, nil, true},
		{"french et", "1 et 2", 3, []int{1, 2}, nil, true},
		{"french tous", "tous", 2, []int{1, 2}, nil, true},
		{"french aucun", "aucun", 2, []int{}, nil, true},
		{"french sauf", "tous sauf 1", 3, []int{2, 3}, nil, true},
		{"spanish y", "1 y 3", 3, []int{1, 3}, nil, true},
		{"spanish todos", "todos", 2, []int{1, 2}, nil, true},
		{"spanish ninguno", "ninguno", 2, []int{}, nil, true},
		{"spanish excepto", "todos excepto 2", 3, []int{1, 3}, nil, true},
		{"out of range", "7", 3, nil, []int{7}, false},
		{"partly out of range", "1 and 7", 3, nil, []int{7}, false},
		{"zero", "0", 3, nil, []int{0}, false},
		{"prose", "I will check my calendar and get back to you", 3, nil, nil, false},
		{"empty", "", 3, nil, nil, false},
		{"none and number", "none 2", 3, nil, nil, false},
		{"but without all", "but 2", 3, nil, nil, false},
		{"all but nothing", "all but", 3, nil, nil, false},
		{"date", "Tuesday 14:00 would be better", 3, nil, nil, false},
		{"huge", "99999999999999999999", 3, nil, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParsePollAnswer(tt.text, tt.n)
			if got.OK != tt.wantK || (tt.wantK && !reflect.DeepEqual(got.Slots, tt.want)) || !reflect.DeepEqual(got.OutOfRange, tt.out) {
				t.Errorf("ParsePollAnswer(%q, %d) = %+v, want OK %v slots %v out of range %v", tt.text, tt.n, got, tt.wantK, tt.want, tt.out)
			}
		})
	}
}

// FuzzParsePollAnswer: any text reads without panicking, and an answer
// read names only slots of the poll, ascending, each once.
func FuzzParsePollAnswer(f *testing.F) {
	for _, s := range []string{"1, 3", "all but 2", "keine", "1-3 & 5", "tous sauf 1\n", "7", "", "1-99999", "alle außer 2 und 3"} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, text string, n int) {
		n = n%12 + 1
		if n < 1 {
			n = -n + 1
		}
		a := ParsePollAnswer(text, n)
		if !a.OK {
			return
		}
		for i, k := range a.Slots {
			if k < 1 || k > n || i > 0 && a.Slots[i-1] >= k {
				t.Fatalf("ParsePollAnswer(%q, %d) = %v", text, n, a.Slots)
			}
		}
		if len(a.OutOfRange) > 0 {
			t.Fatalf("OK with numbers out of range: %+v", a)
		}
	})
}
