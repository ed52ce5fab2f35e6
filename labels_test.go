package hearth

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// A label found in the code, and the kind the "Every label" table of
// docs/PROTOCOL.md must give it ("" when any kind will do).
type codeLabel struct {
	label, kind, where string
}

// labelCalls names the functions that take a label, which argument it is,
// and the table's kind for it.
var labelCalls = map[string]struct {
	arg  int
	kind string
}{
	"deriveKey":      {1, "DeriveKey"},
	"extractKey":     {0, "ExtractKey"},
	"commitToSecret": {0, "SHA-256 prefix"},
}

// TestEveryLabelDocumented fails when the code uses a domain-separation
// label or a signature purpose that the "Every label" table of
// docs/PROTOCOL.md does not list (or lists with another kind), and when the
// table lists one the code no longer uses. Labels are found in crypto and
// protocol: the label argument of deriveKey, extractKey and commitToSecret,
// every labelPrefix + "..." string, and the purpose of every Sign and
// Verify call that names one.
func TestEveryLabelDocumented(t *testing.T) {
	doc, err := os.ReadFile("docs/PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	labels, err := findLabels("crypto", "protocol")
	if err != nil {
		t.Fatal(err)
	}
	if len(labels) < 20 {
		t.Fatalf("found only %d labels in the code; the scanner has lost track of them", len(labels))
	}
	for _, p := range labelProblems(labels, string(doc)) {
		t.Error(p)
	}
}

// TestLabelCheckCatchesGaps shows the check is not vacuous: with a row
// taken out of the table, or a row the code does not use, or a kind
// changed, it reports each.
func TestLabelCheckCatchesGaps(t *testing.T) {
	doc, err := os.ReadFile("docs/PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	labels, err := findLabels("crypto", "protocol")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	before := map[string]bool{}
	for _, p := range labelProblems(labels, text) {
		before[p] = true
	}
	edits := map[string]func(string) string{
		"row removed": func(s string) string {
			return regexp.MustCompile("(?m)^\\| `note body` \\|.*\n").ReplaceAllString(s, "")
		},
		"stale row": func(s string) string {
			return strings.Replace(s, "| `epoch topic` |", "| `no such label` | DeriveKey | — | — | — |\n| `epoch topic` |", 1)
		},
		"wrong kind": func(s string) string {
			return strings.Replace(s, "| `sync request` | signature purpose |", "| `sync request` | DeriveKey |", 1)
		},
	}
	for name, edit := range edits {
		changed := edit(text)
		if changed == text {
			t.Fatalf("%s: the edit changed nothing; the table has moved", name)
		}
		var added []string
		for _, p := range labelProblems(labels, changed) {
			if !before[p] {
				added = append(added, p)
			}
		}
		if len(added) != 1 {
			t.Errorf("%s: %d new problems reported, want 1: %q", name, len(added), added)
		}
	}
}

// labelProblems compares the labels found in the code with the table.
func labelProblems(labels []codeLabel, doc string) []string {
	table := labelTable(doc)
	var out []string
	if len(table) == 0 {
		return []string{`docs/PROTOCOL.md has no "### Every label" table`}
	}
	used := map[string]bool{}
	for _, l := range labels {
		if used[l.label] {
			continue // reported at its first use
		}
		used[l.label] = true
		kind, ok := table[l.label]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s: label %q is not in the \"Every label\" table of docs/PROTOCOL.md", l.where, l.label))
		case l.kind != "" && kind != l.kind:
			out = append(out, fmt.Sprintf("%s: label %q is a %s, the table says %s", l.where, l.label, l.kind, kind))
		}
	}
	for label := range table {
		if !used[label] {
			out = append(out, fmt.Sprintf("docs/PROTOCOL.md lists label %q, which the code does not use", label))
		}
	}
	sort.Strings(out)
	return out
}

// labelTable returns the rows of the "Every label" table: label → kind.
func labelTable(doc string) map[string]string {
	_, section, ok := strings.Cut(doc, "\n### Every label\n")
	if !ok {
		return nil
	}
	if end := strings.Index(section, "\n#"); end >= 0 {
		section = section[:end]
	}
	row := regexp.MustCompile("(?m)^\\| `([^`]+)` \\| ([^|]+) \\|")
	table := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		table[m[1]] = strings.TrimSpace(m[2])
	}
	return table
}

// findLabels parses the non-test Go files of each directory and returns
// every label and signature purpose they use. A label argument that is
// not a string constant is an error: the table could not be checked.
func findLabels(dirs ...string) ([]codeLabel, error) {
	var out []codeLabel
	for _, dir := range dirs {
		fset := token.NewFileSet()
		names, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			return nil, err
		}
		var files []*ast.File
		consts := map[string]string{}
		for _, name := range names {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, name, nil, 0)
			if err != nil {
				return nil, err
			}
			files = append(files, f)
			collectStringConsts(f, consts)
		}
		for _, f := range files {
			var ferr error
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CallExpr:
					switch fun := n.Fun.(type) {
					case *ast.Ident:
						spec, ok := labelCalls[fun.Name]
						if !ok || len(n.Args) <= spec.arg {
							return true
						}
						s, ok := stringValue(n.Args[spec.arg], consts)
						if !ok {
							ferr = fmt.Errorf("%s: the label passed to %s is not a string constant", fset.Position(n.Pos()), fun.Name)
							return false
						}
						out = append(out, codeLabel{s, spec.kind, fset.Position(n.Pos()).String()})
					case *ast.SelectorExpr:
						if (fun.Sel.Name == "Sign" || fun.Sel.Name == "Verify") && len(n.Args) >= 2 {
							if s, ok := stringValue(n.Args[0], consts); ok {
								out = append(out, codeLabel{s, "signature purpose", fset.Position(n.Pos()).String()})
							}
						}
					}
				case *ast.BinaryExpr:
					if x, ok := n.X.(*ast.Ident); ok && x.Name == "labelPrefix" && n.Op == token.ADD {
						if s, ok := stringValue(n.Y, consts); ok {
							out = append(out, codeLabel{s, "", fset.Position(n.Pos()).String()})
						}
					}
				}
				return true
			})
			if ferr != nil {
				return nil, ferr
			}
		}
	}
	return out, nil
}

// collectStringConsts records every package-level constant given a string
// literal.
func collectStringConsts(f *ast.File, consts map[string]string) {
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil {
						consts[name.Name] = s
					}
				}
			}
		}
	}
}

// stringValue resolves a string literal or a string constant's name.
func stringValue(e ast.Expr, consts map[string]string) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(e.Value)
		return s, err == nil
	case *ast.Ident:
		s, ok := consts[e.Name]
		return s, ok
	}
	return "", false
}
