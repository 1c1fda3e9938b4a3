package mail

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-message/textproto"
)

// readHeader builds with AddRaw what textproto.ReadHeader reads from the
// same cleaned block: the same fields, values and raw bytes, in the same
// order, for every fixture's header and for random ones with folded,
// repeated and unused fields.
func TestReadHeaderMatchesReadHeader(t *testing.T) {
	var blocks [][]byte
	files, _ := filepath.Glob("testdata/*.eml")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, b)
	}
	names := []string{"From", "to", "CC", "Subject", "Received", "Message-ID", "References", "X-Autoreply", "content-type", "Date", "Return-Path", "X-Junk"}
	r := rand.New(rand.NewPCG(5, 6))
	for range 2000 {
		var b strings.Builder
		for range r.IntN(12) {
			fmt.Fprintf(&b, "%s:%s value %d", names[r.IntN(len(names))], strings.Repeat(" ", r.IntN(3)), r.IntN(100))
			for range r.IntN(3) {
				b.WriteString("\r\n" + []string{" ", "\t", "  "}[r.IntN(3)] + "folded  part ")
			}
			b.WriteString("\r\n")
		}
		b.WriteString("\r\nbody\r\n")
		blocks = append(blocks, []byte(b.String()))
	}
	for i, raw := range blocks {
		got, _, err := readHeader(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			continue // an unreadable header: both fail before this point
		}
		var f fieldFilter
		var clean bytes.Buffer
		if err := readHeaderInto(&clean, bufio.NewReader(bytes.NewReader(raw)), maxHeaderBytes, &f); err != nil {
			t.Fatal(err)
		}
		want, err := textproto.ReadHeader(bufio.NewReader(&clean))
		if err != nil {
			t.Fatalf("block %d: ReadHeader: %v", i, err)
		}
		if g, w := dumpHeader(t, got), dumpHeader(t, want); g != w {
			t.Fatalf("block %d:\ngot  %q\nwant %q", i, g, w)
		}
		for _, k := range names {
			if got.Get(k) != want.Get(k) || fmt.Sprint(got.Values(k)) != fmt.Sprint(want.Values(k)) {
				t.Fatalf("block %d: %s: got %q, want %q", i, k, got.Values(k), want.Values(k))
			}
		}
	}
}

func dumpHeader(t *testing.T, h textproto.Header) string {
	var b strings.Builder
	for fs := h.Fields(); fs.Next(); {
		raw, err := fs.Raw()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s=%q raw=%q;", fs.Key(), fs.Value(), raw)
	}
	return b.String()
}
