// Package arch_test holds the repository's layout rules (ARCHITECTURE.md) as tests, so a change
// that breaks one fails `make test` instead of waiting for a reviewer.
package arch_test

import (
	"bufio"
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const (
	module = "github.com/trafficctl/trafficctl"
	root   = "../.."
	// maxFuncLines is the longest function allowed outside generated code.
	maxFuncLines = 100
)

// TestImportRules checks who may import whom: pkg/ is the library users may import, so it never
// depends on internal/ (pkg/internal/ is pkg's own); only internal/cli and the tests drive the CLI.
func TestImportRules(t *testing.T) {
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		pkg := strings.TrimPrefix(fields[0], module+"/")
		for _, imp := range fields[1:] {
			imp, ok := strings.CutPrefix(imp, module+"/")
			if !ok {
				continue
			}
			if strings.HasPrefix(pkg, "pkg/") && strings.HasPrefix(imp, "internal/") {
				t.Errorf("%s imports %s: pkg/ must not import internal/ (move the shared code to pkg/internal/)", pkg, imp)
			}
			if strings.HasPrefix(imp, "internal/testing/") && !strings.HasPrefix(pkg, "internal/testing/") {
				t.Errorf("%s imports the test kit %s outside a test", pkg, imp)
			}
		}
	}
}

// TestFunctionLength keeps every function outside generated code at most maxFuncLines long.
func TestFunctionLength(t *testing.T) {
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
		if err != nil {
			return err
		}
		if ast.IsGenerated(f) {
			return nil
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			lines := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1
			if lines > maxFuncLines {
				rel, _ := filepath.Rel(root, path)
				t.Errorf("%s: %s is %d lines (at most %d): split it into named phases", rel, fn.Name.Name, lines, maxFuncLines)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
