package web

import (
	"net/http"
	"net/textproto"
	"strings"
)

// CookieValue returns the value of the first cookie named name in the
// Cookie headers of h, as http.Request.Cookie does (a value in double quotes
// is unquoted; cookies with bytes not allowed in a cookie value are
// skipped), or "" if there is none. Unlike Request.Cookie it reads the
// headers in place and allocates nothing, whatever number of other cookies
// the browser sends. name must be a valid cookie name.
func CookieValue(h http.Header, name string) string {
	for _, line := range h["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			n, v, _ := strings.Cut(textproto.TrimString(part), "=")
			if textproto.TrimString(n) != name {
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			if validCookieValue(v) {
				return v
			}
		}
	}
	return ""
}

// validCookieValue reports whether every byte of v may appear in a cookie
// value, by net/http's rule.
func validCookieValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c >= 0x7f || c == '"' || c == ';' || c == '\\' {
			return false
		}
	}
	return true
}
