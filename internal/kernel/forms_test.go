package kernel_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/sigra-go/sigra/internal/kernel"
	"github.com/sigra-go/sigra/internal/web"
)

// TestHandleCarriesSchema: a route registered with Handle reads its body
// against the schema given to Forms for "METHOD path"; a route without
// one reads every field; BadInput and BadForm answer ReadInput's error
// with 400, its code and the message at the field.
func TestHandleCarriesSchema(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{prefix: "/auth"})
	h.k.Forms(map[string]kernel.Fields{
		"POST /thing": {"name": kernel.Text, "keep": kernel.Bool},
		"POST /empty": nil, // declared without fields
	})
	var got kernel.Input
	read := func(bad func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			in, err := kernel.ReadInput(r)
			if err != nil {
				bad(w, r)
				return
			}
			got = in
			w.WriteHeader(http.StatusNoContent)
		}
	}
	page := func(r *http.Request) kernel.PageFunc {
		return kernel.Built(h.k.Page(r, "Thing", &thingData{Name: "widget"}))
	}
	mux := http.NewServeMux()
	h.k.Handle(mux, http.MethodPost, "/thing", read(func(w http.ResponseWriter, r *http.Request) { h.k.BadForm(w, r, "thing", page(r)) }))
	h.k.Handle(mux, http.MethodPost, "/empty", read(h.k.BadInput))
	h.k.Handle(mux, http.MethodPost, "/free", read(h.k.BadInput))
	h.k.Handle(mux, http.MethodGet, "/thing", read(h.k.BadInput))

	const form, js = "application/x-www-form-urlencoded", "application/json"
	tests := []struct {
		name, path, ct, body string
		html                 bool
		status               int
		code, field          string
		want                 kernel.Input
		inBody               []string // for HTML
	}{
		{"schema: fields read", "/thing", js, `{"name":" Ada ","keep":true}`, false, 204, "", "", kernel.Input{"name": "Ada", "keep": "true"}, nil},
		{"schema: unknown JSON field", "/thing", js, `{"name":"Ada","is_admin":true}`, false, 400, "unknown_field", "is_admin", nil, nil},
		{"schema: wrong type", "/thing", js, `{"name":true}`, false, 400, "invalid_type", "name", nil, nil},
		{"schema: lone surrogate", "/thing", js, `{"name":"\udc00"}`, false, 400, "invalid_text", "name", nil, nil},
		{"schema: form's other fields ignored", "/thing", form, "name=Ada&extra=1", false, 204, "", "", kernel.Input{"name": "Ada"}, nil},
		{"schema: invalid UTF-8, page", "/thing", form, "name=%FF", true, 400, "", "", nil,
			[]string{"thing widget", "The field &#34;name&#34; holds characters that are not allowed."}},
		{"schema: body unreadable, page", "/thing", "text/plain", "x", true, 400, "", "", nil, []string{"thing widget", "The form could not be read."}},
		{"declared without fields", "/empty", js, `{"name":"Ada"}`, false, 400, "unknown_field", "name", nil, nil},
		{"declared without fields: CSRF token", "/empty", js, `{"csrf_token":"t"}`, false, 204, "", "", kernel.Input{"csrf_token": "t"}, nil},
		{"declared without fields: error page", "/empty", form, "name=%FF", true, 400, "", "", nil,
			[]string{"The field &#34;name&#34; holds characters that are not allowed. Reload the page and try again."}},
		{"no schema: every field", "/free", js, `{"name":"Ada","is_admin":true}`, false, 204, "", "", kernel.Input{"name": "Ada", "is_admin": "true"}, nil},
		{"no schema: lone surrogate", "/free", js, `{"name":"\ud800"}`, false, 400, "invalid_text", "name", nil, nil},
		{"no schema: unreadable", "/free", js, `[1]`, false, 400, "invalid_input", "", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = nil
			req := httptest.NewRequest(http.MethodPost, "/auth"+tt.path, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", tt.ct)
			if tt.html {
				req.Header.Set("Accept", "text/html")
			} else {
				req.Header.Set("Accept", "application/json")
			}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("got %d %s, want %d", rec.Code, rec.Body, tt.status)
			}
			if tt.want != nil && !maps.Equal(got, tt.want) {
				t.Errorf("read %q, want %q", got, tt.want)
			}
			for _, w := range tt.inBody {
				if !strings.Contains(rec.Body.String(), w) {
					t.Errorf("body: got %s, want it to hold %q", rec.Body, w)
				}
			}
			if tt.code == "" {
				return
			}
			var body web.ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("got %s: %v", rec.Body, err)
			}
			e := body.Error
			if e.Code != tt.code || (tt.field != "" && e.Fields[tt.field] == "") || (tt.field == "" && e.Fields != nil) {
				t.Errorf("got %s, want the code %q and a message at %q", rec.Body, tt.code, tt.field)
			}
		})
	}
	unschemed, unused := h.k.FormsCheck()
	if !slices.Equal(unschemed, []string{"POST /free"}) || unused != nil {
		t.Errorf("FormsCheck: got %q and %q, want the route without a schema, POST /free, and no unused schema", unschemed, unused)
	}
	h.k.Forms(map[string]kernel.Fields{"POST /thing": {}, "POST /gone": {}})
	if unschemed, unused := h.k.FormsCheck(); !slices.Equal(unschemed, []string{"POST /empty", "POST /free"}) || !slices.Equal(unused, []string{"POST /gone"}) {
		t.Errorf("FormsCheck: got %q and %q, want POST /empty and POST /free without a schema and POST /gone unused", unschemed, unused)
	}
}
