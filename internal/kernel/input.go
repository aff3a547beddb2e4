package kernel

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
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

// BadInput answers a request whose body could not be read as a form or a
// JSON object (see ReadInput).
func (k *Kernel) BadInput(w http.ResponseWriter, r *http.Request) {
	k.Fail(w, r, http.StatusBadRequest, "invalid_input", "The form could not be read. Reload the page and try again.")
}

// BadForm re-renders page name (built by page, see [Kernel.FormError])
// after a body that could not be read.
func (k *Kernel) BadForm(w http.ResponseWriter, r *http.Request, name string, page PageFunc) {
	k.FormError(w, r, http.StatusBadRequest, name, page, "invalid_input", "The form could not be read. Reload the page and try again.", nil)
}

// Readable reads the body of a request that takes no fields but its CSRF
// token, and answers a malformed one: every POST refuses input it cannot
// read before it changes anything. ok is false when it answered.
func (k *Kernel) Readable(w http.ResponseWriter, r *http.Request) bool {
	if _, err := ReadInput(r); err != nil {
		k.BadInput(w, r)
		return false
	}
	return true
}
