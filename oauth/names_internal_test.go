package oauth

import (
	"encoding/base64"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/sigra-go/sigra/internal/seal"
)

// checkNames fails unless every name of a is one trimmed line of valid
// UTF-8 of at most maxNameLen characters, without control characters.
func checkNames(t *testing.T, a *account) {
	t.Helper()
	for _, n := range []string{a.Name, a.GivenName, a.FamilyName} {
		if !utf8.ValidString(n) || utf8.RuneCountInString(n) > maxNameLen || strings.TrimSpace(n) != n ||
			strings.IndexFunc(n, unicode.IsControl) >= 0 {
			t.Fatalf("got name %q", n)
		}
	}
}

// Names from a provider are kept when they are names, and dropped when
// they are not one line of text of at most 100 characters; a full name is
// built from the parts when there is none.
func TestSetNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, given, family string
		want                account
	}{
		{"Ada Lovelace", "Ada", "Lovelace", account{Name: "Ada Lovelace", GivenName: "Ada", FamilyName: "Lovelace"}},
		{"", " Grace ", "Hopper", account{Name: "Grace Hopper", GivenName: "Grace", FamilyName: "Hopper"}},
		{"", "", "Hopper", account{Name: "Hopper", FamilyName: "Hopper"}},
		{"Evil\nName", "Ok", "", account{Name: "Ok", GivenName: "Ok"}},
		{strings.Repeat("é", 101), strings.Repeat("é", 100), "", account{Name: strings.Repeat("é", 100), GivenName: strings.Repeat("é", 100)}},
		{"bad \xff", "", "", account{}},
	} {
		var a account
		a.setNames(tc.name, tc.given, tc.family)
		if a != tc.want {
			t.Errorf("setNames(%q, %q, %q): got %+v, want %+v", tc.name, tc.given, tc.family, a, tc.want)
		}
	}
}

// FuzzAppleNames opens whatever a form_post's "user" field held, sealed
// for a state as the form_post route seals it, and reads the names: never
// a panic, only names as checkNames wants them; a value sealed for
// another state gives none.
func FuzzAppleNames(f *testing.F) {
	key, err := seal.GenerateKey("k1")
	if err != nil {
		f.Fatal(err)
	}
	keys, err := seal.ParseKeyring(key.Encode())
	if err != nil {
		f.Fatal(err)
	}
	o := &OAuth{keys: keys}
	for _, s := range []string{
		`{"name":{"firstName":"Grace","lastName":"Hopper"},"email":"grace@example.com"}`,
		`{"name":{"firstName":"` + strings.Repeat("x", 200) + `"}}`, `{"name":"x"}`, `null`, `{`, "\x00", "",
		`{"name":{"firstName":"a\u0000b","lastName":" \t"}}`,
	} {
		f.Add(s, "state-1")
	}
	f.Fuzz(func(t *testing.T, user, state string) {
		sealed, err := keys.Seal([]byte(user), appleUserAD(state))
		if err != nil {
			t.Fatal(err)
		}
		enc := base64.RawURLEncoding.EncodeToString(sealed)
		var a account
		o.appleNames(&a, enc, state)
		checkNames(t, &a)
		var other account
		o.appleNames(&other, enc, state+"x")
		if other != (account{}) {
			t.Fatalf("a user sealed for %q opened for another state: %+v", state, other)
		}
		var raw account
		o.appleNames(&raw, user, state) // not sealed at all
		checkNames(t, &raw)
	})
}
