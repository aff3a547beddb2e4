// Package web holds the small HTTP helpers that several Sigra packages
// share: content negotiation between HTML and JSON, JSON error bodies, and
// local redirect targets.
package web

import (
	"encoding/json"
	"html"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
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
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
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

// JSON writes v as a JSON response with status.
func JSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
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
