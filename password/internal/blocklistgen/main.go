// Command blocklistgen writes the common-password blocklist embedded by
// package password.
//
// Source: the password list of the npm package @zxcvbn-ts/language-common
// (MIT licence), pinned below by version and integrity digest. zxcvbn-ts
// builds it from the ten-million-password corpus published on xato.net:
// lower-cased passwords seen more than ten times, ranked by frequency,
// without those that zxcvbn's pattern matchers (dates, sequences, repeats)
// already rate easier to guess than their rank. The generator fetches the
// package with npm, checks
// its digest, reads package/src/passwords.json, folds every entry as the
// policy does (NFKC, then lower case), keeps those of at least -min
// characters, and writes them sorted by byte value, one per line.
//
// Run from the password directory (go generate does):
//
//	go run ./internal/blocklistgen -o common-passwords.txt
//
// which runs
//
//	npm pack @zxcvbn-ts/language-common@4.1.3 --pack-destination TMPDIR
//
// To move to a newer version, change npmPackage and npmIntegrity (from
// `npm view @zxcvbn-ts/language-common@VERSION dist.integrity`).
package main

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

const (
	npmPackage   = "@zxcvbn-ts/language-common@4.1.3"
	npmTarball   = "zxcvbn-ts-language-common-4.1.3.tgz"
	npmIntegrity = "sha512-g2bg4skmlJG9aJqC/nWziZzgYpSe/f3rKeGobrkdFiOrfZVFqqzUgC6BUQWuX54Sua9j0Jxxt+1bf4f/Mal1Kg=="
	listPath     = "package/src/passwords.json"
)

func main() {
	out := flag.String("o", "common-passwords.txt", "output file")
	minLen := flag.Int("min", 8, "drop entries shorter than this many characters (the policy's smallest MinLength)")
	flag.Parse()
	if err := run(*out, *minLen); err != nil {
		fmt.Fprintln(os.Stderr, "blocklistgen:", err)
		os.Exit(1)
	}
}

func run(out string, minLen int) error {
	dir, err := os.MkdirTemp("", "blocklistgen")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	cmd := exec.Command("npm", "pack", npmPackage, "--pack-destination", dir)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm pack: %w", err)
	}
	tgz, err := os.ReadFile(filepath.Join(dir, npmTarball))
	if err != nil {
		return err
	}
	sum := sha512.Sum512(tgz)
	if got := "sha512-" + base64.StdEncoding.EncodeToString(sum[:]); got != npmIntegrity {
		return fmt.Errorf("integrity of %s: got %s, want %s", npmTarball, got, npmIntegrity)
	}
	raw, err := extract(tgz, listPath)
	if err != nil {
		return err
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return fmt.Errorf("%s: %w", listPath, err)
	}

	seen := make(map[string]bool, len(list))
	var kept []string
	for _, p := range list {
		f := strings.ToLower(norm.NFKC.String(p))
		if seen[f] || utf8.RuneCountInString(f) < minLen || strings.ContainsAny(f, "\r\n") {
			continue
		}
		seen[f] = true
		kept = append(kept, f)
	}
	slices.Sort(kept)
	var b strings.Builder
	for _, p := range kept {
		b.WriteString(p)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "blocklistgen: %d of %d entries written to %s\n", len(kept), len(list), out)
	return nil
}

// extract returns the contents of the file named name in a .tgz archive.
func extract(tgz []byte, name string) ([]byte, error) {
	zr, err := gzip.NewReader(strings.NewReader(string(tgz)))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s not found in %s", name, npmTarball)
		}
		if err != nil {
			return nil, err
		}
		if h.Name == name {
			return io.ReadAll(tr)
		}
	}
}
