package store

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/net/idna"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// NewID returns a new UUIDv7 string: time-ordered, so rows created together
// sit together in an index. It panics only if the system's random source
// fails, as crypto/rand does.
func NewID() string {
	return uuid.Must(uuid.NewV7()).String()
}

// EmailKeyVersion is the version of the key [NormalizeEmail] computes.
// Adapters record the version their stored keys were computed with and
// recompute them when it is older (see [PlanEmailRekey]). Version 1 was
// [LegacyEmailKey]; version 2 is the current NormalizeEmail.
const EmailKeyVersion = 2

// NormalizeEmail returns the key of an address: the form that uniqueness is
// checked on and that every lookup by address uses (sign-in, reset, email
// change, reservations, limiter keys). Adapters store it beside the address
// as entered, which is what is displayed and mailed to.
//
// The key is built in this order: invisible characters (format
// characters, default-ignorable code points, variation selectors) are
// dropped and the whole address is NFKC-normalized and trimmed of white
// space; it is then split at its last '@'. The local part is NFKC
// normalized, case folded (golang.org/x/text/cases.Fold) and NFKC
// normalized again, repeatedly until it no longer changes, an
// approximation of Unicode's NFKC_Casefold: fullwidth letters, the Kelvin
// sign, decomposed (NFD) accents, ligatures and case differences all fold
// onto the plain form, and "ß" onto "ss". The domain becomes its IDNA
// ASCII form (golang.org/x/net/idna, lookup mapping: lower-case punycode),
// so "bücher.de" and "xn--bcher-kva.de" are one domain. A domain that is
// not a valid IDNA name is folded like a local part instead, so that any
// string has a key. Confusable mixes of scripts cannot be folded; they are
// refused by [CheckEmail].
//
// NormalizeEmail never fails and is idempotent: the key of a key is the
// key itself. It is safe for concurrent use.
func NormalizeEmail(email string) string {
	s := strings.TrimSpace(norm.NFKC.String(strings.Map(dropInvisible, email)))
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return foldText(s)
	}
	return foldText(s[:at]) + "@" + domainKey(s[at+1:])
}

// LegacyEmailKey returns the key of version 1 (NFC-normalized, trimmed and
// lower-cased), which addresses were stored with before [EmailKeyVersion]
// 2. Adapters use it for one thing only: a row that kept its version 1 key
// because its new key collided with another row's (see [PlanEmailRekey])
// is still found by its own address. Nothing else compares addresses with
// it.
func LegacyEmailKey(email string) string {
	return strings.ToLower(norm.NFC.String(strings.TrimSpace(email)))
}

// dropInvisible is a strings.Map function that drops the characters that
// display as nothing: format characters (Cf, such as zero-width spaces and
// bidirectional controls), other default-ignorable code points and
// variation selectors.
func dropInvisible(r rune) rune {
	if invisible(r) {
		return -1
	}
	return r
}

func invisible(r rune) bool {
	return r >= utf8.RuneSelf && (unicode.Is(unicode.Cf, r) ||
		unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) ||
		unicode.Is(unicode.Variation_Selector, r))
}

// foldText folds s as NFKC_Casefold does: invisible characters dropped,
// NFKC, case fold, NFKC, until a fixed point (a few rounds at most: each
// round only ever maps onto characters closer to the plain form).
func foldText(s string) string {
	for range 8 {
		t := strings.Map(dropInvisible, s)
		t = norm.NFKC.String(cases.Fold().String(norm.NFKC.String(t)))
		if t == s {
			break
		}
		s = t
	}
	return s
}

// domainIDNA is the IDNA profile of domains: lookup mapping (case and
// width folded), STD3 rules (letters, digits and hyphens), the bidi rule,
// non-transitional processing (ß stays ß) and DNS length limits. A
// profile is immutable and safe for concurrent use.
var domainIDNA = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.Transitional(false), idna.VerifyDNSLength(true))

// domainKey returns the domain's IDNA ASCII form, or when it has none the
// domain folded like a local part.
func domainKey(d string) string {
	if a, err := domainIDNA.ToASCII(d); err == nil {
		return a
	}
	f := foldText(d)
	if a, err := domainIDNA.ToASCII(f); err == nil {
		return a
	}
	return f
}

// ErrEmailRefused is wrapped by every error of [CheckEmail].
var ErrEmailRefused = errors.New("sigra/store: address refused")

// EmailReason says why [CheckEmail] refused an address, for programs (a
// field-level error code in an API answer).
type EmailReason string

// Reasons for refusing an address.
const (
	// EmailMalformed: not local@domain with both parts non-empty.
	EmailMalformed EmailReason = "malformed"
	// EmailBadCharacter: the address holds a character that is not a
	// letter, mark, digit, punctuation or symbol (a space, a control or
	// invisible character, an unassigned or private-use code point).
	EmailBadCharacter EmailReason = "bad_character"
	// EmailLookAlike: the address holds a compatibility character that
	// only looks like a plain one (a fullwidth letter, the Kelvin sign, a
	// ligature, a superscript digit).
	EmailLookAlike EmailReason = "look_alike"
	// EmailMixedScripts: letters of scripts that are not used together
	// (Latin with Cyrillic or Greek, say) in the local part or in one label
	// of the domain.
	EmailMixedScripts EmailReason = "mixed_scripts"
	// EmailBadDomain: the domain is not a valid IDNA domain name.
	EmailBadDomain EmailReason = "bad_domain"
)

// EmailError is the error of [CheckEmail]. It wraps [ErrEmailRefused].
type EmailError struct {
	// Email is the address as given.
	Email string
	// Reason says what is wrong.
	Reason EmailReason
	// Message is one sentence for the person who typed the address, fit to
	// show beside the form field.
	Message string
}

// Error returns the reason and the message, after the address.
func (e *EmailError) Error() string {
	return fmt.Sprintf("sigra/store: address %q refused (%s): %s", e.Email, e.Reason, e.Message)
}

// Unwrap returns [ErrEmailRefused].
func (e *EmailError) Unwrap() error { return ErrEmailRefused }

// CheckEmail refuses an address that could pass for another one on screen,
// or whose domain is not a valid domain name. It returns nil or an
// [*EmailError] that wraps [ErrEmailRefused]. It checks, in order:
//
//   - the address has one '@', between a non-empty local part and a
//     non-empty domain, and is valid UTF-8 ([EmailMalformed]);
//   - every character is a letter, mark, digit, punctuation or symbol, and
//     not an invisible one ([EmailBadCharacter]);
//   - no character changes under NFKC on its own: no fullwidth letters,
//     Kelvin or Ohm signs, ligatures or superscripts ([EmailLookAlike]).
//     Decomposed accents (NFD) are accepted: they are the same text, and
//     share the precomposed form's key;
//   - the domain is a valid IDNA name (see [NormalizeEmail]) without a
//     trailing dot ([EmailBadDomain]); an address literal such as
//     [192.0.2.1] is not one;
//   - the letters of the local part, and of each label of the domain, are
//     of one script, or of scripts written together: Latin with Han,
//     Hiragana and Katakana (Japanese), with Han and Bopomofo (Chinese), or
//     with Han and Hangul (Korean). Digits, punctuation, symbols and marks
//     belong to no script. Latin mixed with Cyrillic or Greek, or any other
//     mix, is [EmailMixedScripts].
//
// It does not trim the address, check its length or parse its syntax
// (quoted local parts, comments); form input goes through a parser first.
// A whole address written in one script that looks like another (all
// Cyrillic letters shaped like Latin ones) is accepted: it has a different
// key, and telling it apart needs confusable tables. CheckEmail is safe for
// concurrent use.
func CheckEmail(email string) error {
	refuse := func(reason EmailReason, msg string) error {
		return &EmailError{Email: email, Reason: reason, Message: msg}
	}
	at := strings.IndexByte(email, '@')
	if at <= 0 || at == len(email)-1 || strings.Count(email, "@") > 1 || !utf8.ValidString(email) {
		return refuse(EmailMalformed, "Enter a valid email address, like name@example.com.")
	}
	local, domain := email[:at], email[at+1:]
	for _, r := range email {
		if !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S) || invisible(r) ||
			unicode.Is(unicode.Noncharacter_Code_Point, r) {
			return refuse(EmailBadCharacter, "The address contains a character that is not allowed, such as a space or an invisible character.")
		}
		if r >= utf8.RuneSelf && norm.NFKC.String(string(r)) != string(r) {
			return refuse(EmailLookAlike, "The address contains a character that only looks like an ordinary one, such as a fullwidth letter. Type it with ordinary characters.")
		}
	}
	ascii, err := domainIDNA.ToASCII(domain)
	if err != nil || strings.HasSuffix(domain, ".") {
		return refuse(EmailBadDomain, "The part after @ is not a valid domain name.")
	}
	if mix := mixedScripts(local); mix != "" {
		return refuse(EmailMixedScripts, "The part before @ mixes letters of different alphabets ("+mix+").")
	}
	// The labels as displayed: punycode ones decoded.
	uni, err := domainIDNA.ToUnicode(ascii)
	if err != nil {
		return refuse(EmailBadDomain, "The part after @ is not a valid domain name.")
	}
	for label := range strings.SplitSeq(uni, ".") {
		if mix := mixedScripts(label); mix != "" {
			return refuse(EmailMixedScripts, "The part after @ mixes letters of different alphabets ("+mix+").")
		}
	}
	return nil
}

// mixedScripts returns "" if the letters of s are of one script or of
// scripts written together, and otherwise the scripts, as "Cyrillic and
// Latin".
func mixedScripts(s string) string {
	var seen []string
	for _, r := range s {
		name := scriptOf(r)
		if name != "" && !slices.Contains(seen, name) {
			seen = append(seen, name)
		}
	}
	if len(seen) < 2 {
		return ""
	}
	for _, together := range [][]string{
		{"Latin", "Han", "Hiragana", "Katakana"},
		{"Latin", "Han", "Bopomofo"},
		{"Latin", "Han", "Hangul"},
	} {
		if !slices.ContainsFunc(seen, func(n string) bool { return !slices.Contains(together, n) }) {
			return ""
		}
	}
	slices.Sort(seen)
	return strings.Join(seen[:len(seen)-1], ", ") + " and " + seen[len(seen)-1]
}

// scriptOf returns the name of r's script from the unicode package's
// tables, or "" for characters of no script (Common and Inherited: digits,
// punctuation, symbols, combining marks).
func scriptOf(r rune) string {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' {
			return "Latin"
		}
		return ""
	}
	if unicode.Is(unicode.Common, r) || unicode.Is(unicode.Inherited, r) {
		return ""
	}
	// The scripts of most addresses first, then the rest.
	for _, name := range []string{"Latin", "Cyrillic", "Greek", "Han", "Hiragana", "Katakana", "Hangul", "Arabic", "Hebrew"} {
		if unicode.Is(unicode.Scripts[name], r) {
			return name
		}
	}
	for name, table := range unicode.Scripts {
		if name != "Common" && name != "Inherited" && unicode.Is(table, r) {
			return name
		}
	}
	return ""
}

// EmailKeyRow is one stored address as a rekeying reads it: the ID of its
// row (a user's ID, or the user ID of an address reservation), the address
// as entered, and the key stored beside it.
type EmailKeyRow struct {
	ID    string
	Email string
	Key   string
}

// EmailKeyCollision is a set of stored addresses that the current
// [NormalizeEmail] folds onto one key, where rows of the same table hold
// them: merging the accounts is not the store's call, so they keep their
// stored keys (see [PlanEmailRekey]) and an operator decides, for example
// by changing one user's address.
type EmailKeyCollision struct {
	// Key is the current key the addresses share.
	Key string
	// Rows are the rows that would share Key, with the keys they keep, in
	// ID order. A row whose stored key already is Key is among them.
	Rows []EmailKeyRow
}

// PlanEmailRekey decides which rows of one table (users, or address
// reservations) move to the key the current [NormalizeEmail] gives their
// address. Adapters call it when the key version they recorded is older
// than [EmailKeyVersion], with:
//
//   - stale: the rows whose stored Key differs from NormalizeEmail(Email)
//     (other rows given here are ignored);
//   - holders: every row whose stored Key is the new key of a stale row,
//     stale or not (the same row may be in both).
//
// It returns the moves, the stale rows with Key set to their new key, in
// ID order, and the collisions. A stale row does not move when its new key
// would be shared with another row that ends up with the same key: another
// stale row with the same new key, a row that already stores it and stays,
// or a row that keeps its old key because of a collision of its own. Such
// rows all keep their stored keys and are reported, so no two rows ever
// end with one key and no account is merged. The moves may form chains and
// cycles (one row taking the key another leaves); an adapter applies them
// in one transaction, moving the rows to unique temporary keys first when
// its unique index is checked row by row.
//
// PlanEmailRekey on a table that was rekeyed already returns no moves and
// the collisions that remain, which is how adapters report them.
func PlanEmailRekey(stale, holders []EmailKeyRow) (moves []EmailKeyRow, collisions []EmailKeyCollision) {
	next := map[string]string{} // stale row ID -> its new key
	var rows []EmailKeyRow
	for _, r := range stale {
		if _, dup := next[r.ID]; dup {
			continue
		}
		if k := NormalizeEmail(r.Email); k != r.Key {
			next[r.ID] = k
			rows = append(rows, r)
		}
	}
	slices.SortFunc(rows, func(a, b EmailKeyRow) int { return strings.Compare(a.ID, b.ID) })
	holder := map[string]EmailKeyRow{} // stored key -> row storing it
	for _, h := range holders {
		holder[h.Key] = h
	}
	for _, r := range rows {
		holder[r.Key] = r
	}

	kept := map[string]bool{} // stale rows that keep their stored key
	for {
		count := map[string]int{}
		for _, r := range rows {
			if !kept[r.ID] {
				count[next[r.ID]]++
			}
		}
		changed := false
		for _, r := range rows {
			if kept[r.ID] {
				continue
			}
			k := next[r.ID]
			h, held := holder[k]
			_, moving := next[h.ID]
			stays := held && h.ID != r.ID && (!moving || kept[h.ID])
			if count[k] > 1 || stays {
				kept[r.ID] = true
				changed = true
			}
		}
		if !changed {
			break
		}
	}

	byKey := map[string][]EmailKeyRow{}
	var keys []string
	for _, r := range rows {
		k := next[r.ID]
		if !kept[r.ID] {
			moves = append(moves, EmailKeyRow{ID: r.ID, Email: r.Email, Key: k})
			continue
		}
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], r)
	}
	slices.Sort(keys)
	for _, k := range keys {
		group := byKey[k]
		if h, ok := holder[k]; ok {
			if _, moving := next[h.ID]; (!moving || kept[h.ID]) && !slices.ContainsFunc(group, func(r EmailKeyRow) bool { return r.ID == h.ID }) {
				group = append(group, h)
			}
		}
		slices.SortFunc(group, func(a, b EmailKeyRow) int { return strings.Compare(a.ID, b.ID) })
		collisions = append(collisions, EmailKeyCollision{Key: k, Rows: group})
	}
	return moves, collisions
}
