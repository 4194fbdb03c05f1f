package sessionstore_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	. "github.com/c0f4626f/caddy-session/sessionstore"
)

// Metrics export every reason and operation from the start, from Reasons
// and Ops: each Reason constant and each operation named in a call to
// Observe or Store.call must be listed there.
func TestReasonsAndOpsListEveryOne(t *testing.T) {
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GenDecl:
				if n.Tok == token.CONST {
					checkReasons(t, n)
				}
			case *ast.CallExpr:
				if op, ok := observedOp(n); ok && !slices.Contains(Ops, op) {
					t.Errorf("operation %q is missing from Ops", op)
				}
			}
			return true
		})
	}
}

// checkReasons checks that every Reason constant of decl is in Reasons.
func checkReasons(t *testing.T, decl *ast.GenDecl) {
	for _, spec := range decl.Specs {
		v := spec.(*ast.ValueSpec)
		for i, name := range v.Names {
			if strings.HasPrefix(name.Name, "Reason") && i < len(v.Values) && !slices.Contains(Reasons, literal(v.Values[i])) {
				t.Errorf("%s is missing from Reasons", name.Name)
			}
		}
	}
}

// observedOp is the operation a call to Observe or Store.call names
// literally.
func observedOp(call *ast.CallExpr) (string, bool) {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return "", false
	}
	arg := -1
	switch sel.Sel.Name {
	case "Observe":
		arg = 0
	case "call":
		arg = 1
	}
	if arg < 0 || arg >= len(call.Args) {
		return "", false
	}
	op := literal(call.Args[arg])
	return op, op != ""
}

func literal(e ast.Expr) string {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return ""
	}
	s, _ := strconv.Unquote(lit.Value)
	return s
}
