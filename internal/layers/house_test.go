package layers

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bounds that keep node/ a house of small subsystems: a file a reader can
// hold in mind, and no struct that gathers every concern of the node.
const (
	maxNodeFileLines  = 400
	maxNodeTypeFields = 15
)

// goFiles returns the non-test Go files under dir, by directory, skipping
// testdata.
func goFiles(t *testing.T, dir string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && p != dir {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
			out[filepath.Dir(p)] = append(out[filepath.Dir(p)], p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestNodeFilesAndTypesStaySmall(t *testing.T) {
	for _, files := range goFiles(t, filepath.Join("..", "..", "node")) {
		for _, name := range files {
			src, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			if lines := bytes.Count(src, []byte("\n")); lines > maxNodeFileLines {
				t.Errorf("%s has %d lines, more than %d: split it by concern", name, lines, maxNodeFileLines)
			}
			f, err := parser.ParseFile(token.NewFileSet(), name, src, 0)
			if err != nil {
				t.Fatalf("parse %s: %v", name, err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				ts, ok := n.(*ast.TypeSpec)
				if !ok {
					return true
				}
				if st, ok := ts.Type.(*ast.StructType); ok {
					if c := fieldCount(st); c > maxNodeTypeFields {
						t.Errorf("%s: type %s has %d fields, more than %d: give a part its own type", name, ts.Name.Name, c, maxNodeTypeFields)
					}
				}
				return true
			})
		}
	}
}

func fieldCount(st *ast.StructType) int {
	c := 0
	for _, f := range st.Fields.List {
		c += max(len(f.Names), 1) // an embedded field has no name
	}
	return c
}

// TestEveryPackageSaysWhatItOwns: each package has one package comment,
// in one of its files, saying what it is for.
func TestEveryPackageSaysWhatItOwns(t *testing.T) {
	for dir, files := range goFiles(t, filepath.Join("..", "..")) {
		var with []string
		for _, name := range files {
			f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				t.Fatalf("parse %s: %v", name, err)
			}
			if f.Doc != nil && strings.TrimSpace(f.Doc.Text()) != "" {
				with = append(with, filepath.Base(name))
			}
		}
		switch {
		case len(with) == 0:
			t.Errorf("package in %s has no package comment saying what it owns", dir)
		case len(with) > 1:
			t.Errorf("package in %s has a package comment in %d files (%s): keep one", dir, len(with), strings.Join(with, ", "))
		}
	}
}
