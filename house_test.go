package sigra_test

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const module = "github.com/sigra-go/sigra"

// floors places every package of the module on a floor (DESIGN section 2,
// in finer steps): a package may import only packages on a lower floor, so
// features never import each other and nothing below the features names
// them.
var floors = map[string]int{
	"": 0,

	// Leaves: they import nothing of the module but the root.
	"store": 1, "password": 1, "token": 1, "internal/seal": 1, "internal/web": 1,
	"internal/pgtest": 1, "internal/retry": 1, "internal/htmlcheck": 1, "password/internal/blocklistgen": 1,

	"site": 2, "audit": 2, "mail": 2, "store/sqlite": 2, "store/postgres": 2, "store/storetest": 2,
	"webhook": 2,

	"session": 3, "ui": 3,

	"middleware": 4,

	"internal/kernel": 5,

	// Features.
	"account": 6, "mfa": 6, "org": 6, "oauth": 6, "passkey": 6, "jwtauth": 6, "apitoken": 6,
	"admin": 6,

	// Compositions.
	"kit": 7, "internal/apptest": 7, "bench": 7, "bench/hello": 7, "e2e": 7,

	// Tools.
	"cmd/sigra": 7,

	// Helpers for host applications' tests: they build on kit.
	"sigratest": 8,
}

// floorOf returns the floor of a module package, with every examples/...
// package on the top floor.
func floorOf(rel string) (int, bool) {
	if rel == "examples" || strings.HasPrefix(rel, "examples/") {
		return 8, true
	}
	f, ok := floors[rel]
	return f, ok
}

// sameExample reports whether two packages belong to one example
// application (examples/profile and examples/profile/profile): an example
// may import its own packages.
func sameExample(a, b string) bool {
	ea, ok1 := strings.CutPrefix(a, "examples/")
	eb, ok2 := strings.CutPrefix(b, "examples/")
	if !ok1 || !ok2 {
		return false
	}
	ea, _, _ = strings.Cut(ea, "/")
	eb, _, _ = strings.Cut(eb, "/")
	return ea == eb
}

type listed struct {
	ImportPath string
	Imports    []string
}

// goList lists the module's packages with their (non-test) imports.
func goList(t *testing.T) []listed {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go tool is not on PATH: cannot list packages")
	}
	cmd := exec.Command("go", "list", "-json", "./...")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v\n%s", err, errb.String())
	}
	var pkgs []listed
	dec := json.NewDecoder(&out)
	for {
		var p listed
		err := dec.Decode(&p)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func rel(importPath string) (string, bool) {
	if importPath == module {
		return "", true
	}
	r, ok := strings.CutPrefix(importPath, module+"/")
	return r, ok
}

// TestFloors checks that every package imports only packages on lower
// floors.
func TestFloors(t *testing.T) {
	for _, p := range goList(t) {
		from, _ := rel(p.ImportPath)
		ff, ok := floorOf(from)
		if !ok {
			t.Errorf("package %q has no floor: place it in house_test.go's floors (and in the design)", from)
			continue
		}
		for _, imp := range p.Imports {
			to, ours := rel(imp)
			if !ours {
				continue
			}
			tf, ok := floorOf(to)
			if !ok {
				continue // reported as a package above
			}
			if tf >= ff && !sameExample(from, to) {
				t.Errorf("%q (floor %d) imports %q (floor %d): a package imports only lower floors", from, ff, to, tf)
			}
		}
	}
}

// TestUINamesNoFeature checks that the ui package names no feature's pages,
// routes or notices: its Go code and core templates hold none of the
// features' words (comments may mention them as examples).
func TestUINamesNoFeature(t *testing.T) {
	forbidden := regexp.MustCompile(`\b(MFA|mfa_\w+|TOTP|totp|RecoveryCode|recovery_code\w*|Magic\w*|magic_\w+|Forgot|forgot|EmailChange|email_change\w*|Links|DeleteCancel|login\.html|mfa\.html)\b`)
	err := filepath.WalkDir("ui", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, "_test.go") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		comment := false
		for i, line := range strings.Split(string(b), "\n") {
			trimmed := strings.TrimSpace(line)
			if strings.Contains(trimmed, "/*") {
				comment = true
			}
			if comment || strings.HasPrefix(trimmed, "//") {
				if strings.Contains(trimmed, "*/") {
					comment = false
				}
				continue
			}
			if m := forbidden.FindString(line); m != "" {
				t.Errorf("%s:%d names a feature (%q): ui must know no feature's pages, routes or notices", p, i+1, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
