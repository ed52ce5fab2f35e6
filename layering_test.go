package hearth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"os/exec"
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

// listedPackage is what `go list -json` says of a package that these
// checks need.
type listedPackage struct {
	ImportPath  string
	Dir         string
	Standard    bool
	Module      *struct{ Path string }
	Imports     []string
	TestImports []string
	GoFiles     []string
}

// goList runs `go list -json` with args and decodes its stream of
// packages.
func goList(t *testing.T, args ...string) []listedPackage {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json=ImportPath,Dir,Standard,Module,Imports,TestImports,GoFiles"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", args, err, stderr.Bytes())
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatalf("go list %v listed nothing", args)
	}
	return pkgs
}

// isStandard reports whether an import path names a standard-library
// package: its first element has no dot.
func isStandard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// cryptoModules are the only modules outside the standard library that
// the crypto package may depend on: golang.org/x/crypto, and
// golang.org/x/sys, which x/crypto itself imports (CPU feature detection).
var cryptoModules = []string{"golang.org/x/crypto", "golang.org/x/sys"}

// TestCryptoDependencies: crypto imports only the standard library and
// golang.org/x/crypto, in its code and its tests, and nothing it depends
// on, however indirectly, comes from any other module (DESIGN.md).
func TestCryptoDependencies(t *testing.T) {
	for _, v := range cryptoViolations(goList(t, "-deps", "./crypto")) {
		t.Error(v)
	}
}

// cryptoViolations checks the output of `go list -deps ./crypto`.
func cryptoViolations(pkgs []listedPackage) []string {
	var out []string
	self := modulePath + "/crypto"
	for _, p := range pkgs {
		if p.ImportPath == self {
			for _, imp := range append(append([]string(nil), p.Imports...), p.TestImports...) {
				if imp != self && !isStandard(imp) && !strings.HasPrefix(imp, "golang.org/x/crypto/") {
					out = append(out, fmt.Sprintf("crypto imports %s: only the standard library and golang.org/x/crypto are allowed", imp))
				}
			}
			continue
		}
		if p.Standard {
			continue
		}
		mod := "(no module)"
		if p.Module != nil {
			mod = p.Module.Path
		}
		allowed := false
		for _, m := range cryptoModules {
			allowed = allowed || mod == m
		}
		if !allowed {
			out = append(out, fmt.Sprintf("crypto depends on %s, from module %s", p.ImportPath, mod))
		}
	}
	sort.Strings(out)
	return out
}

// protocolForbidden are standard packages that do I/O or reach outside the
// process; protocol is pure (DESIGN.md, "Sans-I/O protocol core") and may
// import none of them. Packages under os/ and net/ are forbidden too,
// except net/netip and net/url, which only parse values.
var protocolForbidden = []string{"os", "net", "syscall", "io/ioutil", "log", "plugin", "runtime/debug"}

// protocolClockCalls are the time functions that read the clock or wait:
// protocol is handed the time, it never reads it.
var protocolClockCalls = []string{"Now", "Since", "Until", "Sleep", "After", "AfterFunc", "NewTimer", "NewTicker", "Tick"}

// TestProtocolIsPure: protocol imports only the standard library and
// crypto, none of the standard packages that do I/O (os, net, net/http,
// os/exec, log, ...), never reads the clock, and starts no goroutine.
func TestProtocolIsPure(t *testing.T) {
	pkgs := goList(t, "./protocol")
	p := pkgs[0]
	violations := protocolImportViolations(p.Imports)
	fset := token.NewFileSet()
	for _, name := range p.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		violations = append(violations, protocolCodeViolations(fset, f)...)
	}
	for _, v := range violations {
		t.Error(v)
	}
}

// protocolImportViolations checks protocol's non-test imports.
func protocolImportViolations(imports []string) []string {
	var out []string
	for _, imp := range imports {
		switch {
		case imp == modulePath+"/crypto":
		case !isStandard(imp):
			out = append(out, fmt.Sprintf("protocol imports %s: only the standard library and crypto are allowed", imp))
		case imp == "net/netip" || imp == "net/url":
		default:
			for _, f := range protocolForbidden {
				if imp == f || strings.HasPrefix(imp, f+"/") {
					out = append(out, fmt.Sprintf("protocol imports %s, which does I/O; pass what it needs in instead", imp))
				}
			}
		}
	}
	return out
}

// protocolCodeViolations finds clock reads and goroutines in one file.
func protocolCodeViolations(fset *token.FileSet, f *ast.File) []string {
	timeName := ""
	for _, imp := range f.Imports {
		if strings.Trim(imp.Path.Value, `"`) == "time" {
			timeName = "time"
			if imp.Name != nil {
				timeName = imp.Name.Name
			}
		}
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			out = append(out, fmt.Sprintf("%s: protocol starts a goroutine", fset.Position(n.Pos())))
		case *ast.SelectorExpr:
			if x, ok := n.X.(*ast.Ident); ok && timeName != "" && x.Name == timeName {
				for _, c := range protocolClockCalls {
					if n.Sel.Name == c {
						out = append(out, fmt.Sprintf("%s: protocol calls time.%s; take the time as an argument", fset.Position(n.Pos()), c))
					}
				}
			}
		}
		return true
	})
	return out
}

// TestDependencyChecksCatchViolations shows the two checks above are not
// vacuous.
func TestDependencyChecksCatchViolations(t *testing.T) {
	mod := func(path string) *struct{ Path string } { return &struct{ Path string }{path} }
	got := cryptoViolations([]listedPackage{
		{ImportPath: modulePath + "/crypto", Module: mod(modulePath), Imports: []string{"bytes", "golang.org/x/crypto/argon2", "github.com/some/lib"}, TestImports: []string{modulePath + "/storage"}},
		{ImportPath: "github.com/some/lib", Module: mod("github.com/some/lib")},
		{ImportPath: "golang.org/x/sys/cpu", Module: mod("golang.org/x/sys")},
		{ImportPath: "fmt", Standard: true},
	})
	if len(got) != 3 {
		t.Errorf("crypto: %d violations, want 3 (an import, a test import, a dependency): %q", len(got), got)
	}

	got = protocolImportViolations([]string{"bytes", "time", "net/netip", modulePath + "/crypto", "os", "os/exec", "net", "net/http", "github.com/some/lib", modulePath + "/storage"})
	if len(got) != 6 {
		t.Errorf("protocol imports: %d violations, want 6: %q", len(got), got)
	}

	src := `package protocol
import clock "time"
func f(d clock.Duration) clock.Time {
	go func() {}()
	clock.Sleep(d)
	return clock.Now().Add(d)
}`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "f.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := protocolCodeViolations(fset, f); len(got) != 3 {
		t.Errorf("protocol code: %d violations, want 3 (a goroutine, Sleep, Now): %q", len(got), got)
	}
}
