package main

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// maxWiring is the most lines of wiring the minimal example may take.
const maxWiring = 15

// wiringLines returns the lines of wiring in the Go source src: the lines
// inside the bodies of its functions, except the must helper, that are not
// blank, not comments and not the log.Printf call announcing the address.
func wiringLines(t *testing.T, src string) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "main.go", src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(src, "\n")
	var out []string
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Body == nil || fn.Name.Name == "must" {
			continue
		}
		from, to := fset.Position(fn.Body.Lbrace).Line, fset.Position(fn.Body.Rbrace).Line
		for _, line := range lines[from : to-1] { // the lines strictly between the braces
			s := strings.TrimSpace(line)
			if s == "" || strings.HasPrefix(s, "//") || strings.HasPrefix(s, "log.Printf(") {
				continue
			}
			out = append(out, s)
		}
	}
	return out
}

// TestWiringLines keeps the minimal example minimal: at most 15 lines of
// wiring.
func TestWiringLines(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	got := wiringLines(t, string(src))
	if len(got) == 0 {
		t.Fatal("found no wiring in main.go")
	}
	if len(got) > maxWiring {
		t.Errorf("main.go has %d lines of wiring, want at most %d:\n%s", len(got), maxWiring, strings.Join(got, "\n"))
	}
	t.Logf("%d lines of wiring", len(got))
}

// TestWiringLinesCounts checks the counter on a sample: braces' own lines,
// blank lines, comments, the log call and the must helper do not count.
func TestWiringLinesCounts(t *testing.T) {
	const sample = `package main

func main() {
	// a comment
	a := 1

	log.Printf("listening")
	log.Fatal(run(a, func() {
		_ = 2
	}))
}

func must[T any](v T, err error) T {
	return v
}
`
	want := []string{"a := 1", "log.Fatal(run(a, func() {", "_ = 2", "}))"}
	if got := wiringLines(t, sample); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got lines %q, want %q", got, want)
	}
}

// TestServesSignIn builds the example's wiring on a temporary folder and
// a free port: it serves the sign-in page, keeps its database and keys in
// that folder, and sends an anonymous visitor of the home page to sign in.
func TestServesSignIn(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "localhost:" + strings.TrimPrefix(ln.Addr().String(), "127.0.0.1:")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := &http.Server{Handler: app(ctx, dir, addr)}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	tests := []struct {
		path     string
		status   int
		location string
		contains string
	}{
		{"/auth/login", http.StatusOK, "", `action="/auth/login"`},
		{"/", http.StatusSeeOther, "/auth/login?return_to=%2F", ""},
		{"/auth/register", http.StatusOK, "", `action="/auth/register"`},
	}
	for _, tt := range tests {
		res, err := client.Get("http://" + addr + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tt.status || res.Header.Get("Location") != tt.location {
			t.Errorf("GET %s: got %d to %q, want %d to %q", tt.path, res.StatusCode, res.Header.Get("Location"), tt.status, tt.location)
		}
		if !strings.Contains(string(body), tt.contains) {
			t.Errorf("GET %s: page lacks %q", tt.path, tt.contains)
		}
	}
	for _, name := range []string{"minimal.db", "minimal.keys"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s not in the application's folder: %v", name, err)
		}
	}
}
