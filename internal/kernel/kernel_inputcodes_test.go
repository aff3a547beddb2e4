package kernel_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sigra-go/sigra/internal/kernel"
)

// TestRefusal: Refusal gives back the refusal of ReadInput with its code,
// field and field messages, wrapped or not; any other error is a body
// that could not be read.
func TestRefusal(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	h.k.Forms(map[string]kernel.Fields{"POST /revoke": {"id": kernel.Text}})
	var errs []error
	mux := http.NewServeMux()
	h.k.Handle(mux, http.MethodPost, "/revoke", func(w http.ResponseWriter, r *http.Request) {
		_, err := kernel.ReadInput(r)
		errs = append(errs, err)
	})
	for _, tc := range []struct {
		name, body, code, field string
	}{
		{"unknown field", `{"id":"x","all":true}`, kernel.CodeUnknownField, "all"},
		{"wrong type", `{"id":5}`, kernel.CodeInvalidType, "id"},
		{"invalid UTF-8", "{\"id\":\"\xff\"}", kernel.CodeInvalidText, "id"},
		{"not JSON", `{"id":`, kernel.CodeInvalidInput, ""},
	} {
		errs = nil
		r := httptest.NewRequest("POST", h.k.Path("/revoke"), strings.NewReader(tc.body))
		r.Header.Set("Content-Type", "application/json")
		mux.ServeHTTP(httptest.NewRecorder(), r)
		if len(errs) != 1 || errs[0] == nil {
			t.Fatalf("%s: got the errors %v of ReadInput, want one", tc.name, errs)
		}
		for _, e := range []error{errs[0], fmt.Errorf("read: %w", errs[0])} {
			got := kernel.Refusal(e)
			if got.Code != tc.code || got.Field != tc.field || got.Message == "" {
				t.Errorf("%s: got %+v, want code %q at %q with a message", tc.name, got, tc.code, tc.field)
			}
			if tc.field != "" && got.Fields[tc.field] == "" {
				t.Errorf("%s: got fields %v, want a message at %q", tc.name, got.Fields, tc.field)
			}
			if !errors.Is(got, kernel.ErrBadInput) {
				t.Errorf("%s: got %v, want it to wrap ErrBadInput", tc.name, got)
			}
		}
	}
	var none *kernel.InputError
	for _, e := range []error{errors.New("something else"), none} {
		if got := kernel.Refusal(e); got == nil || got.Code != kernel.CodeInvalidInput || got.Field != "" || got.Fields != nil || got.Message == "" {
			t.Errorf("Refusal(%#v): got %+v, want the refusal of an unreadable body", e, got)
		}
	}
}
