// Package web holds the small HTTP helpers that several Sigra packages
// share: content negotiation between HTML and JSON, JSON error bodies,
// local redirect targets, and [Classify], the one place that decides how
// a failed request is answered and logged.
package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"html"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sigra-go/sigra"
)

// WantsJSON reports whether r should be answered with JSON rather than
// HTML: it sends JSON, asks for JSON before HTML, or carries a bearer token.
func WantsJSON(r *http.Request) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err == nil && mt == "application/json" {
			return true
		}
	}
	if IsBearer(r) {
		return true
	}
	for part := range strings.SplitSeq(r.Header.Get("Accept"), ",") {
		mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		switch strings.ToLower(strings.TrimSpace(mt)) {
		case "application/json":
			return true
		case "text/html", "application/xhtml+xml":
			return false
		}
	}
	return false
}

// IsBearer reports whether r carries an Authorization: Bearer header.
func IsBearer(r *http.Request) bool {
	v := r.Header.Get("Authorization")
	return len(v) > 7 && strings.EqualFold(v[:7], "bearer ")
}

// SendsJSON reports whether r's body is JSON.
func SendsJSON(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/json"
}

// JSONAppender is a value that writes its own JSON without reflection:
// AppendJSON appends to b exactly what encoding/json writes for the value
// (HTML characters escaped, as json.Marshal does), or fails where
// encoding/json would. [JSON] uses it for the answers that matter most.
type JSONAppender interface {
	AppendJSON(b []byte) ([]byte, error)
}

// jsonBuffer is a buffer of [JSON] and the encoder that writes into it.
type jsonBuffer struct {
	b   bytes.Buffer
	enc *json.Encoder
}

// jsonBuffers are the buffers of JSON, reused from one answer to the next.
var jsonBuffers = sync.Pool{New: func() any {
	jb := &jsonBuffer{}
	jb.enc = json.NewEncoder(&jb.b)
	return jb
}}

// JSON writes v as a JSON response with status, followed by a newline,
// with its Content-Length. A v that implements [JSONAppender] writes
// itself; any other goes through encoding/json. A v that does not encode
// gives an empty body.
func JSON(w http.ResponseWriter, status int, v any) {
	jb := jsonBuffers.Get().(*jsonBuffer)
	defer func() {
		if jb.b.Cap() <= 64<<10 { // let unusually large buffers go
			jsonBuffers.Put(jb)
		}
	}()
	jb.b.Reset()
	encoded := false
	if a, ok := v.(JSONAppender); ok {
		if b, err := a.AppendJSON(jb.b.AvailableBuffer()); err == nil {
			jb.b.Write(append(b, '\n'))
			encoded = true
		}
	}
	if !encoded {
		_ = jb.enc.Encode(v) // writes nothing when it fails
	}
	// The headers' values share one array; each slice has a capacity of
	// one, so a later Add copies it. The names are in canonical form.
	hv := []string{"application/json; charset=utf-8", "no-store", "nosniff", strconv.Itoa(jb.b.Len())}
	h := w.Header()
	h["Content-Type"] = hv[0:1:1]
	h["Cache-Control"] = hv[1:2:2]
	h["X-Content-Type-Options"] = hv[2:3:3]
	h["Content-Length"] = hv[3:4:4]
	w.WriteHeader(status)
	_, _ = w.Write(jb.b.Bytes())
}

// AppendJSONString appends s to b as a JSON string, as encoding/json
// writes it: quoted, with the quote, the backslash and control characters
// escaped, <, > and & as \u003c, \u003e and \u0026, U+2028 and U+2029 as
// \u2028 and \u2029, and each byte of invalid UTF-8 as \ufffd.
func AppendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendJSONTime appends t to b as encoding/json writes a time.Time: an
// RFC 3339 string with the fraction of a second it has. Like
// encoding/json, it fails for a time RFC 3339 cannot show (a year past
// 9999).
func AppendJSONTime(b []byte, t time.Time) ([]byte, error) {
	b = append(b, '"')
	b, err := t.AppendText(b)
	if err != nil {
		return nil, err
	}
	return append(b, '"'), nil
}

// ErrorBody is the JSON error shape of every Sigra endpoint:
//
//	{"error": {"code": "invalid_credentials", "message": "...", "fields": {"email": "..."}}}
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of [ErrorBody]. Code is stable; Message is for
// people and may change.
type ErrorDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// Error writes a JSON error body.
func Error(w http.ResponseWriter, status int, code, message string) {
	JSON(w, status, ErrorBody{Error: ErrorDetail{Code: code, Message: message}})
}

// PlainError answers r with a JSON error when it wants JSON, otherwise
// with a minimal HTML page (a complete document, with a language and a
// title, so it stays accessible) carrying message.
func PlainError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	if WantsJSON(r) {
		Error(w, status, code, message)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	title := html.EscapeString(http.StatusText(status))
	_, _ = io.WriteString(w, "<!doctype html>\n<html lang=\"en\">\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>"+
		title+"</title>\n<main>\n<h1>"+title+"</h1>\n<p>"+html.EscapeString(message)+"</p>\n</main>\n")
}

// StatusClientClosed is the status of a request whose client went away
// before its answer (nginx logs it as 499 "client closed request"). No
// answer reaches the client; the status only shows in access logs and
// tests.
const StatusClientClosed = 499

// RetryAfterBusy is the Retry-After of a 503 answer: the hashing pool is
// full, or the store is unreachable or too slow.
const RetryAfterBusy = 2 * time.Second

// Failure is how a request that failed with an error is answered and
// logged; see [Classify].
type Failure struct {
	// Status is 503 (http.StatusServiceUnavailable) when the server is
	// busy or a service it needs is unavailable, [StatusClientClosed]
	// when the client went away, 500 otherwise.
	Status int
	// RetryAfter is the Retry-After of a 503; zero otherwise.
	RetryAfter time.Duration
	// Code is the stable JSON error code ("busy", "internal"); empty
	// when the client went away.
	Code string
	// Message is the text for people, which never repeats the error.
	Message string
	// Level is the level to log the error at: Debug when the client went
	// away, Warn when the service is busy or unavailable (an outage is
	// not a fault of the request, and a flood of them is not a bug),
	// Error otherwise.
	Level slog.Level
}

// Classify decides how to answer r, which failed with err:
//
//   - The client went away (the request's context was cancelled): no
//     answer can reach it, and err is most likely a consequence of the
//     cancellation. [StatusClientClosed], logged at Debug.
//   - The server is at capacity or a service it depends on is unreachable
//     or too slow: err wraps [sigra.ErrBusy] (a full hashing pool,
//     store.ErrUnavailable, a rate limiter whose store failed) or
//     context.DeadlineExceeded. 503 with Retry-After [RetryAfterBusy],
//     code "busy", logged at Warn.
//   - Anything else: 500, code "internal", logged at Error.
//
// Every Sigra package that answers an error it did not expect goes
// through Classify, so an outage is answered the same way on every path.
func Classify(r *http.Request, err error) Failure {
	switch {
	case ClientGone(r):
		return Failure{Status: StatusClientClosed, Level: slog.LevelDebug}
	case errors.Is(err, sigra.ErrBusy) || errors.Is(err, context.DeadlineExceeded):
		return Failure{
			Status: http.StatusServiceUnavailable, RetryAfter: RetryAfterBusy, Level: slog.LevelWarn,
			Code: "busy", Message: "The service is busy. Try again in a moment.",
		}
	default:
		return Failure{
			Status: http.StatusInternalServerError, Level: slog.LevelError,
			Code: "internal", Message: "Something went wrong on our side. Try again.",
		}
	}
}

// ClientGone reports whether r's client went away: its context was
// cancelled (the connection closed, or the HTTP/2 stream was reset). A
// deadline that passed is not that: it means the server was too slow.
func ClientGone(r *http.Request) bool {
	return errors.Is(r.Context().Err(), context.Canceled)
}

// Gone reports whether f is the answer to a client that went away:
// nothing more should be written beyond the status.
func (f Failure) Gone() bool { return f.Status == StatusClientClosed }

// Write answers r with f: for a client that went away the status alone
// (nothing reaches it anyway), otherwise Retry-After when f has one and
// the error as [PlainError] writes it (JSON or a minimal HTML page).
func (f Failure) Write(w http.ResponseWriter, r *http.Request) {
	if f.Gone() {
		w.WriteHeader(f.Status)
		return
	}
	SetRetryAfter(w.Header(), f.RetryAfter)
	PlainError(w, r, f.Status, f.Code, f.Message)
}

// SetRetryAfter sets the Retry-After header to d in whole seconds,
// rounded up (at least 1). A d that is not positive sets nothing.
func SetRetryAfter(h http.Header, d time.Duration) {
	if d <= 0 {
		return
	}
	h.Set("Retry-After", strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10))
}

// maxReturnTo bounds the length of a redirect target.
const maxReturnTo = 2048

// LocalPath returns s if it is a safe local redirect target: an absolute
// path on this site ("/account?tab=1"), with no scheme, no host, no
// backslash, no control characters, and nothing that a browser would read
// as another origin after percent-decoding ("//evil", "/%2F/evil",
// "/\\evil", "https://evil", "javascript:..."). ok is false otherwise.
func LocalPath(s string) (string, bool) {
	if s == "" || len(s) > maxReturnTo || !utf8.ValidString(s) {
		return "", false
	}
	// Check the raw form and every percent-decoded form: browsers and
	// servers may decode more than once. Deeper nesting is refused.
	cur := s
	for i := 0; ; i++ {
		if !localPathShape(cur) {
			return "", false
		}
		dec, err := url.PathUnescape(cur)
		if err != nil {
			return "", false
		}
		if dec == cur {
			break
		}
		if i == 3 {
			return "", false
		}
		cur = dec
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return "", false
	}
	return s, true
}

func localPathShape(s string) bool {
	if len(s) == 0 || s[0] != '/' {
		return false
	}
	if len(s) > 1 && (s[1] == '/' || s[1] == '\\') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || c == '\\' {
			return false
		}
	}
	// Unicode characters that some user agents fold into '/' or '\'.
	return !strings.ContainsAny(s, "\u2044\u2215\u29f8\uff0f\uff3c\ufe68")
}
