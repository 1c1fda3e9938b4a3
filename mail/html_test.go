package mail

import "testing"

func TestHTMLToText(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"paragraphs", "<p>One</p><p>Two</p>", "One\n\nTwo"},
		{"breaks", "a<br>b<br><br>c", "a\nb\n\nc"},
		{"script and style dropped", "<style>p{}</style><script>x()</script><p>kept</p>", "kept"},
		{"entities", "<p>&euro;5 &amp; &lt;tag&gt; caf&eacute;&nbsp;ok</p>", "€5 & <tag> café ok"},
		{"link", `<a href="https://x.example/doc">the doc</a>`, "the doc (https://x.example/doc)"},
		{"link equal to text", `<a href="https://x.example/">https://x.example</a>`, "https://x.example"},
		{"javascript link hidden", `<a href="javascript:evil()">click</a>`, "click"},
		{"lists", "<ul><li>a</li><li>b</li></ul><ol><li>x</li><li>y</li></ol>", "- a\n- b\n\n1. x\n2. y"},
		{"blockquote quoted", "<div>new</div><blockquote>old<br>older</blockquote>", "new\n> old\n> older"},
		{"whitespace collapsed", "<p>  lots   of\n\n space </p>", "lots of space"},
		{"pre kept", "<pre>a  b\n  c</pre>", "a  b\n  c"},
		{"table", "<table><tr><td>1</td><td>2</td></tr><tr><td>3</td><td>4</td></tr></table>", "1 2\n3 4"},
		{"unclosed tags", "<div><p>open <b>bold", "open bold"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := HTMLToText(tc.in); got != tc.want {
				t.Errorf("HTMLToText(%q) =\n%q\nwant\n%q", tc.in, got, tc.want)
			}
		})
	}
}
