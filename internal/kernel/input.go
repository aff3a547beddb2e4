package kernel

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/middleware"
)

// MaxField bounds every input value but passwords (bounded by the
// password policy, and by the body limit).
const MaxField = 1024

// ErrBadInput is a request whose body could not be read as a form or a
// JSON object of strings, or holds invalid UTF-8, repeated fields or
// oversized values.
var ErrBadInput = errors.New("sigra: malformed request")

// Input is a request's fields, read from a form or a JSON object.
type Input map[string]string

// ReadInput reads r's fields from an urlencoded or multipart form, or from
// a JSON object whose values are strings, booleans or null. A body that is
// not valid UTF-8, repeats a field (in a form or as a duplicate JSON key),
// carries a file, or has any other Content-Type is refused with
// ErrBadInput.
func ReadInput(r *http.Request) (Input, error) {
	if web.SendsJSON(r) {
		body, err := io.ReadAll(io.LimitReader(r.Body, middleware.DefaultBodyLimit+1))
		if err != nil || len(body) > middleware.DefaultBodyLimit || !utf8.Valid(body) {
			// encoding/json would turn invalid UTF-8 into U+FFFD silently.
			return nil, ErrBadInput
		}
		in, err := readJSONObject(body)
		if err != nil {
			return nil, ErrBadInput
		}
		return in, in.valid()
	}
	mt := ""
	if ct := r.Header.Get("Content-Type"); ct != "" {
		var err error
		if mt, _, err = mime.ParseMediaType(ct); err != nil {
			return nil, ErrBadInput
		}
	}
	switch mt {
	case "", "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return nil, ErrBadInput
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(middleware.DefaultBodyLimit); err != nil {
			return nil, ErrBadInput
		}
		if r.MultipartForm != nil && len(r.MultipartForm.File) > 0 {
			return nil, ErrBadInput
		}
	default:
		return nil, ErrBadInput
	}
	in := make(Input, len(r.PostForm))
	for k, vs := range r.PostForm {
		if len(vs) > 1 {
			return nil, ErrBadInput
		}
		in[k] = vs[0]
	}
	return in, in.valid()
}

// readJSONObject reads one JSON object of strings, booleans (true is
// "true", false is absent) and nulls (absent), refusing duplicate keys,
// other value types and trailing data.
func readJSONObject(body []byte) (Input, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, ErrBadInput
	}
	in := Input{}
	seen := map[string]bool{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, ErrBadInput
		}
		k, ok := kt.(string)
		if !ok || seen[k] {
			return nil, ErrBadInput
		}
		seen[k] = true
		vt, err := dec.Token()
		if err != nil {
			return nil, ErrBadInput
		}
		switch v := vt.(type) {
		case string:
			in[k] = v
		case bool:
			if v {
				in[k] = "true"
			}
		case nil:
		default: // numbers, objects, arrays
			return nil, ErrBadInput
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, ErrBadInput
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, ErrBadInput
	}
	return in, nil
}

func (in Input) valid() error {
	for k, v := range in {
		if !utf8.ValidString(k) || !utf8.ValidString(v) || len(k) > 64 {
			return ErrBadInput
		}
		if len(v) > MaxField && k != "password" && k != "current_password" {
			return ErrBadInput
		}
	}
	return nil
}

// Bool reads a checkbox or boolean field.
func (in Input) Bool(k string) bool {
	switch strings.ToLower(in[k]) {
	case "1", "true", "on", "yes":
		return true
	}
	return false
}

// ParseEmail validates an address typed into a form: a bare address (no
// display name), at most 254 bytes, with a domain that has a dot.
func ParseEmail(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 254 || strings.ContainsAny(s, "<>\"\r\n ") {
		return "", false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", false
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || !strings.Contains(s[at:], ".") {
		return "", false
	}
	return s, true
}
