package store

import (
	"strings"

	"github.com/google/uuid"
	"golang.org/x/text/unicode/norm"
)

// NewID returns a new UUIDv7 string: time-ordered, so rows created together
// sit together in an index. It panics only if the system's random source
// fails, as crypto/rand does.
func NewID() string {
	return uuid.Must(uuid.NewV7()).String()
}

// NormalizeEmail returns the form of an address that uniqueness is checked
// on: NFC-normalized, trimmed and lower-cased (Unicode-aware, so the
// database's own ASCII-only lower() is never relied on). Adapters store it
// beside the address as entered.
func NormalizeEmail(email string) string {
	return strings.ToLower(norm.NFC.String(strings.TrimSpace(email)))
}
