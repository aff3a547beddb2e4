package kernel

import (
	"bytes"
	"errors"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

func request(contentType, body string) *http.Request {
	r := httptest.NewRequest("POST", "/", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

func multipartBody(t *testing.T, fields map[string]string, file bool) (string, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if file {
		f, err := w.CreateFormFile("upload", "a.txt")
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte("data"))
	}
	w.Close()
	return w.FormDataContentType(), b.String()
}

func TestReadInput(t *testing.T) {
	t.Parallel()
	const form = "application/x-www-form-urlencoded"
	const js = "application/json"
	mpType, mpBody := multipartBody(t, map[string]string{"email": "a@example.com", "remember": "1"}, false)
	mpFileType, mpFileBody := multipartBody(t, map[string]string{"email": "a@example.com"}, true)
	long := strings.Repeat("x", MaxField+1)
	cases := []struct {
		name, contentType, body string
		want                    Input // nil: ErrBadInput
	}{
		{"form", form, "email=a%40example.com&password=p", Input{"email": "a@example.com", "password": "p"}},
		{"form with charset", form + "; charset=utf-8", "email=a%40example.com", Input{"email": "a@example.com"}},
		{"no content type", "", "", Input{}},
		{"empty form", form, "", Input{}},
		{"multipart", mpType, mpBody, Input{"email": "a@example.com", "remember": "1"}},
		{"JSON", js, `{"email":"a@example.com","remember":true,"off":false,"none":null}`, Input{"email": "a@example.com", "remember": "true"}},
		{"JSON with charset", js + "; charset=utf-8", `{"a":"b"}`, Input{"a": "b"}},
		{"JSON escapes", js, `{"a":"\u00e9\n"}`, Input{"a": "é\n"}},
		{"long password", form, "password=" + long, Input{"password": long}},
		{"long current password", js, `{"current_password":"` + long + `"}`, Input{"current_password": long}},

		{"repeated form field", form, "a=1&a=2", nil},
		{"invalid UTF-8 value", form, "a=%FF", nil},
		{"invalid UTF-8 key", form, "%FF=a", nil},
		{"long value", form, "email=" + long, nil},
		{"long key", form, strings.Repeat("k", 65) + "=1", nil},
		{"multipart with a file", mpFileType, mpFileBody, nil},
		{"multipart without boundary", "multipart/form-data", mpBody, nil},
		{"text/plain", "text/plain", "a=1", nil},
		{"xml", "application/xml", "<a>1</a>", nil},
		{"form lookalike", "application/x-www-form-urlencodedx", "a=1", nil},
		{"unparsable content type", "application/json; =", `{}`, nil},
		{"malformed JSON", js, `{"a":`, nil},
		{"JSON array", js, `["a"]`, nil},
		{"JSON string", js, `"a"`, nil},
		{"JSON null", js, `null`, nil},
		{"JSON number", js, `{"a":1}`, nil},
		{"JSON object value", js, `{"a":{}}`, nil},
		{"JSON array value", js, `{"a":[]}`, nil},
		{"JSON duplicate key", js, `{"a":"1","a":"2"}`, nil},
		{"JSON duplicate key, other type", js, `{"a":"1","a":null}`, nil},
		{"JSON invalid UTF-8", js, "{\"a\":\"\xff\"}", nil},
		{"JSON trailing object", js, `{}{}`, nil},
		{"JSON trailing garbage", js, `{} x`, nil},
		{"JSON long value", js, `{"a":"` + long + `"}`, nil},
		{"JSON too large", js, `{"a":"` + strings.Repeat("x", 70<<10) + `"}`, nil},
		{"empty JSON", js, ``, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := ReadInput(request(c.contentType, c.body))
			if c.want == nil {
				if !errors.Is(err, ErrBadInput) {
					t.Fatalf("got %v, %v; want ErrBadInput", got, err)
				}
				return
			}
			if err != nil || !maps.Equal(got, c.want) {
				t.Fatalf("got %v, %v; want %v", got, err, c.want)
			}
		})
	}
}

func TestInputBool(t *testing.T) {
	t.Parallel()
	in := Input{"a": "1", "b": "on", "c": "TRUE", "d": "yes", "e": "0", "f": "off", "g": ""}
	for k, want := range map[string]bool{"a": true, "b": true, "c": true, "d": true, "e": false, "f": false, "g": false, "missing": false} {
		if got := in.Bool(k); got != want {
			t.Errorf("Bool(%q): got %v, want %v", k, got, want)
		}
	}
}

func TestParseEmail(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]string{
		"user@example.com":                       "user@example.com",
		"  user@example.com ":                    "user@example.com",
		"a.user+tag@example.co.uk":               "a.user+tag@example.co.uk",
		"":                                       "",
		"user":                                   "",
		"user@":                                  "",
		"@example.com":                           "",
		"user@localhost":                         "",
		"User <user@example.com>":                "",
		"<user@example.com>":                     "",
		"a b@example.com":                        "",
		"user@example.com\r\nBcc: x@example.com": "",
		strings.Repeat("a", 250) + "@example.com": "",
	} {
		got, ok := ParseEmail(s)
		if got != want || ok != (want != "") {
			t.Errorf("ParseEmail(%q): got %q, %v; want %q", s, got, ok, want)
		}
	}
}

// FuzzReadInput: any body, under any of the accepted content types, is
// either refused with ErrBadInput or read into fields that are valid UTF-8
// and within bounds.
func FuzzReadInput(f *testing.F) {
	for _, s := range []string{"", "a=1", "a=1&a=2", "%FF=1", `{"a":"b"}`, `{"a":"1","a":"2"}`, `{"a":true}`, `[1]`, "{\"a\":\"\xff\"}", `{} {}`} {
		for _, ct := range []uint8{0, 1, 2, 3} {
			f.Add(ct, s)
		}
	}
	types := []string{"", "application/x-www-form-urlencoded", "application/json", "multipart/form-data; boundary=X"}
	f.Fuzz(func(t *testing.T, ct uint8, body string) {
		in, err := ReadInput(request(types[int(ct)%len(types)], body))
		if err != nil {
			if !errors.Is(err, ErrBadInput) {
				t.Fatalf("error %v does not wrap ErrBadInput", err)
			}
			return
		}
		for k, v := range in {
			if !utf8.ValidString(k) || !utf8.ValidString(v) || len(k) > 64 {
				t.Fatalf("accepted field %q=%q", k, v)
			}
			if len(v) > MaxField && k != "password" && k != "current_password" {
				t.Fatalf("accepted a %d-byte %q", len(v), k)
			}
		}
	})
}

// FuzzParseEmail: an accepted address is trimmed, bounded, has no
// characters that could break a header or a display name, and is accepted
// again as is.
func FuzzParseEmail(f *testing.F) {
	for _, s := range []string{"user@example.com", " user@example.com", "User <u@example.com>", "a@b", "\"a b\"@example.com", "a@[127.0.0.1]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := ParseEmail(s)
		if !ok {
			if got != "" {
				t.Fatalf("refused %q but returned %q", s, got)
			}
			return
		}
		if len(got) > 254 || strings.ContainsAny(got, "<>\"\r\n ") || strings.TrimSpace(got) != got {
			t.Fatalf("accepted %q as %q", s, got)
		}
		if again, ok := ParseEmail(got); !ok || again != got {
			t.Fatalf("%q not accepted again: %q %v", got, again, ok)
		}
	})
}
