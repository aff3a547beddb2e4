package store_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sigra-go/sigra/store"
)

func TestNormalizeEmail(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"  User@Example.COM ", "user@example.com"},
		{"kim@example.com", "kim@example.com"},
		// Look-alikes of kim@example.com fold onto it.
		{"\u212Aim@example.com", "kim@example.com"},                                          // KELVIN SIGN
		{"ｋｉｍ@example.com", "kim@example.com"},                                               // fullwidth letters
		{"ＫＩＭ@example.com", "kim@example.com"},                                               // fullwidth capitals
		{"kim@ｅｘａｍｐｌｅ．ｃｏｍ", "kim@example.com"},                                               // fullwidth domain
		{"k\u200Bim@example.com", "kim@example.com"},                                         // zero-width space
		{"k\u00ADi\u2060m@exa\u00ADmple.com", "kim@example.com"},                             // soft hyphen, word joiner
		{"kim\uFE0F@example.com", "kim@example.com"},                                         // variation selector
		{"\u202Ekim@example.com", "kim@example.com"},                                         // bidi override
		{"kim＠example.com", "kim@example.com"},                                               // fullwidth @
		{"\uFB01nn@example.com", "finn@example.com"},                                         // ﬁ ligature
		{"e\u0301lise@example.com", "élise@example.com"},                                     // NFD
		{"ÉLISE@EXAMPLE.COM", "élise@example.com"},                                           // precomposed, upper case
		{"Straße@example.com", "strasse@example.com"},                                        // full case folding
		{"ΟΔΥΣΣΕΥΣ@example.com", "οδυσσευσ@example.com"},                                     // final sigma
		{"οδυσσευς@example.com", "οδυσσευσ@example.com"},                                     // final sigma
		{"\u0130x@example.com", "i\u0307x@example.com"},                                      // İ folds to i + dot
		{"kim@Bücher.DE", "kim@xn--bcher-kva.de"},                                            // IDNA
		{"kim@xn--bcher-kva.de", "kim@xn--bcher-kva.de"},                                     // already ASCII
		{"kim@XN--BCHER-KVA.DE", "kim@xn--bcher-kva.de"},                                     // ASCII, upper case
		{"kim@straße.de", "kim@xn--strae-oqa.de"},                                            // non-transitional: ß stays in domains
		{"кim@example.com", "кim@example.com"},                                               // Cyrillic к: no fold (CheckEmail refuses it)
		{"kim@exa_mple.COM", "kim@exa_mple.com"},                                             // not a valid IDNA name: folded
		{"kim@[192.0.2.1]", "kim@[192.0.2.1]"},                                               // an address literal
		{"a@b@Example.com", "a@b@example.com"},                                               // the last @ splits
		{"no-at-sign", "no-at-sign"},                                                         // any string has a key
		{"", ""},                                                                             //
		{"\xff@example.com", "\uFFFD@example.com"},                                           // invalid UTF-8
		{"\u00A0kim@example.com\u3000", "kim@example.com"},                                   // NBSP, ideographic space
		{"Ｋim@ex\u200Dample.com", "kim@example.com"},                                         // mixed
		{"user+tag@sub.Example.co.uk", "user+tag@sub.example.co.uk"},                         //
		{"山田@例え.jp", "山田@xn--r8jz45g.jp"},                                                    //
		{"ИВАН@ПРИМЕР.РФ", "иван@xn--e1afmkfd.xn--p1ai"},                                     //
		{"\u3164kim@example.com", "kim@example.com"},                                         // Hangul filler
		{"\uFFA0kim@example.com", "kim@example.com"},                                         // halfwidth Hangul filler
		{"kim@example.com.", "kim@example.com."},                                             //
		{"KIM@Ex\u0301ample.com", "kim@xn--example-uge.com"},                                 // combining mark in the domain
		{strings.Repeat("a", 70) + "@example.com", strings.Repeat("a", 70) + "@example.com"}, // no length rule
	}
	for _, tt := range tests {
		got := store.NormalizeEmail(tt.in)
		if got != tt.want {
			t.Errorf("NormalizeEmail(%q): got %q, want %q", tt.in, got, tt.want)
		}
		if again := store.NormalizeEmail(got); again != got {
			t.Errorf("NormalizeEmail(NormalizeEmail(%q)): got %q, want %q (idempotent)", tt.in, again, got)
		}
	}
}

func TestLegacyEmailKey(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		" User@Example.COM ":    "user@example.com",
		"e\u0301lise@Ex.com":    "élise@ex.com",
		"Straße@example.com":    "straße@example.com",
		"ｋｉｍ@example.com":       "ｋｉｍ@example.com",
		"kim@Bücher.de":         "kim@bücher.de",
		"\u212Aim@example.com ": "kim@example.com",
	} {
		if got := store.LegacyEmailKey(in); got != want {
			t.Errorf("LegacyEmailKey(%q): got %q, want %q", in, got, want)
		}
	}
}

func TestCheckEmail(t *testing.T) {
	t.Parallel()
	valid := []string{
		"kim@example.com",
		"KIM@EXAMPLE.COM",
		"kim.o'hara+tag@sub.example.co.uk",
		"élise@example.com",
		"e\u0301lise@example.com", // NFD: the same text as élise
		"straße@example.com",
		"иван@пример.рф",            // Cyrillic throughout
		"δοκιμή@example.gr",         // Greek
		"山田太郎@example.jp",           // Han
		"yamada.たろう@example.jp",     // Latin and Hiragana
		"yamada太郎たろうタロウ@example.jp", // Latin, Han, Hiragana and Katakana
		"kim김@example.kr",           // Latin and Hangul
		"wang王ㄅ@example.tw",         // Latin, Han and Bopomofo
		"user123@例え.jp",
		"kim@bücher.de",
		"kim@xn--bcher-kva.de",
		"kim@straße.de",
		"a1-b_c@1.example",
		"ivan.2024@пример.рф", // scripts of the local part and of the domain are checked apart
		"user@example",
	}
	for _, e := range valid {
		if err := store.CheckEmail(e); err != nil {
			t.Errorf("CheckEmail(%q): got %v, want nil", e, err)
		}
	}
	refused := []struct {
		email  string
		reason store.EmailReason
	}{
		{"", store.EmailMalformed},
		{"kim", store.EmailMalformed},
		{"@example.com", store.EmailMalformed},
		{"kim@", store.EmailMalformed},
		{"\xff@example.com", store.EmailMalformed},
		{"k im@example.com", store.EmailBadCharacter},
		{" kim@example.com", store.EmailBadCharacter},
		{"k\u200Bim@example.com", store.EmailBadCharacter},
		{"k\u00A0im@example.com", store.EmailBadCharacter},
		{"\u202Ekim@example.com", store.EmailBadCharacter},
		{"kim\uFE0F@example.com", store.EmailBadCharacter},
		{"k\x00im@example.com", store.EmailBadCharacter},
		{"k\tim@example.com", store.EmailBadCharacter},
		{"k\uE000im@example.com", store.EmailBadCharacter}, // private use
		{"k\U000E0001im@example.com", store.EmailBadCharacter},
		{"\u3164kim@example.com", store.EmailBadCharacter}, // Hangul filler
		{"kim@exa\u00ADmple.com", store.EmailBadCharacter},
		{"k\uFFFFim@example.com", store.EmailBadCharacter},
		{"\u212Aim@example.com", store.EmailLookAlike},
		{"ｋｉｍ@example.com", store.EmailLookAlike},
		{"kim@ｅｘａｍｐｌｅ．ｃｏｍ", store.EmailLookAlike},
		{"\uFB01nn@example.com", store.EmailLookAlike},
		{"kim\u00B2@example.com", store.EmailLookAlike},
		{"\u2126mega@example.com", store.EmailLookAlike}, // OHM SIGN
		{"kim＠example.com", store.EmailMalformed},        // no @ at all
		{"a＠b@example.com", store.EmailLookAlike},
		{"kim@xn--bcher-kva.xn--exmple-4nf", store.EmailMixedScripts},
		{"кim@example.com", store.EmailMixedScripts},    // Cyrillic к among Latin letters
		{"pаypal@example.com", store.EmailMixedScripts}, // Cyrillic а
		{"ΑΒc@example.com", store.EmailMixedScripts},    // Greek and Latin
		{"иванδ@example.com", store.EmailMixedScripts},  // Cyrillic and Greek
		{"kim김и@example.kr", store.EmailMixedScripts},   // Hangul, Latin and Cyrillic
		{"たろう김@example.jp", store.EmailMixedScripts},    // Hiragana and Hangul
		{"kim@exаmple.com", store.EmailMixedScripts},    // Cyrillic а in the domain
		{"kim@xn--exmple-4nf.com", store.EmailMixedScripts},
		{"kim@exa_mple.com", store.EmailBadDomain},
		{"kim@[192.0.2.1]", store.EmailBadDomain},
		{"kim@example.com.", store.EmailBadDomain},
		{"kim@a..b", store.EmailBadDomain},
		{"kim@.example.com", store.EmailBadDomain},
		{"kim@-example.com", store.EmailBadDomain},
		{"kim@xn--zz.de", store.EmailBadDomain},
		{"kim@" + strings.Repeat("a", 64) + ".com", store.EmailBadDomain},
		{"a@b@example.com", store.EmailMalformed},
	}
	for _, tt := range refused {
		err := store.CheckEmail(tt.email)
		var e *store.EmailError
		if !errors.As(err, &e) || !errors.Is(err, store.ErrEmailRefused) {
			t.Errorf("CheckEmail(%q): got %v, want an *EmailError wrapping ErrEmailRefused", tt.email, err)
			continue
		}
		if e.Reason != tt.reason || e.Email != tt.email || e.Message == "" {
			t.Errorf("CheckEmail(%q): got (%q, %q, %q), want reason %q, the address and a message", tt.email, e.Reason, e.Email, e.Message, tt.reason)
		}
	}
}

// The mixed-script refusal names the scripts, in a stable order.
func TestCheckEmailMessage(t *testing.T) {
	t.Parallel()
	err := store.CheckEmail("кim@example.com")
	var e *store.EmailError
	if !errors.As(err, &e) {
		t.Fatalf("CheckEmail: got %v, want an *EmailError", err)
	}
	if want := "The part before @ mixes letters of different alphabets (Cyrillic and Latin)."; e.Message != want {
		t.Errorf("Message: got %q, want %q", e.Message, want)
	}
	if !strings.HasPrefix(err.Error(), "sigra/store: ") || !strings.Contains(err.Error(), `"кim@example.com"`) {
		t.Errorf("Error(): got %q, want the package prefix and the quoted address", err.Error())
	}
}

// FuzzNormalizeEmail: the key never panics, is valid UTF-8, is its own key,
// and does not change when ASCII letters are upper-cased or made
// fullwidth.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{
		"kim@example.com", "\u212Aim@example.com", "ｋｉｍ@ｅｘａｍｐｌｅ．ｃｏｍ", "e\u0301lise@example.com",
		"Straße@straße.de", "\u0130x@Bücher.DE", "a＠b@c", "x＠bücher", "\uFFA0@\u3164", "\xff\xfe@", "@", "",
		"ǅ@ǅ.example", "\u1E9E@x.com", "ﬃ@ﬃ.com", "\u0345@\u0345", "a@xn--", "a@xn--bcher-kva..de", "\u00A0@\u00A0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := store.NormalizeEmail(s)
		if !utf8.ValidString(k) {
			t.Fatalf("NormalizeEmail(%q) = %q: invalid UTF-8", s, k)
		}
		if again := store.NormalizeEmail(k); again != k {
			t.Fatalf("NormalizeEmail(%q) = %q, but NormalizeEmail(%q) = %q", s, k, k, again)
		}
		if up := store.NormalizeEmail(asciiUpper(s)); up != k {
			t.Fatalf("%q: key %q, but the key of its ASCII upper case is %q", s, k, up)
		}
		if wide := store.NormalizeEmail(toFullwidth(s)); wide != k {
			t.Fatalf("%q: key %q, but the key of its fullwidth form is %q", s, k, wide)
		}
	})
}

// FuzzCheckEmail: CheckEmail never panics and answers nil or an
// *EmailError with a reason and a message; an accepted address has a key
// whose domain is ASCII, and every look-alike it folds from shares that
// key.
func FuzzCheckEmail(f *testing.F) {
	for _, s := range []string{"kim@example.com", "кim@example.com", "\u212Aim@example.com", "kim@bücher.de", "a@[1.2.3.4]", "山田@例え.jp", "@", "a@b@c.d", "\xff@x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := store.CheckEmail(s)
		if err != nil {
			var e *store.EmailError
			if !errors.As(err, &e) || !errors.Is(err, store.ErrEmailRefused) || e.Reason == "" || e.Message == "" || e.Email != s {
				t.Fatalf("CheckEmail(%q): got %#v", s, err)
			}
			return
		}
		k := store.NormalizeEmail(s)
		at := strings.LastIndexByte(k, '@')
		if at < 0 {
			t.Fatalf("accepted %q, key %q has no @", s, k)
		}
		for _, r := range k[at+1:] {
			if r >= utf8.RuneSelf || 'A' <= r && r <= 'Z' {
				t.Fatalf("accepted %q, key %q: domain not lower-case ASCII", s, k)
			}
		}
		if wide := toFullwidth(s); store.NormalizeEmail(wide) != k {
			t.Fatalf("fullwidth form %q of %q: key %q, want %q", wide, s, store.NormalizeEmail(wide), k)
		}
	})
}

// asciiUpper upper-cases the ASCII letters of s only.
func asciiUpper(s string) string {
	return strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, s)
}

// toFullwidth replaces ASCII letters and digits with their fullwidth forms.
func toFullwidth(s string) string {
	return strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' {
			return r - 0x21 + 0xFF01
		}
		return r
	}, s)
}

func TestPlanEmailRekey(t *testing.T) {
	t.Parallel()
	row := func(id, email, key string) store.EmailKeyRow {
		return store.EmailKeyRow{ID: id, Email: email, Key: key}
	}
	tests := []struct {
		name       string
		stale      []store.EmailKeyRow
		holders    []store.EmailKeyRow
		moves      []store.EmailKeyRow
		collisions []store.EmailKeyCollision
	}{
		{
			name: "nothing stale",
			stale: []store.EmailKeyRow{
				row("1", "kim@example.com", "kim@example.com"),
			},
		},
		{
			name:  "moves",
			stale: []store.EmailKeyRow{row("2", "kim@Bücher.de", "kim@bücher.de"), row("1", "ｋim@example.com", "ｋim@example.com")},
			moves: []store.EmailKeyRow{row("1", "ｋim@example.com", "kim@example.com"), row("2", "kim@Bücher.de", "kim@xn--bcher-kva.de")},
		},
		{
			name:    "held by a current row",
			stale:   []store.EmailKeyRow{row("1", "Straße@example.com", "straße@example.com")},
			holders: []store.EmailKeyRow{row("2", "strasse@example.com", "strasse@example.com")},
			collisions: []store.EmailKeyCollision{{Key: "strasse@example.com", Rows: []store.EmailKeyRow{
				row("1", "Straße@example.com", "straße@example.com"), row("2", "strasse@example.com", "strasse@example.com"),
			}}},
		},
		{
			name: "two stale rows with one new key",
			stale: []store.EmailKeyRow{
				row("b", "Straße@example.com", "straße@example.com"),
				row("a", "Stra\u017F\u017Fe@example.com", "straſſe@example.com"),
				row("c", "ok@Bücher.de", "ok@bücher.de"),
			},
			moves: []store.EmailKeyRow{row("c", "ok@Bücher.de", "ok@xn--bcher-kva.de")},
			collisions: []store.EmailKeyCollision{{Key: "strasse@example.com", Rows: []store.EmailKeyRow{
				row("a", "Stra\u017F\u017Fe@example.com", "straſſe@example.com"), row("b", "Straße@example.com", "straße@example.com"),
			}}},
		},
		{
			// X leaves the key W takes: both move.
			name: "chain",
			stale: []store.EmailKeyRow{
				row("w", "ＩＸ@example.com", "ｉｘ@example.com"),
				row("x", "\u0130x@example.com", "ix@example.com"),
			},
			holders: []store.EmailKeyRow{row("x", "\u0130x@example.com", "ix@example.com")},
			moves: []store.EmailKeyRow{
				row("w", "ＩＸ@example.com", "ix@example.com"),
				row("x", "\u0130x@example.com", "i\u0307x@example.com"),
			},
		},
		{
			name: "swap",
			stale: []store.EmailKeyRow{
				row("a", "a@example.com", "b@example.com"),
				row("b", "b@example.com", "a@example.com"),
			},
			holders: []store.EmailKeyRow{row("a", "a@example.com", "b@example.com"), row("b", "b@example.com", "a@example.com")},
			moves: []store.EmailKeyRow{
				row("a", "a@example.com", "a@example.com"),
				row("b", "b@example.com", "b@example.com"),
			},
		},
		{
			// C keeps its old key because of H; D's new key is C's old key,
			// so D keeps its own too.
			name: "cascade",
			stale: []store.EmailKeyRow{
				row("c", "Straße@example.com", "q@example.com"),
				row("d", "Q@example.com", "old-d"),
			},
			holders: []store.EmailKeyRow{row("h", "strasse@example.com", "strasse@example.com"), row("c", "Straße@example.com", "q@example.com")},
			collisions: []store.EmailKeyCollision{
				{Key: "q@example.com", Rows: []store.EmailKeyRow{row("c", "Straße@example.com", "q@example.com"), row("d", "Q@example.com", "old-d")}},
				{Key: "strasse@example.com", Rows: []store.EmailKeyRow{row("c", "Straße@example.com", "q@example.com"), row("h", "strasse@example.com", "strasse@example.com")}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			moves, collisions := store.PlanEmailRekey(tt.stale, tt.holders)
			if !slices.Equal(moves, tt.moves) {
				t.Errorf("moves: got %v, want %v", moves, tt.moves)
			}
			if fmt.Sprint(collisions) != fmt.Sprint(tt.collisions) {
				t.Errorf("collisions: got %v, want %v", collisions, tt.collisions)
			}
			// Applied, the plan leaves every key unique.
			final := map[string]string{}
			for _, r := range append(slices.Clone(tt.holders), tt.stale...) {
				final[r.ID] = r.Key
			}
			for _, m := range moves {
				final[m.ID] = m.Key
			}
			seen := map[string]string{}
			for id, k := range final {
				if other, dup := seen[k]; dup {
					t.Errorf("rows %s and %s both end with key %q", id, other, k)
				}
				seen[k] = id
			}
		})
	}
}

// Addresses that look alike share one key, so the second is taken; mixed
// scripts are refused before they reach the store.
func ExampleCheckEmail() {
	fmt.Println(store.NormalizeEmail("\u212Aim@example.com") == store.NormalizeEmail("kim@example.com"))
	fmt.Println(store.NormalizeEmail("kim@Bücher.DE"))
	var e *store.EmailError
	if err := store.CheckEmail("кim@example.com"); errors.As(err, &e) {
		fmt.Println(e.Reason, e.Message)
	}
	fmt.Println(store.CheckEmail("kim@bücher.de"))
	// Output:
	// true
	// kim@xn--bcher-kva.de
	// mixed_scripts The part before @ mixes letters of different alphabets (Cyrillic and Latin).
	// <nil>
}
