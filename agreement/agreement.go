// Package agreement fills agreement templates (Markdown with Go
// text/template fields) with a case's data and renders them as PDF
// documents with an embedded Unicode font (DejaVu Sans: Latin, Greek,
// Cyrillic), so that every party's name prints as written.
package agreement

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/template"

	"codeberg.org/go-pdf/fpdf"

	"github.com/casebot/casebot"
)

//go:embed templates/*.md
var builtins embed.FS

// fontTTF is DejaVu Sans (fonts/LICENSE: the Bitstream Vera licence, DejaVu
// changes in the public domain).
//
//go:embed fonts/DejaVuSans.ttf
var fontTTF []byte

// Maker fills the built-in templates and those of a templates folder.
type Maker struct {
	tmpls map[string]*template.Template
}

var _ casebot.Agreements = (*Maker)(nil)

// New returns a Maker with the built-in templates (settlement,
// agreement-to-mediate) and every *.md file of dir (when dir is not
// empty), each named by its file name without .md; a file may replace a
// built-in. Each template is parsed with missingkey=error and filled once
// with sample data, so one that does not parse or names an unknown field
// is an error here, naming its file and line.
func New(dir string) (*Maker, error) {
	m := &Maker{tmpls: map[string]*template.Template{}}
	err := fs.WalkDir(builtins, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := builtins.ReadFile(p)
		if err != nil {
			return err
		}
		return m.add(strings.TrimSuffix(filepath.Base(p), ".md"), "built-in "+filepath.Base(p), string(b))
	})
	if err != nil {
		return nil, fmt.Errorf("agreement: built-in templates: %w", err)
	}
	if dir == "" {
		return m, nil
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil {
		return nil, fmt.Errorf("agreement: templates in %s: %w", dir, err)
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("agreement: records.templates_dir: %w", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("agreement: %w", err)
		}
		if err := m.add(strings.TrimSuffix(filepath.Base(f), ".md"), f, string(b)); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// add parses text (from file) as template name and tries it on sample
// data; text/template's errors name the file and line ("template:
// /x/settlement.md:7:12: executing ... can't evaluate field Nmae").
func (m *Maker) add(name, file, text string) error {
	t, err := template.New(file).Option("missingkey=error").Parse(text)
	if err != nil {
		return fmt.Errorf("agreement: %w", err)
	}
	if err := t.Execute(&bytes.Buffer{}, casebot.SampleAgreementData()); err != nil {
		return fmt.Errorf("agreement: %w", err)
	}
	m.tmpls[name] = t
	return nil
}

// Templates returns the template names, sorted.
func (m *Maker) Templates() []string {
	var out []string
	for n := range m.tmpls {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Render fills template name with d and returns the PDF, or an EINVALID
// error for an unknown template.
func (m *Maker) Render(name string, d casebot.AgreementData) ([]byte, error) {
	t, ok := m.tmpls[name]
	if !ok {
		return nil, casebot.Errorf(casebot.EINVALID, "%q is not an agreement template; use one of %s.", name, strings.Join(m.Templates(), ", "))
	}
	var md bytes.Buffer
	if err := t.Execute(&md, d); err != nil {
		return nil, fmt.Errorf("agreement: fill %s: %w", name, err)
	}
	return renderPDF(md.String(), d.CaseID)
}

// renderPDF lays out the Markdown subset the templates use: # and ##
// headings, "- " and "1. " list items, paragraphs separated by blank lines.
func renderPDF(md, caseID string) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetTitle("Agreement "+caseID, true)
	pdf.SetCreator("casebot", true)
	pdf.AddUTF8FontFromBytes("dejavu", "", fontTTF)
	pdf.SetMargins(20, 20, 20)
	pdf.SetAutoPageBreak(true, 20)
	pdf.AliasNbPages("{nb}")
	pdf.SetFooterFunc(func() {
		pdf.SetY(-15)
		pdf.SetFont("dejavu", "", 8)
		pdf.CellFormat(0, 10, fmt.Sprintf("%s — page %d of {nb}", caseID, pdf.PageNo()), "", 0, "C", false, 0, "")
	})
	pdf.AddPage()
	var para []string
	flush := func() {
		if len(para) == 0 {
			return
		}
		pdf.SetFont("dejavu", "", 11)
		pdf.MultiCell(0, 5.5, strings.Join(para, " "), "", "L", false)
		pdf.Ln(2)
		para = para[:0]
	}
	for _, line := range strings.Split(md, "\n") {
		l := strings.TrimRight(line, " \t\r")
		switch {
		case strings.TrimSpace(l) == "":
			flush()
		case strings.HasPrefix(l, "# "):
			flush()
			pdf.SetFont("dejavu", "", 18)
			pdf.MultiCell(0, 9, strings.TrimPrefix(l, "# "), "", "L", false)
			pdf.Ln(3)
		case strings.HasPrefix(l, "## "):
			flush()
			pdf.Ln(2)
			pdf.SetFont("dejavu", "", 13)
			pdf.MultiCell(0, 7, strings.TrimPrefix(l, "## "), "", "L", false)
			pdf.Ln(1)
		case strings.HasPrefix(l, "- "), isNumbered(l):
			flush()
			pdf.SetFont("dejavu", "", 11)
			bullet, rest := "•", strings.TrimPrefix(l, "- ")
			if isNumbered(l) {
				bullet, rest, _ = strings.Cut(l, " ")
			}
			pdf.SetX(24)
			pdf.CellFormat(6, 5.5, bullet, "", 0, "L", false, 0, "")
			pdf.MultiCell(0, 5.5, rest, "", "L", false)
			pdf.Ln(1)
		default:
			para = append(para, strings.TrimSpace(l))
		}
	}
	flush()
	var out bytes.Buffer
	if err := pdf.Output(&out); err != nil {
		return nil, fmt.Errorf("agreement: render PDF: %w", err)
	}
	return out.Bytes(), nil
}

// isNumbered reports whether l starts a numbered item ("1. ").
func isNumbered(l string) bool {
	i := 0
	for i < len(l) && l[i] >= '0' && l[i] <= '9' {
		i++
	}
	return i > 0 && i+1 < len(l) && l[i] == '.' && l[i+1] == ' '
}
