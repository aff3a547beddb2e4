package apitoken_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sigra-go/sigra/token"
)

// FuzzBearerHeader: any Authorization header is answered without a panic,
// and only a token with a valid format, checksum and prefix reaches the
// store.
func FuzzBearerHeader(f *testing.F) {
	good, _ := token.NewAPIKey("sigrapat")
	at, _ := token.NewAPIKey("sigraat")
	for _, s := range []string{"", "Bearer", "Bearer ", "Bearer " + good, "bearer " + at, "Basic dXNlcjpwdw==",
		"Bearer " + good + " x", "Bearer\t" + good, "Bearer " + good[:len(good)-1] + "A", "Bearer sigrapat__", "Bearer \x00"} {
		f.Add(s)
	}
	a := newApp(f, options{})
	f.Fuzz(func(t *testing.T, header string) {
		before := a.St.lookups.Load()
		r := httptest.NewRequest("GET", "/api/whoami", nil)
		r.Header.Set("Authorization", header)
		_, _ = a.Tokens.Check(r)
		looked := a.St.lookups.Load() != before
		raw := ""
		if len(header) > 7 {
			raw = strings.TrimSpace(header[7:])
		}
		prefix, err := token.ParseAPIKey(raw)
		wellFormed := err == nil && (prefix == "sigrapat" || prefix == "sigraat")
		if looked && !wellFormed {
			t.Errorf("header %q reached the store", header)
		}
	})
}
