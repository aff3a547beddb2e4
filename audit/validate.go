package audit

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds on what one event may carry.
const (
	// MaxActionLen is the longest accepted action name, in bytes.
	MaxActionLen = 64
	// MaxMetadataKeys is the most metadata entries one event may carry.
	MaxMetadataKeys = 32
	// MaxKeyLen is the longest accepted metadata key, in bytes.
	MaxKeyLen = 64
	// MaxValueLen is the longest accepted metadata value, in bytes.
	MaxValueLen = 512
	// MaxIDLen is the longest accepted actor, subject or impersonator ID,
	// in bytes.
	MaxIDLen = 255
	// MaxIPLen and MaxUserAgentLen bound the recorded client address and
	// user agent, in bytes; longer values are cut (at a character
	// boundary), not refused, because they come from the request.
	MaxIPLen        = 64
	MaxUserAgentLen = 512
)

// secretWords are the fragments that mark a metadata key as secret-looking.
// The list is repeated in the package documentation; keep both in step.
var secretWords = [...]string{
	"password", "passwd", "secret", "token", "code", "otp", "totp", "key",
	"hash", "cookie", "session", "authorization", "credential", "recovery",
}

// checkAction reports whether action is well formed: two or more segments
// joined by dots, each a lowercase ASCII letter followed by lowercase
// letters, digits or underscores, at most MaxActionLen bytes in all.
func checkAction(action string) error {
	if action == "" {
		return fmt.Errorf("%w: empty", ErrInvalidAction)
	}
	if len(action) > MaxActionLen {
		return fmt.Errorf("%w: %s is longer than %d bytes", ErrInvalidAction, quote(action), MaxActionLen)
	}
	segments, start := 0, true
	for i := 0; i < len(action); i++ {
		c := action[i]
		switch {
		case c == '.':
			if start {
				return fmt.Errorf("%w: %s has an empty segment", ErrInvalidAction, quote(action))
			}
			start = true
		case start:
			if c < 'a' || c > 'z' {
				return fmt.Errorf("%w: a segment of %s does not start with a lowercase letter", ErrInvalidAction, quote(action))
			}
			segments++
			start = false
		case (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_':
		default:
			return fmt.Errorf("%w: %s has a character outside [a-z0-9_.]", ErrInvalidAction, quote(action))
		}
	}
	if start {
		return fmt.Errorf("%w: %s ends with a dot", ErrInvalidAction, quote(action))
	}
	if segments < 2 {
		return fmt.Errorf("%w: %s has no dot (want namespace.verb)", ErrInvalidAction, quote(action))
	}
	return nil
}

// checkMetadata validates a metadata map as documented on [Event.Metadata].
func checkMetadata(md map[string]string) error {
	if len(md) > MaxMetadataKeys {
		return fmt.Errorf("%w: %d keys, at most %d allowed", ErrInvalidMetadata, len(md), MaxMetadataKeys)
	}
	for k, v := range md {
		if err := checkKey(k); err != nil {
			return err
		}
		if len(v) > MaxValueLen {
			return fmt.Errorf("%w: value of %q is %d bytes, at most %d allowed", ErrInvalidMetadata, k, len(v), MaxValueLen)
		}
		if !utf8.ValidString(v) {
			return fmt.Errorf("%w: value of %q is not valid UTF-8", ErrInvalidMetadata, k)
		}
		if strings.IndexByte(v, 0) >= 0 {
			return fmt.Errorf("%w: value of %q contains a NUL byte", ErrInvalidMetadata, k)
		}
	}
	return nil
}

// checkKey validates one metadata key: 1 to MaxKeyLen bytes of ASCII
// letters, digits, '_', '-' and '.', and no secret word.
func checkKey(k string) error {
	if k == "" {
		return fmt.Errorf("%w: empty key", ErrInvalidMetadata)
	}
	if len(k) > MaxKeyLen {
		return fmt.Errorf("%w: key %s is longer than %d bytes", ErrInvalidMetadata, quote(k), MaxKeyLen)
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return fmt.Errorf("%w: key %s has a character outside [A-Za-z0-9_.-]", ErrInvalidMetadata, quote(k))
		}
	}
	if w := secretWord(k); w != "" {
		return fmt.Errorf("%w: key %q contains %q", ErrSecretMetadata, k, w)
	}
	return nil
}

// secretWord returns the first secret word found in key, compared without
// regard to case or to the separators '_', '-' and '.', or "" if none. The
// key must already be ASCII.
func secretWord(key string) string {
	var buf [MaxKeyLen]byte
	folded := buf[:0]
	for i := 0; i < len(key) && len(folded) < len(buf); i++ {
		c := key[i]
		switch {
		case c == '_' || c == '-' || c == '.':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		folded = append(folded, c)
	}
	for _, w := range secretWords {
		if strings.Contains(string(folded), w) {
			return w
		}
	}
	return ""
}

// checkID validates an actor, subject or impersonator ID: at most MaxIDLen
// bytes of valid UTF-8 without control characters.
func checkID(field, id string) error {
	if len(id) > MaxIDLen {
		return fmt.Errorf("%w: %s is longer than %d bytes", ErrInvalidEvent, field, MaxIDLen)
	}
	if !utf8.ValidString(id) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalidEvent, field)
	}
	for _, r := range id {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: %s contains a control character", ErrInvalidEvent, field)
		}
	}
	return nil
}

// clean makes request-supplied text safe to store: invalid UTF-8 becomes
// U+FFFD, control characters (NUL, CR, LF and the rest) are dropped, and the
// result is cut to at most max bytes at a character boundary.
func clean(s string, max int) string {
	ok := len(s) <= max && utf8.ValidString(s)
	if ok {
		for _, r := range s {
			if unicode.IsControl(r) {
				ok = false
				break
			}
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if unicode.IsControl(r) {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > max {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// quote quotes s for an error message, cut to 64 bytes so that a huge
// input does not make a huge error.
func quote(s string) string {
	const limit = 64
	if len(s) <= limit {
		return fmt.Sprintf("%q", s)
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q...", s[:cut])
}
