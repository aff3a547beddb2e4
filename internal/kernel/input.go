package kernel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/ui"
)

// MaxField bounds every input value but passwords (bounded by the
// password policy, and by the body limit), in bytes.
const MaxField = 1024

// maxKey bounds field names, in bytes.
const maxKey = 64

// ErrBadInput is a request whose body could not be read as a form or a
// JSON object, or whose fields do not fit the route's schema. Every error
// of [ReadInput] is an [*InputError] wrapping it.
var ErrBadInput = errors.New("sigra: malformed request")

// The codes of an [InputError]. They are stable: clients branch on them.
const (
	// CodeInvalidInput is a body that could not be read at all: not a
	// form or a JSON object, a field name that is not text, a file.
	CodeInvalidInput = "invalid_input"
	// CodeUnknownField is a JSON field the route does not take.
	CodeUnknownField = "unknown_field"
	// CodeInvalidType is a JSON value of the wrong type (a number, an
	// object or a boolean where text is expected, text where a boolean
	// is expected), or a checkbox value that is not a boolean.
	CodeInvalidType = "invalid_type"
	// CodeInvalidText is a value that is not valid text: invalid UTF-8,
	// a lone or mis-paired surrogate escape in JSON, or control
	// characters where the field takes none.
	CodeInvalidText = "invalid_text"
	// CodeTooLong is a value longer than [MaxField].
	CodeTooLong = "too_long"
	// CodeDuplicateField is a field sent more than once (a repeated form
	// field, a duplicate JSON key).
	CodeDuplicateField = "duplicate_field"
)

// unreadable is the message of a body that could not be read at all.
const unreadable = "The form could not be read. Reload the page and try again."

// InputError is a request body that [ReadInput] refused. It wraps
// [ErrBadInput]. Code is one of the Code constants. A body that could not
// be read at all has the code "invalid_input" and no Field; otherwise
// Field is the first field refused (in the order of a JSON body, in
// sorted order for a form) and Fields holds a message for every refused
// field. Message is for people, names the first field, and may change.
type InputError struct {
	// Code is the stable code of the refusal, such as "unknown_field".
	Code string
	// Field is the first refused field's name; "" when the body could
	// not be read at all.
	Field string
	// Message says what was refused, for people.
	Message string
	// Fields maps every refused field to a message for it; nil when the
	// body could not be read at all.
	Fields map[string]string
}

// Error returns the code and the field, never the value.
func (e *InputError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s (%s)", ErrBadInput, e.Code)
	}
	return fmt.Sprintf("%s (%s at %q)", ErrBadInput, e.Code, e.Field)
}

// Unwrap returns [ErrBadInput].
func (e *InputError) Unwrap() error { return ErrBadInput }

// badBody is the error of a body that could not be read at all.
func badBody() *InputError {
	return &InputError{Code: CodeInvalidInput, Message: unreadable}
}

// Kind is the kind of a field in a route's schema ([Fields]): what the
// field accepts and how it is read.
type Kind int

// The kinds of fields. Every kind accepts a JSON null as an absent field;
// no value longer than [MaxField] bytes is accepted but a Secret's.
const (
	// Text is one line of text, such as an address, a code, a token or
	// a return_to path: a JSON string or a form value, valid UTF-8 with
	// no control characters (tabs and line breaks included). Leading and
	// trailing white space is trimmed.
	Text Kind = iota + 1
	// Secret is a password: valid UTF-8 (control characters are left to
	// the password policy), never trimmed, bounded only by the body limit.
	Secret
	// Bool is a checkbox: a JSON boolean, or a form value "1", "true",
	// "on" or "yes" (true) or "", "0", "false", "off" or "no" (false),
	// in any case. True reads as "true", false as an absent field.
	Bool
	// Custom is a field of the host application's own, such as one an
	// override of a page adds to its form: text that may hold tabs and
	// line breaks (no other control characters), kept as sent, or a JSON
	// boolean (true reads as "true", false as an absent field).
	Custom
	// Object is a structured value, such as a WebAuthn credential: a JSON
	// object in a JSON body, read as its JSON text, or a form value
	// holding a JSON object's text. Valid UTF-8, bounded only by the body
	// limit; what the object holds is for the handler to check.
	Object
	// loose is a field of a route without a schema: any text but
	// invalid text, or a JSON boolean, as Custom; passwords are not
	// bounded.
	loose
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case Text:
		return "Text"
	case Secret:
		return "Secret"
	case Bool:
		return "Bool"
	case Custom:
		return "Custom"
	case Object:
		return "Object"
	case loose:
		return "loose"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// OtherFields is the name under which a schema gives the kind of every
// field it does not name: a schema without it takes only its own fields.
const OtherFields = "*"

// Fields is a route's schema: the fields its handler reads, by name, and
// their kinds. The CSRF token's field (middleware.CSRFFieldName) is part
// of every schema, as Text. A nil Fields is no schema; an empty one takes
// no field but the CSRF token.
//
// A JSON body must fit the schema: a field it does not name is refused
// (unknown_field), and so is a value of the wrong type (invalid_type).
// A form body is what a browser sends: the page's fields, the CSRF token
// and whatever inputs an override of the page adds, so the fields the
// schema does not name are not refused for being there, and never
// returned; like every field of a form they must still be valid UTF-8,
// at most [MaxField] bytes and sent once, which any page's form is.
// Either way a named field must hold valid text of its kind
// (invalid_text, too_long) and come once (duplicate_field).
type Fields map[string]Kind

// kind returns the kind of the field name in schema s, and whether s
// takes it.
func (s Fields) kind(name string) (Kind, bool) {
	if s == nil {
		return loose, true
	}
	if k, ok := s[name]; ok {
		return k, true
	}
	if name == middleware.CSRFFieldName {
		return Text, true
	}
	k, ok := s[OtherFields]
	return k, ok
}

// Forms sets the schemas of the feature's routes, keyed by "METHOD path"
// exactly as the feature gives them to [Kernel.Handle] (such as
// "POST /login"). A feature calls it once, in its New, before it
// registers any route. [ReadInput] reads the body of a route that has a
// schema strictly (see [Fields]); a route without one keeps the reading
// described at ReadInput. [Kernel.FormsCheck] lists the routes without a
// schema.
func (k *Kernel) Forms(table map[string]Fields) { k.forms = table }

// FormsCheck compares the schemas given to [Kernel.Forms] with the routes
// registered so far with [Kernel.Handle] that take a body (every method
// but GET and HEAD): unschemed lists the routes without a schema, unused
// the schemas of no registered route, both as "METHOD path", sorted. A
// feature's tests check that both are empty once every route is mounted.
func (k *Kernel) FormsCheck() (unschemed, unused []string) {
	k.routesMu.Lock()
	defer k.routesMu.Unlock()
	for r := range k.routes {
		if _, ok := k.forms[r]; !ok {
			unschemed = append(unschemed, r)
		}
	}
	for r := range k.forms {
		if !k.routes[r] {
			unused = append(unused, r)
		}
	}
	slices.Sort(unschemed)
	slices.Sort(unused)
	return unschemed, unused
}

// takesBody reports whether requests of method carry a body to read.
func takesBody(method string) bool {
	return method != http.MethodGet && method != http.MethodHead
}

// formState is what [Kernel.Handle] attaches to a request that takes a
// body: the route's schema, and the last error of ReadInput on it, for
// BadInput and BadForm. A request is served by one goroutine.
type formState struct {
	fields Fields // nil: no schema
	err    *InputError
}

type formKey struct{}

// withForm returns ctx carrying a new form state for the schema fields.
func withForm(ctx context.Context, fields Fields) context.Context {
	return context.WithValue(ctx, formKey{}, &formState{fields: fields})
}

func formFrom(ctx context.Context) *formState {
	s, _ := ctx.Value(formKey{}).(*formState)
	return s
}

// Input is a request's fields, read from a form or a JSON object.
type Input map[string]string

// ReadInput reads r's fields from an urlencoded or multipart form, or from
// a JSON object. On a route registered with [Kernel.Handle] that has a
// schema, the fields are read as the schema says (see [Fields]): a JSON
// body with a field the route does not take or a value of the wrong type
// is refused, a form's other fields are not returned. On any other
// request every field is read: a JSON object's strings, true (as "true"),
// false and null (absent), and no other value type.
//
// Either way, a body is refused when it is not a form or a JSON object
// (another Content-Type, a syntax error, trailing data, a file in a
// multipart form), when a field name is not 1 to 64 bytes of text without
// control characters, and when a field it reads, or any field of a form,
// comes twice (a repeated form field, a duplicate JSON key), holds
// invalid UTF-8 or a lone or mis-paired surrogate escape (\ud800 to
// \udfff; encoding/json would turn it silently into U+FFFD), or is longer
// than [MaxField] bytes (but a password's). The error is an [*InputError] wrapping [ErrBadInput];
// [Kernel.BadInput] and [Kernel.BadForm] answer it.
func ReadInput(r *http.Request) (Input, error) {
	st := formFrom(r.Context())
	var fields Fields
	if st != nil {
		fields = st.fields
	}
	in, err := readInput(r, fields)
	if st != nil {
		st.err = err
	}
	if err != nil {
		return nil, err
	}
	return in, nil
}

// ReadFields is [ReadInput] with the schema fields, for a route that a
// feature registers without a Kernel (a JSON-only API): a JSON field the
// schema does not name is refused, and so on as [Fields] says.
func ReadFields(r *http.Request, fields Fields) (Input, error) {
	if fields == nil {
		fields = Fields{}
	}
	in, err := readInput(r, fields)
	if err != nil {
		return nil, err
	}
	return in, nil
}

func readInput(r *http.Request, fields Fields) (Input, *InputError) {
	if web.SendsJSON(r) {
		body, err := io.ReadAll(io.LimitReader(r.Body, middleware.DefaultBodyLimit+1))
		if err != nil || len(body) > middleware.DefaultBodyLimit {
			return nil, badBody()
		}
		return readJSONObject(body, fields)
	}
	mt := ""
	if ct := r.Header.Get("Content-Type"); ct != "" {
		var err error
		if mt, _, err = mime.ParseMediaType(ct); err != nil {
			return nil, badBody()
		}
	}
	switch mt {
	case "", "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return nil, badBody()
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(middleware.DefaultBodyLimit); err != nil {
			return nil, badBody()
		}
		if r.MultipartForm != nil && len(r.MultipartForm.File) > 0 {
			return nil, badBody()
		}
	default:
		return nil, badBody()
	}
	return readForm(r.PostForm, fields)
}

// readForm reads the fields of a parsed form, in sorted order.
func readForm(form map[string][]string, fields Fields) (Input, *InputError) {
	names := make([]string, 0, len(form))
	for name := range form {
		if !validName(name) {
			return nil, badBody()
		}
		names = append(names, name)
	}
	slices.Sort(names)
	in := make(Input, len(names))
	var fe fieldErrors
	for _, name := range names {
		// A field the route does not read (the page's own, such as one
		// an override adds) is checked as a form-wide field, never
		// returned.
		kind, read := fields.kind(name)
		if !read {
			kind = loose
		}
		vs := form[name]
		if len(vs) > 1 {
			fe.add(name, CodeDuplicateField, msgDuplicate)
			continue
		}
		v := value{text: vs[0], valid: utf8.ValidString(vs[0]), form: true}
		if s, present, code, msg := v.read(name, kind); code != "" {
			fe.add(name, code, msg)
		} else if present && read {
			in[name] = s
		}
	}
	if err := fe.err(); err != nil {
		return nil, err
	}
	return in, nil
}

// readJSONObject reads one JSON object: its keys must be valid names, its
// values fit the kinds of the schema fields (or of a route without one),
// and nothing may follow it.
func readJSONObject(body []byte, fields Fields) (Input, *InputError) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, badBody()
	}
	in := Input{}
	seen := map[string]bool{}
	var fe fieldErrors
	for dec.More() {
		start := dec.InputOffset()
		kt, err := dec.Token()
		if err != nil {
			return nil, badBody()
		}
		name, ok := kt.(string)
		if !ok || !validName(name) || !rawText(literal(body[start:dec.InputOffset()])) {
			return nil, badBody()
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, badBody()
		}
		kind, known := fields.kind(name)
		switch {
		case seen[name]:
			if known {
				fe.add(name, CodeDuplicateField, msgDuplicate)
			}
			continue
		case !known:
			seen[name] = true
			fe.add(name, CodeUnknownField, "Unknown field.")
			continue
		}
		seen[name] = true
		v, ok := jsonValue(raw)
		if !ok {
			return nil, badBody()
		}
		if s, present, code, msg := v.read(name, kind); code != "" {
			fe.add(name, code, msg)
		} else if present {
			in[name] = s
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, badBody()
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, badBody()
	}
	if err := fe.err(); err != nil {
		return nil, err
	}
	return in, nil
}

// validName reports whether a field name is 1 to 64 bytes of valid UTF-8
// without control characters.
func validName(name string) bool {
	if name == "" || len(name) > maxKey || !utf8.ValidString(name) {
		return false
	}
	return !strings.ContainsFunc(name, unicode.IsControl)
}

// literal returns the JSON string literal at the end of raw, which holds
// a string token and what came before it (white space, a comma).
func literal(raw []byte) []byte {
	if i := bytes.IndexByte(raw, '"'); i >= 0 {
		return raw[i:]
	}
	return nil
}

// rawText reports whether a JSON string literal (quotes included, its
// syntax already checked) is valid text: valid UTF-8, and every escaped
// surrogate (\ud800 to \udfff) a high one followed at once by a low one.
func rawText(lit []byte) bool {
	if len(lit) < 2 || !utf8.Valid(lit) {
		return false
	}
	for i := 1; i < len(lit)-1; i++ {
		if lit[i] != '\\' {
			continue
		}
		i++ // the escaped character
		if lit[i] != 'u' {
			continue
		}
		if i+4 >= len(lit) {
			return false
		}
		r := hex4(lit[i+1 : i+5])
		i += 4
		switch {
		case r >= 0xdc00 && r <= 0xdfff, r < 0:
			return false // a low surrogate without a high one, or no hex
		case r >= 0xd800 && r <= 0xdbff:
			if i+6 >= len(lit) || lit[i+1] != '\\' || lit[i+2] != 'u' {
				return false
			}
			if lo := hex4(lit[i+3 : i+7]); lo < 0xdc00 || lo > 0xdfff {
				return false
			}
			i += 6
		}
	}
	return true
}

// hex4 reads four hex digits, or returns -1.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// value is one field's value as sent.
type value struct {
	text  string // a string's text
	valid bool   // the string is valid text
	form  bool   // a form value (always a string)
	json  byte   // a JSON value's type: '"', 't', 'f', 'n', 'o' (object), or 'x' (number, array)
}

// jsonValue classifies a raw JSON value. ok is false when a string
// cannot be decoded (which the decoder has already ruled out).
func jsonValue(raw json.RawMessage) (v value, ok bool) {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return v, false
	}
	switch raw[0] {
	case '"':
		v.json = '"'
		v.valid = rawText(raw)
		if err := json.Unmarshal(raw, &v.text); err != nil {
			return v, false
		}
	case 't', 'f', 'n':
		v.json = raw[0]
	case '{':
		v.json = 'o'
		v.text = string(raw)
		v.valid = utf8.Valid(raw)
	default:
		v.json = 'x'
	}
	return v, true
}

// The messages at a refused field.
const (
	msgDuplicate  = "Sent more than once."
	msgUnreadable = "Holds characters that could not be read (invalid UTF-8 or a lone surrogate)."
	msgControl    = "Holds control characters, which are not allowed here."
)

// read checks v as a field name of kind and returns what the Input holds
// for it: the text, and whether the field is present. code is the error
// code when it is refused, msg the message at the field.
func (v value) read(name string, kind Kind) (s string, present bool, code, msg string) {
	isString := v.form || v.json == '"'
	switch {
	case !v.form && v.json == 'n':
		return "", false, "", ""
	case kind == Bool && v.form:
		switch strings.ToLower(v.text) {
		case "1", "true", "on", "yes":
			return "true", true, "", ""
		case "", "0", "false", "off", "no":
			return "", false, "", ""
		}
		return "", false, CodeInvalidType, "Must be checked or not: 1, true, on or yes, or empty."
	case kind == Bool:
		switch v.json {
		case 't':
			return "true", true, "", ""
		case 'f':
			return "", false, "", ""
		}
		return "", false, CodeInvalidType, "Must be true or false."
	case kind == Object:
		return readObject(v)
	case (kind == Custom || kind == loose) && !isString:
		switch v.json {
		case 't':
			return "true", true, "", ""
		case 'f':
			return "", false, "", ""
		}
		return "", false, CodeInvalidType, "Must be a string or a boolean."
	case !isString:
		return "", false, CodeInvalidType, "Must be a string."
	case !v.valid:
		return "", false, CodeInvalidText, msgUnreadable
	}
	s = v.text
	if len(s) > MaxField && kind != Secret && !(kind == loose && (name == "password" || name == "current_password")) {
		return "", false, CodeTooLong, fmt.Sprintf("Too long (at most %d bytes).", MaxField)
	}
	switch kind {
	case Text:
		if strings.ContainsFunc(s, unicode.IsControl) {
			return "", false, CodeInvalidText, msgControl
		}
		s = strings.TrimSpace(s)
	case Custom:
		if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' }) {
			return "", false, CodeInvalidText, msgControl
		}
	}
	return s, true, "", ""
}

// readObject reads v as an Object field: a JSON object, or a form value
// holding one.
func readObject(v value) (s string, present bool, code, msg string) {
	const wantObject = "Must be a JSON object."
	switch {
	case v.json == 'o' || v.form:
		if !v.valid {
			return "", false, CodeInvalidText, msgUnreadable
		}
		t := strings.TrimSpace(v.text)
		if v.form && (!strings.HasPrefix(t, "{") || !json.Valid([]byte(t))) {
			return "", false, CodeInvalidType, wantObject
		}
		return t, true, "", ""
	}
	return "", false, CodeInvalidType, wantObject
}

// fieldErrors gathers the refused fields of a body, in order.
type fieldErrors struct {
	first, firstCode string
	fields           map[string]string
}

// add refuses the field name with code and the message msg at the field;
// the first refusal of a field is the one kept.
func (f *fieldErrors) add(name, code, msg string) {
	if f.fields == nil {
		f.first, f.firstCode, f.fields = name, code, map[string]string{}
	}
	if _, ok := f.fields[name]; !ok {
		f.fields[name] = msg
	}
}

func (f *fieldErrors) err() *InputError {
	if f.fields == nil {
		return nil
	}
	var msg string
	switch f.firstCode {
	case CodeUnknownField:
		msg = "The field %q is not accepted here."
	case CodeInvalidType:
		msg = "The field %q has the wrong type of value."
	case CodeInvalidText:
		msg = "The field %q holds characters that are not allowed."
	case CodeTooLong:
		msg = "The field %q is too long."
	default:
		msg = "The field %q was sent more than once."
	}
	return &InputError{Code: f.firstCode, Field: f.first, Message: fmt.Sprintf(msg, f.first), Fields: f.fields}
}

// Bool reads a checkbox or boolean field.
func (in Input) Bool(k string) bool {
	switch strings.ToLower(in[k]) {
	case "1", "true", "on", "yes":
		return true
	}
	return false
}

// inputError returns the error of ReadInput on r, or the error of a body
// that could not be read when there is none to tell.
func inputError(r *http.Request) *InputError {
	if st := formFrom(r.Context()); st != nil && st.err != nil {
		return st.err
	}
	return badBody()
}

// Refusal returns the refusal that err, an error of [ReadInput], carries:
// err itself, as every error of ReadInput is an [*InputError], or the
// refusal of a body that could not be read at all (code "invalid_input")
// for any other error. A handler whose answer to a refused body is not
// [Kernel.BadInput]'s or [Kernel.BadForm]'s (a page that needs the field
// messages before it is built) answers with its code, message and fields.
func Refusal(err error) *InputError {
	var e *InputError
	if errors.As(err, &e) && e != nil {
		return e
	}
	return badBody()
}

// BadInput answers a request whose body [ReadInput] refused, with 400 and
// the error's code: JSON gets {"error": {"code", "message", "fields"}}
// (fields naming each refused field), HTML the error page with the
// message.
func (k *Kernel) BadInput(w http.ResponseWriter, r *http.Request) {
	e := inputError(r)
	if web.WantsJSON(r) {
		web.JSON(w, http.StatusBadRequest, web.ErrorBody{Error: web.ErrorDetail{Code: e.Code, Message: e.Message, Fields: e.Fields}})
		return
	}
	msg := e.Message
	if e.Code != CodeInvalidInput {
		msg += " Reload the page and try again."
	}
	k.UI.Render(w, r, http.StatusBadRequest, "error", k.Page(r, "Something went wrong", &ui.ErrorData{Status: http.StatusBadRequest, Message: msg}))
}

// BadForm re-renders page name (built by page, see [Kernel.FormError])
// after a body that [ReadInput] refused: 400 with the error's code, its
// message, and a message at each refused field.
func (k *Kernel) BadForm(w http.ResponseWriter, r *http.Request, name string, page PageFunc) {
	e := inputError(r)
	k.FormError(w, r, http.StatusBadRequest, name, page, e.Code, e.Message, e.Fields)
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
