package password

import (
	"context"
	_ "embed"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/sigra-go/sigra"
)

// Policy defaults and floors.
const (
	// DefaultMinLength is the default minimum length in characters, and the
	// smallest one a Policy accepts (NIST SP 800-63B). Where the password is
	// the only factor, SP 800-63B revision 4 asks for 15.
	DefaultMinLength = 8
	// DefaultMaxLength is the default maximum length in characters. A Policy
	// must accept at least 64.
	DefaultMaxLength = 256
	// DefaultMaxBytes is the default maximum length in bytes of the UTF-8
	// encoding, before and after normalization. It bounds the cost of
	// normalizing and hashing. A Policy must accept at least 256 (64
	// characters of up to four bytes).
	DefaultMaxBytes = 1024
)

// Policy decides whether a new password is acceptable, following NIST SP
// 800-63B: a minimum and maximum length, no composition rules, and refusal
// of common passwords, of passwords derived from context words, and
// optionally of passwords known from breaches. The zero value applies the
// defaults with no breach check. A Policy is safe for concurrent use if its
// Breach checker is.
type Policy struct {
	// MinLength is the minimum length in characters (Unicode code points
	// after NFKC normalization). Default and minimum 8. NIST SP 800-63B
	// revision 4 recommends 15 where the password is the only factor.
	MinLength int
	// MaxLength is the maximum length in characters. Default 256; at least
	// 64.
	MaxLength int
	// MaxBytes is the maximum length in bytes. Default 1024; at least 256.
	MaxBytes int
	// ContextWords are words specific to the service that a password must
	// not be built on, such as the product or company name. Words from the
	// Context passed to Check are added to them.
	ContextWords []string
	// Breach, if set, is asked whether a password appeared in a breach,
	// after the local rules pass. It is given the NFKC-normalized password.
	Breach BreachChecker
	// BreachFailOpen decides what happens when Breach fails (unreachable,
	// timeout, bad answer): true accepts the password (fail-open: a breach
	// service outage never blocks registration); false, the default, refuses
	// it with ReasonBreachCheckUnavailable (fail-closed: no password skips
	// the check).
	BreachFailOpen bool
}

// Context is what Check knows about the account a password is for.
type Context struct {
	// Email is the account's email address. Its local part, and the pieces
	// of it between punctuation, are context words.
	Email string
	// Words are other context words: the user's name, a username, ...
	Words []string
}

// Reason is a stable, machine-readable code saying why a password was
// refused. A form can key its message or translation on it.
type Reason string

// The reasons a password can be refused.
const (
	ReasonTooShort               Reason = "too_short"
	ReasonTooLong                Reason = "too_long"
	ReasonInvalidUTF8            Reason = "invalid_utf8"
	ReasonCommon                 Reason = "common"
	ReasonContainsContext        Reason = "contains_context"
	ReasonBreached               Reason = "breached"
	ReasonBreachCheckUnavailable Reason = "breach_check_unavailable"
)

// PolicyError is the error Check returns for a refused password. It never
// contains the password.
type PolicyError struct {
	// Reason is the stable code.
	Reason Reason
	// Message is a short English sentence for the user.
	Message string
	// Limit is the length limit that was crossed, in characters, for
	// ReasonTooShort and ReasonTooLong; zero otherwise.
	Limit int
	// Err is the underlying failure for ReasonBreachCheckUnavailable.
	Err error
}

// Error returns the reason code and message.
func (e *PolicyError) Error() string {
	s := "sigra/password: password refused (" + string(e.Reason) + "): " + e.Message
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns Err.
func (e *PolicyError) Unwrap() error { return e.Err }

// Check reports whether password is acceptable as a new password for the
// account described by c. It returns nil or a *PolicyError (use errors.As)
// naming the first rule broken, in this order: invalid UTF-8, length,
// common password, context words, breach. Invalid Policy fields give an
// error wrapping sigra.ErrConfig instead.
//
// The password is NFKC-normalized first, as Hash and Verify do, so lengths
// count the characters that are hashed; the blocklist and context checks
// also ignore case.
//
// Context words are the Policy's ContextWords, the Context's Words, and the
// email's local part with its pieces: "a.user+tag@example.com" gives
// "a.user+tag", "a", "user", "tag" and "ausertag". A password is refused
// when it equals a context word, or when it contains context words of at
// least three characters and what is left once they are removed is shorter
// than MinLength. So "Sigra2024!" is refused for a product called Sigra,
// while a long passphrase that happens to contain a name is not.
func (p Policy) Check(ctx context.Context, password string, c Context) error {
	r, err := p.resolve()
	if err != nil {
		return err
	}
	return r.check(ctx, password, c)
}

// resolve fills defaults and validates.
func (p Policy) resolve() (Policy, error) {
	if p.MinLength == 0 {
		p.MinLength = DefaultMinLength
	}
	if p.MaxLength == 0 {
		p.MaxLength = DefaultMaxLength
	}
	if p.MaxBytes == 0 {
		p.MaxBytes = DefaultMaxBytes
	}
	switch {
	case p.MinLength < DefaultMinLength:
		return p, fmt.Errorf("%w: password: Policy.MinLength %d below %d", sigra.ErrConfig, p.MinLength, DefaultMinLength)
	case p.MaxLength < 64:
		return p, fmt.Errorf("%w: password: Policy.MaxLength %d below 64", sigra.ErrConfig, p.MaxLength)
	case p.MaxLength < p.MinLength:
		return p, fmt.Errorf("%w: password: Policy.MaxLength %d below MinLength %d", sigra.ErrConfig, p.MaxLength, p.MinLength)
	case p.MaxBytes < 256:
		return p, fmt.Errorf("%w: password: Policy.MaxBytes %d below 256", sigra.ErrConfig, p.MaxBytes)
	}
	return p, nil
}

func (p Policy) tooLong() *PolicyError {
	return &PolicyError{Reason: ReasonTooLong, Limit: p.MaxLength,
		Message: fmt.Sprintf("Use at most %d characters.", p.MaxLength)}
}

// checkEncoding refuses what must not reach normalization: more than
// MaxBytes, or invalid UTF-8.
func (p Policy) checkEncoding(password string) error {
	if len(password) > p.MaxBytes {
		return p.tooLong()
	}
	if !utf8.ValidString(password) {
		return &PolicyError{Reason: ReasonInvalidUTF8, Message: "The password contains characters that are not valid text."}
	}
	return nil
}

func (p Policy) check(ctx context.Context, password string, c Context) error {
	if err := p.checkEncoding(password); err != nil {
		return err
	}
	n := norm.NFKC.String(password)
	length := utf8.RuneCountInString(n)
	switch {
	case length < p.MinLength:
		return &PolicyError{Reason: ReasonTooShort, Limit: p.MinLength,
			Message: fmt.Sprintf("Use at least %d characters.", p.MinLength)}
	case length > p.MaxLength || len(n) > p.MaxBytes:
		return p.tooLong()
	}
	folded := fold(n)
	if isCommon(folded) {
		return &PolicyError{Reason: ReasonCommon,
			Message: "This password is too common. Choose a less predictable one."}
	}
	if p.derivedFromContext(folded, c) {
		return &PolicyError{Reason: ReasonContainsContext,
			Message: "This password is too close to your email address, your name or the name of this service."}
	}
	if p.Breach != nil {
		count, err := p.Breach.BreachCount(ctx, n)
		switch {
		case err != nil && p.BreachFailOpen:
			return nil
		case err != nil:
			return &PolicyError{Reason: ReasonBreachCheckUnavailable, Err: err,
				Message: "The password could not be checked right now. Try again in a moment."}
		case count > 0:
			return &PolicyError{Reason: ReasonBreached,
				Message: "This password has appeared in a data breach. Choose a different one."}
		}
	}
	return nil
}

// fold is the form compared against the blocklist and context words: NFKC,
// then lower case. The blocklist generator applies the same steps.
func fold(s string) string { return strings.ToLower(norm.NFKC.String(s)) }

// minContainedWord is the shortest context word looked for inside a
// password; shorter ones only count when the password equals them.
const minContainedWord = 3

func (p Policy) derivedFromContext(folded string, c Context) bool {
	words := contextWords(p.ContextWords, c)
	rest, contained := folded, false
	for _, w := range words {
		if folded == w {
			return true
		}
		if utf8.RuneCountInString(w) >= minContainedWord && strings.Contains(rest, w) {
			contained = true
			rest = strings.ReplaceAll(rest, w, "")
		}
	}
	return contained && utf8.RuneCountInString(rest) < p.MinLength
}

// contextWords gathers the folded, non-empty context words, longest first
// so that removing a word cannot break up a longer one containing it.
func contextWords(service []string, c Context) []string {
	var words []string
	add := func(w string) {
		if w = strings.TrimSpace(fold(w)); w != "" {
			words = append(words, w)
		}
	}
	for _, w := range service {
		add(w)
	}
	for _, w := range c.Words {
		add(w)
	}
	if c.Email != "" {
		local := c.Email
		if i := strings.LastIndexByte(local, '@'); i >= 0 {
			local = local[:i]
		}
		add(local)
		pieces := strings.FieldsFunc(local, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		for _, piece := range pieces {
			add(piece)
		}
		if len(pieces) > 1 {
			add(strings.Join(pieces, ""))
		}
	}
	// Longest first; insertion sort is plenty for a handful of words.
	for i := 1; i < len(words); i++ {
		for j := i; j > 0 && len(words[j]) > len(words[j-1]); j-- {
			words[j], words[j-1] = words[j-1], words[j]
		}
	}
	return words
}

// commonPasswords is the blocklist: one folded password per line, sorted
// by byte value, each at least DefaultMinLength characters (shorter ones
// are refused by length anyway). See doc.go for its source and
// internal/blocklistgen for how it is made.
//
//go:generate go run ./internal/blocklistgen -o common-passwords.txt
//go:embed common-passwords.txt
var commonPasswords string

// isCommon reports whether folded is a line of the blocklist, by binary
// search over the embedded text itself (no index is built).
func isCommon(folded string) bool { return sortedLinesContain(commonPasswords, folded) }

// sortedLinesContain reports whether list, a sequence of '\n'-terminated
// lines sorted by byte value, has a line equal to s.
func sortedLinesContain(list, s string) bool {
	lo, hi := 0, len(list) // both at line starts
	for lo < hi {
		mid := lo + (hi-lo)/2
		start := lo + strings.LastIndexByte(list[lo:mid], '\n') + 1
		end := start + strings.IndexByte(list[start:hi], '\n')
		if end < start { // last line without '\n' (not produced by the generator)
			end = hi
		}
		switch line := list[start:end]; {
		case line == s:
			return true
		case line < s:
			lo = end + 1
		default:
			hi = start
		}
	}
	return false
}
