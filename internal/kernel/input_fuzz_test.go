package kernel

import (
	"encoding/json"
	"errors"
	"maps"
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/sigra-go/sigra/middleware"
)

// fuzzSchemas are the schemas FuzzReadInput reads bodies against: none,
// one of every kind, and one that takes other fields.
var fuzzSchemas = []Fields{
	nil,
	{"a": Text, "b": Secret, "c": Bool, "d": Custom, "email": Text, "password": Secret},
	{"a": Text, OtherFields: Custom},
	{},
}

// readWith reads a body of contentType against schema fields.
func readWith(fields Fields, contentType, body string) (Input, error) {
	r := request(contentType, body)
	return ReadInput(r.WithContext(withForm(r.Context(), fields)))
}

// jsonOfInput encodes in as a JSON object the way a client of schema
// fields would send it: a Bool as true, every other field as a string.
func jsonOfInput(t *testing.T, fields Fields, in Input) string {
	t.Helper()
	obj := map[string]any{}
	for k, v := range in {
		if kind, _ := fields.kind(k); kind == Bool {
			obj[k] = true
			continue
		}
		obj[k] = v
	}
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// FuzzReadInput: any body, under any content type and schema, is either
// refused with an *InputError wrapping ErrBadInput (a known code; a field
// error names a field that has a message), or read into fields that fit
// the schema: valid names, valid text of their kind, within bounds. What
// was read reads the same again, sent as JSON or as a form.
func FuzzReadInput(f *testing.F) {
	seeds := []string{
		"", "a=1", "a=1&a=2", "%FF=1", "a=%FF", "c=on", "c=maybe", "d=x%0Ay", "a=+x+", "z=1", "a=%00",
		`{"a":"b"}`, `{"a":"1","a":"2"}`, `{"a":true}`, `{"c":true}`, `{"c":"on"}`, `{"d":true}`, `{"z":1}`,
		`[1]`, "{\"a\":\"\xff\"}", `{} {}`, `{"a":"\udc00"}`, `{"a":"\ud83d\ude00"}`, `{"a":"\ud800\u0041"}`,
		`{"a":"\\udc00"}`, `{"b":"\u0000 p "}`, `{"a":null,"b":null}`, `{"a\ud800":"x"}`, `{"a":{"b":[1,"\udc00"]}}`,
	}
	for _, s := range seeds {
		for ct := range uint8(4) {
			for schema := range uint8(len(fuzzSchemas)) {
				f.Add(ct, schema, s)
			}
		}
	}
	types := []string{"", "application/x-www-form-urlencoded", "application/json", "multipart/form-data; boundary=X"}
	codes := map[string]bool{CodeInvalidInput: true, CodeUnknownField: true, CodeInvalidType: true, CodeInvalidText: true, CodeTooLong: true, CodeDuplicateField: true}
	f.Fuzz(func(t *testing.T, ct, schema uint8, body string) {
		fields := fuzzSchemas[int(schema)%len(fuzzSchemas)]
		in, err := readWith(fields, types[int(ct)%len(types)], body)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) || !errors.Is(err, ErrBadInput) {
				t.Fatalf("error %v is not an *InputError wrapping ErrBadInput", err)
			}
			if !codes[ie.Code] || (ie.Field == "") != (ie.Code == CodeInvalidInput) || (ie.Field != "" && ie.Fields[ie.Field] == "") {
				t.Fatalf("got the error %+v", ie)
			}
			return
		}
		for k, v := range in {
			kind, ok := fields.kind(k)
			if !ok {
				t.Fatalf("read the field %q, which the schema does not take", k)
			}
			if !validName(k) || !utf8.ValidString(v) {
				t.Fatalf("read the field %q=%q", k, v)
			}
			if len(v) > MaxField && kind != Secret && k != "password" && k != "current_password" {
				t.Fatalf("read a %d-byte %q", len(v), k)
			}
			switch kind {
			case Text:
				if strings.ContainsFunc(v, unicode.IsControl) || strings.TrimSpace(v) != v {
					t.Fatalf("read the text %q=%q", k, v)
				}
			case Bool:
				if v != "true" {
					t.Fatalf("read the boolean %q=%q", k, v)
				}
			}
		}
		// What was read reads the same again.
		again, err := readWith(fields, "application/json", jsonOfInput(t, fields, in))
		if err != nil || !maps.Equal(again, in) {
			t.Fatalf("%q sent again as JSON: got %q, %v", in, again, err)
		}
		form := url.Values{}
		for k, v := range in {
			form.Set(k, v)
		}
		again, err = readWith(fields, "application/x-www-form-urlencoded", form.Encode())
		if err != nil || !maps.Equal(again, in) {
			t.Fatalf("%q sent again as a form: got %q, %v", in, again, err)
		}
	})
}

// TestReadInputWithoutFormState: a request that did not come through
// Handle is read without a schema, and the CSRF field is no exception.
func TestReadInputWithoutFormState(t *testing.T) {
	t.Parallel()
	r := request("application/json", `{"`+middleware.CSRFFieldName+`":"t","other":"x"}`)
	in, err := ReadInput(r)
	if err != nil || in[middleware.CSRFFieldName] != "t" || in["other"] != "x" {
		t.Fatalf("got %q, %v; want both fields", in, err)
	}
	if _, ok := r.Context().Value(formKey{}).(*formState); ok {
		t.Fatal("ReadInput added a form state")
	}
}
