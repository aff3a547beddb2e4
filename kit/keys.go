package kit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/token"
)

// KeysFile returns the sealing keys kept in the file at path, creating the
// file (mode 0600) with a new key the first time. It is for development and
// single-machine deployments: the keys survive restarts, so TOTP secrets
// and queued email sealed before a restart still open after it. In
// production, read the keys from a secret store or an environment variable
// instead, and keep a copy: data sealed with a lost key cannot be opened.
//
// The file holds one keyring spec ("id:base64key[,id:base64key...]") on
// its first line; to rotate, put a new key first and keep the old ones
// after it. An empty file is refused with an error wrapping
// [sigra.ErrConfig]. Processes that start at once on a missing file all
// get the key the first of them wrote: the file appears whole or not at
// all.
func KeysFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return createKeysFile(path)
	}
	if err != nil {
		return "", fmt.Errorf("sigra/kit: read keys file: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	line = strings.TrimSpace(line)
	if line == "" {
		return "", fmt.Errorf("%w: kit: keys file %s is empty", sigra.ErrConfig, path)
	}
	return line, nil
}

// createKeysFile writes a new key to a temporary file beside path and
// links it to path, which fails if path exists: no reader ever sees a
// partly written file, and a file another process created meanwhile wins.
func createKeysFile(path string) (string, error) {
	key, err := token.NewSealKey("k1")
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".sigra-keys-*") // mode 0600
	if err != nil {
		return "", fmt.Errorf("sigra/kit: create keys file: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.WriteString(key + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("sigra/kit: write keys file: %w", err)
	}
	if err := os.Link(f.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return KeysFile(path) // created meanwhile by another process
		}
		return "", fmt.Errorf("sigra/kit: create keys file: %w", err)
	}
	return key, nil
}
