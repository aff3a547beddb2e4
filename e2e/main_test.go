package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// suite is what every test needs, found or built once by TestMain.
var suite struct {
	root     string // the repository root
	demo     string // the demo binary
	chromium string // the browser
	oathtool string // the independent TOTP implementation
	axe      string // axe-core's source
	shots    string // where screenshots go
	missing  string // why the suite cannot run here, if it cannot
	err      error  // a setup failure (the demo did not build)
}

// requiredEnv makes a missing browser, tool or asset a failure instead of
// a skip (CI sets it).
const requiredEnv = "SIGRA_E2E_REQUIRED"

func TestMain(m *testing.M) {
	tmp, err := os.MkdirTemp("", "sigra-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	setup(tmp)
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

// setup finds the tools and assets and builds the demo into tmp. What is
// missing is recorded in suite.missing; each test then skips or fails.
func setup(tmp string) {
	root, err := filepath.Abs("..")
	if err == nil {
		_, err = os.Stat(filepath.Join(root, "go.mod"))
	}
	if err != nil {
		suite.err = fmt.Errorf("repository root: %w", err)
		return
	}
	suite.root = root
	suite.shots = os.Getenv("SIGRA_E2E_SCREENSHOTS")
	if suite.shots == "" {
		suite.shots = filepath.Join(root, "out", "e2e-screenshots")
	}

	var missing []error
	if suite.chromium = findChromium(); suite.chromium == "" {
		missing = append(missing, errors.New("chromium not found: install Debian package chromium"))
	}
	if suite.oathtool, err = exec.LookPath("oathtool"); err != nil {
		missing = append(missing, errors.New("oathtool not found: install Debian package oathtool"))
	}
	axe, err := os.ReadFile(filepath.Join(root, "e2e", "testdata", ".cache", "axe.min.js"))
	if err != nil {
		missing = append(missing, errors.New("axe-core not found: run e2e/testdata/fetch-axe.sh (needs npm)"))
	}
	suite.axe = string(axe)
	if len(missing) > 0 {
		suite.missing = errors.Join(missing...).Error()
		return
	}

	goTool, err := exec.LookPath("go")
	if err != nil {
		suite.err = fmt.Errorf("go tool not found: %w", err)
		return
	}
	suite.demo = filepath.Join(tmp, "demo")
	args := []string{"build", "-o", suite.demo}
	if raceEnabled {
		// The flows then also look for data races in the server.
		args = append(args, "-race")
	}
	cmd := exec.Command(goTool, append(args, "./examples/demo")...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		suite.err = fmt.Errorf("building the demo: %w\n%s", err, out)
	}
}

// findChromium returns the path of Debian's chromium, or of chromium on
// PATH, or "".
func findChromium() string {
	if fi, err := os.Stat("/usr/bin/chromium"); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return "/usr/bin/chromium"
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	return ""
}

// needSuite skips t (or fails it, when SIGRA_E2E_REQUIRED=1) if the
// browser, a tool or axe-core is missing, and fails it if setup failed.
func needSuite(t *testing.T) {
	t.Helper()
	if suite.err != nil {
		t.Fatal(suite.err)
	}
	if suite.missing != "" {
		if os.Getenv(requiredEnv) == "1" {
			t.Fatalf("%s (%s=1)", suite.missing, requiredEnv)
		}
		t.Skip(suite.missing)
	}
}
