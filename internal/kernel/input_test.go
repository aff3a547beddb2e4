package kernel

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
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

// refused is the error a case of TestReadInput and TestReadInputSchema
// wants: its code, and the field it names ("" for a body that could not
// be read at all).
type refused struct{ code, field string }

// checkRead runs one reading case: want is the Input, or nil when the
// body must be refused with bad.
func checkRead(t *testing.T, r *http.Request, want Input, bad refused) {
	t.Helper()
	got, err := ReadInput(r)
	if want != nil {
		if err != nil || !maps.Equal(got, want) {
			t.Fatalf("got %q, %v; want %q", got, err, want)
		}
		return
	}
	var ie *InputError
	if !errors.As(err, &ie) || !errors.Is(err, ErrBadInput) {
		t.Fatalf("got %q, %v; want an *InputError wrapping ErrBadInput", got, err)
	}
	if got != nil {
		t.Errorf("got fields %q with the error, want none", got)
	}
	if ie.Code != bad.code || ie.Field != bad.field {
		t.Fatalf("got code %q at %q (%v), want %q at %q", ie.Code, ie.Field, ie.Fields, bad.code, bad.field)
	}
	if bad.field == "" {
		if ie.Fields != nil || ie.Message != unreadable {
			t.Errorf("got fields %v, message %q; want none and the generic message", ie.Fields, ie.Message)
		}
		return
	}
	if ie.Fields[bad.field] == "" || !strings.Contains(ie.Message, strconv.Quote(bad.field)) {
		t.Errorf("got fields %v, message %q; want a message at %q, named in the message", ie.Fields, ie.Message, bad.field)
	}
	if strings.Contains(err.Error(), "\xff") {
		t.Errorf("the error %q repeats the value", err)
	}
}

// TestReadInput: without a schema (a request that did not come through
// Handle, or a route without one) every field is read; malformed bodies
// and fields are refused.
func TestReadInput(t *testing.T) {
	t.Parallel()
	const form = "application/x-www-form-urlencoded"
	const js = "application/json"
	mpType, mpBody := multipartBody(t, map[string]string{"email": "a@example.com", "remember": "1"}, false)
	mpFileType, mpFileBody := multipartBody(t, map[string]string{"email": "a@example.com"}, true)
	long := strings.Repeat("x", MaxField+1)
	body := refused{code: CodeInvalidInput}
	cases := []struct {
		name, contentType, body string
		want                    Input // nil: refused with bad
		bad                     refused
	}{
		{"form", form, "email=a%40example.com&password=p", Input{"email": "a@example.com", "password": "p"}, refused{}},
		{"form with charset", form + "; charset=utf-8", "email=a%40example.com", Input{"email": "a@example.com"}, refused{}},
		{"no content type", "", "", Input{}, refused{}},
		{"empty form", form, "", Input{}, refused{}},
		{"multipart", mpType, mpBody, Input{"email": "a@example.com", "remember": "1"}, refused{}},
		{"JSON", js, `{"email":"a@example.com","remember":true,"off":false,"none":null}`, Input{"email": "a@example.com", "remember": "true"}, refused{}},
		{"JSON with charset", js + "; charset=utf-8", `{"a":"b"}`, Input{"a": "b"}, refused{}},
		{"JSON escapes", js, `{"a":"\u00e9\n"}`, Input{"a": "é\n"}, refused{}},
		{"JSON surrogate pair", js, `{"a":"\ud83d\ude00"}`, Input{"a": "😀"}, refused{}},
		{"long password", form, "password=" + long, Input{"password": long}, refused{}},
		{"long current password", js, `{"current_password":"` + long + `"}`, Input{"current_password": long}, refused{}},

		{"repeated form field", form, "a=1&a=2", nil, refused{CodeDuplicateField, "a"}},
		{"invalid UTF-8 value", form, "a=%FF", nil, refused{CodeInvalidText, "a"}},
		{"invalid UTF-8 key", form, "%FF=a", nil, body},
		{"empty key", form, "=a", nil, body},
		{"control character in a key", form, "a%00=1", nil, body},
		{"long value", form, "email=" + long, nil, refused{CodeTooLong, "email"}},
		{"long key", form, strings.Repeat("k", 65) + "=1", nil, body},
		{"multipart with a file", mpFileType, mpFileBody, nil, body},
		{"multipart without boundary", "multipart/form-data", mpBody, nil, body},
		{"text/plain", "text/plain", "a=1", nil, body},
		{"xml", "application/xml", "<a>1</a>", nil, body},
		{"form lookalike", "application/x-www-form-urlencodedx", "a=1", nil, body},
		{"unparsable content type", "application/json; =", `{}`, nil, body},
		{"malformed JSON", js, `{"a":`, nil, body},
		{"JSON array", js, `["a"]`, nil, body},
		{"JSON string", js, `"a"`, nil, body},
		{"JSON null", js, `null`, nil, body},
		{"JSON number", js, `{"a":1}`, nil, refused{CodeInvalidType, "a"}},
		{"JSON object value", js, `{"a":{}}`, nil, refused{CodeInvalidType, "a"}},
		{"JSON array value", js, `{"a":[]}`, nil, refused{CodeInvalidType, "a"}},
		{"JSON duplicate key", js, `{"a":"1","a":"2"}`, nil, refused{CodeDuplicateField, "a"}},
		{"JSON duplicate key, other type", js, `{"a":"1","a":null}`, nil, refused{CodeDuplicateField, "a"}},
		{"JSON invalid UTF-8", js, "{\"a\":\"\xff\"}", nil, refused{CodeInvalidText, "a"}},
		{"JSON invalid UTF-8 in a key", js, "{\"\xff\":\"a\"}", nil, body},
		{"JSON lone low surrogate", js, `{"a":"\udc00"}`, nil, refused{CodeInvalidText, "a"}},
		{"JSON lone high surrogate", js, `{"a":"x\ud800y"}`, nil, refused{CodeInvalidText, "a"}},
		{"JSON surrogate in a key", js, `{"a\udc00":"x"}`, nil, body},
		{"JSON trailing object", js, `{}{}`, nil, body},
		{"JSON trailing garbage", js, `{} x`, nil, body},
		{"JSON long value", js, `{"a":"` + long + `"}`, nil, refused{CodeTooLong, "a"}},
		{"JSON too large", js, `{"a":"` + strings.Repeat("x", 70<<10) + `"}`, nil, body},
		{"empty JSON", js, ``, nil, body},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			checkRead(t, request(c.contentType, c.body), c.want, c.bad)
		})
	}
}

// testSchema has a field of every kind.
var testSchema = Fields{"email": Text, "password": Secret, "remember": Bool, "bio": Custom}

// TestReadInputSchema: with a schema a JSON body must fit it (no other
// field, the right types) and a form's other fields are ignored; every
// field read must be text of its kind.
func TestReadInputSchema(t *testing.T) {
	t.Parallel()
	const form = "application/x-www-form-urlencoded"
	const js = "application/json"
	long := strings.Repeat("x", MaxField+1)
	body := refused{code: CodeInvalidInput}
	cases := []struct {
		name, contentType, body string
		fields                  Fields
		want                    Input // nil: refused with bad
		bad                     refused
	}{
		// What is read.
		{"JSON of every kind", js, `{"email":" a@example.com ","password":" p ","remember":true,"bio":"line 1\nline 2\t"}`, testSchema,
			Input{"email": "a@example.com", "password": " p ", "remember": "true", "bio": "line 1\nline 2\t"}, refused{}},
		{"JSON false and null are absent", js, `{"email":null,"password":null,"remember":false,"bio":false}`, testSchema, Input{}, refused{}},
		{"JSON true in a custom field", js, `{"bio":true}`, testSchema, Input{"bio": "true"}, refused{}},
		{"JSON CSRF token", js, `{"csrf_token":"t"}`, testSchema, Input{"csrf_token": "t"}, refused{}},
		{"JSON surrogate pair", js, `{"email":"\ud83d\ude00@example.com"}`, testSchema, Input{"email": "😀@example.com"}, refused{}},
		{"JSON escaped backslash before u", js, `{"email":"\\udc00"}`, testSchema, Input{"email": `\udc00`}, refused{}},
		{"JSON secret with control characters, long", js, `{"password":"\u0001\t` + long + `"}`, testSchema, Input{"password": "\x01\t" + long}, refused{}},
		{"form of every kind", form, "email=+a%40example.com+&password=+p+&remember=on&bio=a%0D%0Ab&csrf_token=t", testSchema,
			Input{"email": "a@example.com", "password": " p ", "remember": "true", "bio": "a\r\nb", "csrf_token": "t"}, refused{}},
		{"form checkbox values", form, "remember=YES", testSchema, Input{"remember": "true"}, refused{}},
		{"form checkbox off", form, "remember=0", testSchema, Input{}, refused{}},
		{"form checkbox empty", form, "remember=", testSchema, Input{}, refused{}},
		{"form ignores other fields", form, "email=a%40example.com&is_admin=1&note=" + url.QueryEscape(strings.Repeat("y", 100)), testSchema, Input{"email": "a@example.com"}, refused{}},
		{"other fields as custom", js, `{"email":"a@example.com","display_name":"Ada\nL.","terms":true}`, Fields{"email": Text, OtherFields: Custom},
			Input{"email": "a@example.com", "display_name": "Ada\nL.", "terms": "true"}, refused{}},
		{"empty schema", js, `{"csrf_token":"t"}`, Fields{}, Input{"csrf_token": "t"}, refused{}},
		{"JSON object", js, `{"credential":{"id":"x","response":{"a":[1,2]}}}`, Fields{"credential": Object},
			Input{"credential": `{"id":"x","response":{"a":[1,2]}}`}, refused{}},
		{"JSON object, long", js, `{"credential":{"a":"` + long + `"}}`, Fields{"credential": Object},
			Input{"credential": `{"a":"` + long + `"}`}, refused{}},
		{"form object", form, "credential=" + url.QueryEscape(` {"id":"x"} `), Fields{"credential": Object},
			Input{"credential": `{"id":"x"}`}, refused{}},
		{"JSON object as a string", js, `{"credential":"{}"}`, Fields{"credential": Object}, nil, refused{CodeInvalidType, "credential"}},
		{"JSON array for an object", js, `{"credential":[{}]}`, Fields{"credential": Object}, nil, refused{CodeInvalidType, "credential"}},
		{"JSON object for text", js, `{"email":{"a":1}}`, testSchema, nil, refused{CodeInvalidType, "email"}},
		{"JSON object with invalid UTF-8", js, "{\"credential\":{\"a\":\"\xff\"}}", Fields{"credential": Object}, nil, refused{CodeInvalidText, "credential"}},
		{"form object, not JSON", form, "credential=%7Bnope", Fields{"credential": Object}, nil, refused{CodeInvalidType, "credential"}},
		{"form object, an array", form, "credential=%5B%5D", Fields{"credential": Object}, nil, refused{CodeInvalidType, "credential"}},

		// Unknown fields.
		{"JSON unknown field", js, `{"email":"a@example.com","is_admin":true}`, testSchema, nil, refused{CodeUnknownField, "is_admin"}},
		{"JSON unknown fields, first named", js, `{"id":"1","email_confirmed_at":"2020-01-01","is_admin":true}`, testSchema, nil, refused{CodeUnknownField, "id"}},
		{"JSON unknown field with an object", js, `{"is_admin":{"a":[1]}}`, testSchema, nil, refused{CodeUnknownField, "is_admin"}},
		{"JSON unknown field in an empty schema", js, `{"email":"a@example.com"}`, Fields{}, nil, refused{CodeUnknownField, "email"}},
		{"JSON unknown field holding invalid UTF-8", js, "{\"x\":\"\xff\"}", testSchema, nil, refused{CodeUnknownField, "x"}},
		{"JSON unknown field repeated", js, `{"x":"1","x":"2"}`, testSchema, nil, refused{CodeUnknownField, "x"}},

		// Wrong types.
		{"JSON true for text", js, `{"email":true}`, testSchema, nil, refused{CodeInvalidType, "email"}},
		{"JSON false for text", js, `{"email":false}`, testSchema, nil, refused{CodeInvalidType, "email"}},
		{"JSON number for text", js, `{"email":5}`, testSchema, nil, refused{CodeInvalidType, "email"}},
		{"JSON object for text", js, `{"email":{"a":"b"}}`, testSchema, nil, refused{CodeInvalidType, "email"}},
		{"JSON array for text", js, `{"email":["a"]}`, testSchema, nil, refused{CodeInvalidType, "email"}},
		{"JSON true for a secret", js, `{"password":true}`, testSchema, nil, refused{CodeInvalidType, "password"}},
		{"JSON string for a boolean", js, `{"remember":"true"}`, testSchema, nil, refused{CodeInvalidType, "remember"}},
		{"JSON number for a boolean", js, `{"remember":1}`, testSchema, nil, refused{CodeInvalidType, "remember"}},
		{"JSON number for a custom field", js, `{"bio":1}`, testSchema, nil, refused{CodeInvalidType, "bio"}},
		{"form value not a boolean", form, "remember=maybe", testSchema, nil, refused{CodeInvalidType, "remember"}},

		// Invalid text.
		{"JSON lone low surrogate", js, `{"email":"\udc00"}`, testSchema, nil, refused{CodeInvalidText, "email"}},
		{"JSON lone low surrogate, upper case", js, `{"email":"a\uDFFFb"}`, testSchema, nil, refused{CodeInvalidText, "email"}},
		{"JSON lone high surrogate", js, `{"email":"\ud800"}`, testSchema, nil, refused{CodeInvalidText, "email"}},
		{"JSON high surrogate then text", js, `{"email":"\udbffa"}`, testSchema, nil, refused{CodeInvalidText, "email"}},
		{"JSON high surrogate then another escape", js, `{"email":"\ud800\u0041"}`, testSchema, nil, refused{CodeInvalidText, "email"}},
		{"JSON two high surrogates", js, `{"email":"\ud800\ud800"}`, testSchema, nil, refused{CodeInvalidText, "email"}},
		{"JSON reversed pair", js, `{"email":"\ude00\ud83d"}`, testSchema, nil, refused{CodeInvalidText, "email"}},
		{"JSON lone surrogate in a secret", js, `{"password":"pass\udc00word"}`, testSchema, nil, refused{CodeInvalidText, "password"}},
		{"JSON lone surrogate in a custom field", js, `{"bio":"\udc00"}`, testSchema, nil, refused{CodeInvalidText, "bio"}},
		{"JSON lone surrogate in a key", js, `{"email\udc00":"a"}`, testSchema, nil, body},
		{"JSON invalid UTF-8 in text", js, "{\"email\":\"a\xffb@example.com\"}", testSchema, nil, refused{CodeInvalidText, "email"}},
		{"JSON invalid UTF-8 in a secret", js, "{\"password\":\"\xc3\"}", testSchema, nil, refused{CodeInvalidText, "password"}},
		{"JSON NUL in text", js, `{"email":"a\u0000@example.com"}`, testSchema, nil, refused{CodeInvalidText, "email"}},
		{"JSON line break in text", js, `{"email":"a@example.com\r\nBcc: b@example.com"}`, testSchema, nil, refused{CodeInvalidText, "email"}},
		{"JSON tab in text", js, `{"email":"a\t@example.com"}`, testSchema, nil, refused{CodeInvalidText, "email"}},
		{"JSON DEL in text", js, `{"email":"a\u007f"}`, testSchema, nil, refused{CodeInvalidText, "email"}},
		{"JSON C1 control in text", js, `{"email":"a\u0085"}`, testSchema, nil, refused{CodeInvalidText, "email"}},
		{"JSON NUL in a custom field", js, `{"bio":"a\u0000"}`, testSchema, nil, refused{CodeInvalidText, "bio"}},
		{"form invalid UTF-8 in text", form, "email=%FF%FEuser%40example.com", testSchema, nil, refused{CodeInvalidText, "email"}},
		{"form invalid UTF-8 in a secret", form, "password=%C3", testSchema, nil, refused{CodeInvalidText, "password"}},
		{"form invalid UTF-8 in another field", form, "email=a%40example.com&note=%FF", testSchema, nil, refused{CodeInvalidText, "note"}},
		{"form control character in text", form, "email=a%00%40example.com", testSchema, nil, refused{CodeInvalidText, "email"}},
		{"form invalid UTF-8 in a key", form, "%FF=1", testSchema, nil, body},

		// Sizes and repeats.
		{"JSON long text", js, `{"email":"` + long + `"}`, testSchema, nil, refused{CodeTooLong, "email"}},
		{"JSON long custom field", js, `{"bio":"` + long + `"}`, testSchema, nil, refused{CodeTooLong, "bio"}},
		{"form long text", form, "email=" + long, testSchema, nil, refused{CodeTooLong, "email"}},
		{"form long other field", form, "note=" + long, testSchema, nil, refused{CodeTooLong, "note"}},
		{"JSON duplicate key", js, `{"email":"a@example.com","email":"b@example.com"}`, testSchema, nil, refused{CodeDuplicateField, "email"}},
		{"JSON duplicate key, null", js, `{"remember":true,"remember":null}`, testSchema, nil, refused{CodeDuplicateField, "remember"}},
		{"form repeated field", form, "email=a%40example.com&email=b%40example.com", testSchema, nil, refused{CodeDuplicateField, "email"}},
		{"form repeated other field", form, "x=1&x=2", testSchema, nil, refused{CodeDuplicateField, "x"}},

		// Still a body that cannot be read.
		{"JSON syntax after an unknown field", js, `{"is_admin":true,`, testSchema, nil, body},
		{"JSON array", js, `[]`, testSchema, nil, body},
		{"JSON trailing data", js, `{"email":"a@example.com"} {}`, testSchema, nil, body},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := request(c.contentType, c.body)
			checkRead(t, r.WithContext(withForm(r.Context(), c.fields)), c.want, c.bad)
		})
	}
}

// TestReadInputAllErrors: every refused field has its message, and the
// first is the error's field.
func TestReadInputAllErrors(t *testing.T) {
	t.Parallel()
	r := request("application/json", `{"remember":"yes","is_admin":true,"email":"\udc00","id":1}`)
	_, err := ReadInput(r.WithContext(withForm(r.Context(), testSchema)))
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("got %v, want an *InputError", err)
	}
	if ie.Code != CodeInvalidType || ie.Field != "remember" {
		t.Errorf("got %q at %q, want the first refusal, invalid_type at remember", ie.Code, ie.Field)
	}
	want := []string{"email", "id", "is_admin", "remember"}
	if got := slices.Sorted(maps.Keys(ie.Fields)); !slices.Equal(got, want) {
		t.Errorf("got messages at %v, want at %v", got, want)
	}
}

// TestReadInputRecordsError: ReadInput leaves its error in the request's
// form state for BadInput and BadForm; a later success clears it.
func TestReadInputRecordsError(t *testing.T) {
	t.Parallel()
	ctx := withForm(context.Background(), testSchema)
	r := request("application/json", `{"is_admin":true}`).WithContext(ctx)
	if _, err := ReadInput(r); err == nil {
		t.Fatal("got no error, want unknown_field")
	}
	if e := inputError(r); e.Code != CodeUnknownField || e.Field != "is_admin" {
		t.Errorf("recorded %+v, want unknown_field at is_admin", e)
	}
	if _, err := ReadInput(request("application/json", `{"email":"a@example.com"}`).WithContext(ctx)); err != nil {
		t.Fatal(err)
	}
	if e := inputError(r); e.Code != CodeInvalidInput || e.Field != "" {
		t.Errorf("after a success: got %+v, want the generic error", e)
	}
	if e := inputError(request("", "")); e.Code != CodeInvalidInput {
		t.Errorf("without a form state: got %+v, want the generic error", e)
	}
}

// TestRawText checks the surrogate and UTF-8 scan of JSON string
// literals directly.
func TestRawText(t *testing.T) {
	t.Parallel()
	for lit, want := range map[string]bool{
		`""`:               true,
		`"abc"`:            true,
		`"\u0041"`:         true,
		`"\ud83d\ude00"`:   true,
		`"\uD83D\uDE00x"`:  true,
		`"\\ud800"`:        true,
		`"\\\ud800"`:       false,
		`"\ud800"`:         false,
		`"\udfff"`:         false,
		`"\ud800\ud800"`:   false,
		`"\ud800\\ude00"`:  false,
		`"\ud800x\ude00"`:  false,
		"\"\xff\"":         false,
		"\"\xed\xa0\x80\"": false, // a surrogate in UTF-8 bytes
		`"é\n\"\/"`:        true,
		`"`:                false,
	} {
		if got := rawText([]byte(lit)); got != want {
			t.Errorf("rawText(%s): got %v, want %v", lit, got, want)
		}
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
