package web

import (
	"net/http"
	"strings"
	"testing"
)

const testCookie = "__Host-sigra_session"

// requestCookie is the reference: the value net/http's Request.Cookie
// finds, or "".
func requestCookie(lines []string, name string) string {
	r := &http.Request{Header: http.Header{"Cookie": lines}}
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

func TestCookieValue(t *testing.T) {
	t.Parallel()
	const tok = "q1Xy7fzq2kq3jvhpF8w2pm0K-7Vqj3cTPcL0QGmAZ_g"
	tests := []struct {
		name  string
		lines []string
		want  string
	}{
		{"no header", nil, ""},
		{"empty header", []string{""}, ""},
		{"only cookie", []string{testCookie + "=" + tok}, tok},
		{"among others", []string{"_ga=GA1.2.3; theme=dark; " + testCookie + "=" + tok + "; lang=en"}, tok},
		{"second header line", []string{"theme=dark", "lang=en; " + testCookie + "=" + tok}, tok},
		{"first of two wins", []string{testCookie + "=first; " + testCookie + "=" + tok}, "first"},
		{"spaces around", []string{" \t" + testCookie + " =" + tok + " \t; a=b"}, tok},
		{"quoted", []string{testCookie + `="` + tok + `"`}, tok},
		{"lone quote is invalid", []string{testCookie + `="`}, ""},
		{"invalid value skipped", []string{testCookie + "=a\\b; " + testCookie + "=" + tok}, tok},
		{"value with space in the middle", []string{testCookie + "=a b"}, "a b"},
		{"name is a prefix", []string{testCookie + "x=" + tok}, ""},
		{"name is a suffix", []string{"x" + testCookie + "=" + tok}, ""},
		{"no equals sign", []string{testCookie}, ""},
		{"empty value", []string{testCookie + "=; a=b"}, ""},
		{"value with equals signs", []string{testCookie + "=a=b=="}, "a=b=="},
		{"other name only", []string{"sigra_session=" + tok}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := CookieValue(http.Header{"Cookie": tt.lines}, testCookie)
			if got != tt.want {
				t.Errorf("CookieValue(%q): got %q, want %q", tt.lines, got, tt.want)
			}
			if ref := requestCookie(tt.lines, testCookie); got != ref {
				t.Errorf("CookieValue(%q): got %q, but Request.Cookie finds %q", tt.lines, got, ref)
			}
		})
	}
}

func TestCookieValueAllocs(t *testing.T) {
	h := http.Header{"Cookie": {"_ga=GA1.2.3; theme=dark; lang=en; consent=yes; " + testCookie + "=q1Xy7fzq2kq3jvhpF8w2pm0K-7Vqj3cTPcL0QGmAZ_g"}}
	if n := testing.AllocsPerRun(100, func() { CookieValue(h, testCookie) }); n != 0 {
		t.Errorf("CookieValue: got %v allocations, want 0", n)
	}
}

// FuzzCookieValue checks CookieValue against net/http's Request.Cookie on
// arbitrary Cookie headers.
func FuzzCookieValue(f *testing.F) {
	for _, s := range []string{
		"",
		testCookie + "=abc",
		"a=b; " + testCookie + `="abc"; c=d`,
		" " + testCookie + " = abc ;",
		testCookie + "=a\\b;" + testCookie + "=ok",
		testCookie + "=\x7f; " + testCookie + "=\tx",
		";;;" + testCookie,
	} {
		f.Add(s, "x=y")
	}
	f.Fuzz(func(t *testing.T, line1, line2 string) {
		lines := []string{line1, line2}
		// Request.Cookie gives up beyond a maximum number of cookies
		// (GODEBUG httpcookiemaxnum, 3000 by default); CookieValue has no
		// reason to.
		if strings.Count(line1, ";")+strings.Count(line2, ";")+2 > 3000 {
			t.Skip("more cookies than net/http parses")
		}
		got := CookieValue(http.Header{"Cookie": lines}, testCookie)
		if want := requestCookie(lines, testCookie); got != want {
			t.Fatalf("CookieValue(%q): got %q, want %q (Request.Cookie)", lines, got, want)
		}
	})
}
