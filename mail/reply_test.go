package mail

import "testing"

func TestExtractReply(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "Hello\nthere", "Hello\nthere"},
		{"gmail", "Yes.\n\nOn Tue, 24 Nov 2026 at 10:02, Jane <j@x.example> wrote:\n> old", "Yes."},
		{"gmail wrapped", "Yes.\n\nOn Tue, 24 Nov 2026 at 10:02, Jane <\nj@x.example> wrote:\n\n> old", "Yes."},
		{"french", "Oui.\n\nLe mar. 24 nov. 2026 à 10:02, X <x@y.example> a écrit :\n> old", "Oui."},
		{"german", "Ja.\n\nAm 24.11.2026 um 10:02 schrieb X:\n> alt", "Ja."},
		{"spanish", "Sí.\n\nEl mar, 24 nov 2026 a las 10:02, X escribió:\n> viejo", "Sí."},
		{"italian", "Sì.\n\nIl giorno mar 24 nov 2026 alle ore 10:02 X ha scritto:\n> vecchio", "Sì."},
		{"portuguese", "Sim.\n\nEm ter., 24 de nov. de 2026 às 10:02, X escreveu:\n> velho", "Sim."},
		{"outlook separator", "OK\n\n-----Original Message-----\nFrom: X\nSent: today\nTo: Y\nSubject: Z\n\nold", "OK"},
		{"outlook block", "OK\n\nFrom: X <x@y.example>\nSent: Tuesday\nTo: Y\nSubject: Z\n\nold", "OK"},
		{"outlook underscores", "OK\n\n________________________________\nFrom: X\nSent: Tuesday\nTo: Y\nSubject: Z\nold", "OK"},
		{"apple", "Sure\n\nSent from my iPhone\n\n> On 24 Nov 2026, at 10:02, X <x@y.example> wrote:\n> old", "Sure"},
		{"thunderbird", "Fine\n\nOn 11/24/26 10:02 AM, X wrote:\n> old", "Fine"},
		{"galaxy", "Fine\n\nSent from my Galaxy", "Fine"},
		{"outlook android", "Fine\n\nGet Outlook for Android", "Fine"},
		{"signature", "Fine\n-- \nJohn\nPhone", "Fine"},
		{"interleaved", "On Tue, X wrote:\n> q1\na1\n> q2\na2", "a1\na2"},
		{"forward kept", "FYI\n\n---------- Forwarded message ---------\nFrom: A\n\n> quoted in forward\nbody", "FYI\n\n---------- Forwarded message ---------\nFrom: A\n\n> quoted in forward\nbody"},
		{"nothing new keeps all", "> only a quote", "> only a quote"},
		{"from in prose kept", "From: my side, the offer stands.\nThanks", "From: my side, the offer stands.\nThanks"},
		{"crlf", "Yes\r\n\r\nOn Mon, X <x@y.example> wrote:\r\n> old\r\n", "Yes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ExtractReply(tc.in); got != tc.want {
				t.Errorf("ExtractReply(%q) =\n%q\nwant\n%q", tc.in, got, tc.want)
			}
		})
	}
}
