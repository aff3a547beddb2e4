package kernel

import (
	"net/mail"
	"strings"
)

// ParseEmail validates an address typed into a form: a bare address (no
// display name), at most 254 bytes, with a domain that has a dot.
func ParseEmail(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 254 || strings.ContainsAny(s, "<>\"\r\n ") {
		return "", false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", false
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || !strings.Contains(s[at:], ".") {
		return "", false
	}
	return s, true
}
