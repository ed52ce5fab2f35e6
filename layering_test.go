package hearth

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const modulePath = "github.com/hearthnet/hearth"

// allowedImports says, for each top-level part of the tree, which other parts
// it may import. Imports point down only (DESIGN.md, "Layers and packages"):
// cmd → api → node → protocol → crypto, and node → storage. crypto imports
// nothing of Hearth, storage only crypto, and nothing imports cmd or api
// except cmd, which may import api.
var allowedImports = map[string][]string{
	"crypto":   {},
	"storage":  {"crypto"},
	"protocol": {"crypto"},
	"node":     {"protocol", "crypto", "storage"},
	"api":      {"node", "protocol", "crypto"},
	"cmd":      {"api", "node", "protocol", "crypto", "storage"},
	".":        {},
}

// TestLayering fails when any Go file in the repository, tests included,
// imports a part of Hearth its layer may not import.
func TestLayering(t *testing.T) {
	violations, err := layeringViolations(".", allowedImports)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range violations {
		t.Error(v)
	}
}

// TestLayeringCatchesViolations shows the checker is not vacuous: a tree in
// which crypto imports storage, and one with an unknown top-level package,
// are both reported.
func TestLayeringCatchesViolations(t *testing.T) {
	root := t.TempDir()
	write := func(rel, src string) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("crypto/a.go", "package crypto\nimport _ \""+modulePath+"/storage\"\n")
	write("storage/b.go", "package storage\nimport _ \""+modulePath+"/crypto\"\n")
	write("extra/c.go", "package extra\n")
	write("api/d.go", "package api\nimport _ \""+modulePath+"/storage/sub\"\n")

	got, err := layeringViolations(root, allowedImports)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"crypto/a.go", "extra/c.go", "api/d.go"}
	if len(got) != len(want) {
		t.Fatalf("got %d violations, want %d: %q", len(got), len(want), got)
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			if strings.HasPrefix(g, w+":") {
				found = true
			}
		}
		if !found {
			t.Errorf("no violation reported for %s in %q", w, got)
		}
	}
}

// layeringViolations parses the imports of every .go file under root and
// returns one line per forbidden import or unknown top-level package.
func layeringViolations(root string, allowed map[string][]string) ([]string, error) {
	var out []string
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		layer := topLevel(rel)
		ok, known := allowed[layer]
		if !known {
			out = append(out, fmt.Sprintf("%s: top-level package %q has no place in the layering; add it to allowedImports", rel, layer))
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			if p != modulePath && !strings.HasPrefix(p, modulePath+"/") {
				continue
			}
			target := topLevel(strings.TrimPrefix(strings.TrimPrefix(p, modulePath), "/") + "/x.go")
			if target == layer {
				continue
			}
			permitted := false
			for _, a := range ok {
				if a == target {
					permitted = true
				}
			}
			if !permitted {
				out = append(out, fmt.Sprintf("%s: %s may not import %s (allowed: %v)", rel, layer, p, ok))
			}
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// topLevel returns the first path element of a slash-separated file path, or
// "." for a file at the root.
func topLevel(rel string) string {
	if i := strings.IndexByte(rel, '/'); i >= 0 {
		return rel[:i]
	}
	return "."
}
