package kernel

import (
	"errors"
	"net/mail"
	"strings"

	"github.com/sigra-go/sigra/store"
)

// InvalidEmailMessage is the field message for input that is not an email
// address at all.
const InvalidEmailMessage = "Enter a valid email address, like name@example.com."

// ParseEmail validates an address typed into a form: a bare address (no
// display name), at most 254 bytes, with a domain that has a dot, and
// accepted by [store.CheckEmail] (no look-alike or invisible characters,
// no confusable mix of scripts, a valid IDNA domain). It returns the
// address trimmed of surrounding white space, as it is then stored and
// displayed, or "" and false. [EmailProblem] says why an address is
// refused.
func ParseEmail(s string) (string, bool) {
	addr, problem := parseEmail(s)
	return addr, problem == ""
}

// EmailProblem returns "" if [ParseEmail] accepts s, and otherwise the
// message to show beside the form field: [InvalidEmailMessage] for input
// that is not an address, or the message of the [store.EmailError] that
// [store.CheckEmail] returned (a look-alike character, mixed scripts, a
// domain that is not a valid name).
func EmailProblem(s string) string {
	_, problem := parseEmail(s)
	return problem
}

// LookupEmail validates an address typed into a form that looks an
// account up (sign-in, reset, sign-in link, resend): the syntax
// [ParseEmail] checks, without [store.CheckEmail]'s refusals, so that an
// account created before those refusals can still be reached. The lookup
// uses the address's key (store.NormalizeEmail), so a look-alike finds
// the account it folds onto, never another. Forms that give an account an
// address (registration, email change) use ParseEmail.
func LookupEmail(s string) (string, bool) {
	addr, problem := syntax(s)
	return addr, problem == ""
}

// parseEmail is ParseEmail returning the field message of a refusal.
func parseEmail(s string) (addr, problem string) {
	s, problem = syntax(s)
	if problem != "" {
		return "", problem
	}
	if err := store.CheckEmail(s); err != nil {
		var e *store.EmailError
		if errors.As(err, &e) && e.Message != "" {
			return "", e.Message
		}
		return "", InvalidEmailMessage
	}
	return s, ""
}

// syntax checks the form of an address: bare, at most 254 bytes, with a
// dot in its domain.
func syntax(s string) (addr, problem string) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 254 || strings.ContainsAny(s, "<>\"\r\n ") {
		return "", InvalidEmailMessage
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", InvalidEmailMessage
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || !strings.Contains(s[at:], ".") {
		return "", InvalidEmailMessage
	}
	return s, ""
}
