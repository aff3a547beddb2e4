package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestREADME runs the curl lines of README.md against the application, on
// a free port, and checks what each step answers.
func TestREADME(t *testing.T) {
	for _, tool := range []string{"curl", "bash", "sed", "grep"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	script := curlBlock(t, string(readme))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://localhost:" + strings.TrimPrefix(ln.Addr().String(), "127.0.0.1:")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	h, err := app(ctx, dir, base)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	script = strings.Replace(script, "BASE=http://localhost:8082", "BASE="+base, 1)
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's commands failed: %v\n%s", err, out)
	}
	got := string(out)
	for _, want := range []string{
		`"email":"admin@example.com"`, // whoami with the personal token
		`{"text":"buy milk"`,          // the note added, then listed
		`HTTP/1.1 403`,                // the read-only token writing
		`error="insufficient_scope", scope="notes:write"`,
		`error="invalid_token"`,           // the mistyped token
		`"service_account":true`,          // whoami as the service account
		`{"notes":[]}`,                    // the service account's own notes
		`"error":{"code":"invalid_grant"`, // the reused refresh token
		"after reuse: 400",                // its family ended with it
		`"revoked":2`,                     // revoke all
		"\n401\n",                         // the revoked token
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the output lacks %q:\n%s", want, got)
		}
	}
}

// curlBlock returns the code block of the README that holds the curl
// lines: the one that sets BASE.
func curlBlock(t *testing.T, readme string) string {
	t.Helper()
	for _, part := range strings.Split(readme, "```sh\n")[1:] {
		block, _, _ := strings.Cut(part, "```")
		if strings.Contains(block, "BASE=http://localhost:8082") {
			return block
		}
	}
	t.Fatal("README.md has no block of curl lines setting BASE")
	return ""
}
