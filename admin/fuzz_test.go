package admin

import (
	"net/url"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/sigra-go/sigra/store"
)

// FuzzReadFilter: whatever query string a client sends, the users list's
// filter reader never panics, accepts only known states and valid text
// within bounds, and a filter it accepts survives the round trip through
// the address the list links to.
func FuzzReadFilter(f *testing.F) {
	for _, s := range []string{"", "q=alice&state=locked", "state=sleeping", "two_factor=maybe", "q=%ff", "after=u", "org=acme&passkeys=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		got, _, fields := readFilter(q)
		if len(fields) > 0 {
			return
		}
		if got.State != "" && !slices.Contains(store.UserStates, store.UserState(got.State)) {
			t.Fatalf("accepted state %q", got.State)
		}
		for _, s := range []string{got.Q, got.Org} {
			if len(s) > maxSearch || !utf8.ValidString(s) {
				t.Fatalf("accepted %q", s)
			}
		}
		again, _, fields := readFilter(filterValues(got, true))
		if len(fields) > 0 || again != got {
			t.Fatalf("round trip: got %+v (%v), want %+v", again, fields, got)
		}
	})
}
