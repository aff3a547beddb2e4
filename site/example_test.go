package site_test

import (
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/site"
)

// Every package takes the same site: the prefix places the routes, and
// emailed links are built from the base URL.
func ExampleNew() {
	s, err := site.New(site.Config{BaseURL: "https://app.example.com", Prefix: "/account"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Origin())
	fmt.Println(s.Path("/login"))
	fmt.Println(s.URL(s.Path("/reset"), url.Values{"token": {"abc"}}))
	fmt.Println(s.CookieName("session"))
	// Output:
	// https://app.example.com
	// /account/login
	// https://app.example.com/account/reset?token=abc
	// __Host-session
}

// A plain-HTTP base URL is for local development only; configuration
// mistakes wrap sigra.ErrConfig.
func ExampleNew_errors() {
	_, err := site.New(site.Config{BaseURL: "http://app.example.com"})
	fmt.Println(errors.Is(err, sigra.ErrConfig))
	fmt.Println(err)

	s, err := site.New(site.Config{BaseURL: "http://localhost:8080"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Secure(), s.CookieName("session"))
	// Output:
	// true
	// sigra: invalid config: site: BaseURL "http://app.example.com" is plain HTTP on a host that is not local; use https (or set InsecureAllowHTTP, never in production)
	// false session
}

// Behind a reverse proxy, the client address is the right-most address of
// X-Forwarded-For that is not a trusted proxy; the left part of the
// header, which the client wrote, is ignored.
func ExampleSite_ClientIP() {
	s, err := site.New(site.Config{BaseURL: "https://app.example.com", TrustedProxies: []string{"10.0.0.0/8"}})
	if err != nil {
		log.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.0.0.7:51234"
	r.Header.Set("X-Forwarded-For", "6.6.6.6, 198.51.100.7")
	r.Header.Set("X-Forwarded-Proto", "https")
	fmt.Println(s.ClientIP(r), s.HTTPS(r))

	// A peer that is not a trusted proxy is the client, whatever it sends.
	r.RemoteAddr = "203.0.113.9:40000"
	fmt.Println(s.ClientIP(r), s.HTTPS(r))
	// Output:
	// 198.51.100.7 true
	// 203.0.113.9 false
}

// A cookie domain shares cookies across subdomains, without the __Host-
// prefix.
func ExampleSite_Cookie() {
	s, err := site.New(site.Config{BaseURL: "https://app.example.com", CookieDomain: "example.com"})
	if err != nil {
		log.Fatal(err)
	}
	rec := httptest.NewRecorder()
	http.SetCookie(rec, s.Cookie("session", "v", 0))
	fmt.Println(rec.Header().Get("Set-Cookie"))
	// Output:
	// session=v; Path=/; Domain=example.com; HttpOnly; Secure; SameSite=Lax
}

// LocalPath accepts only paths on this site as redirect targets.
func ExampleLocalPath() {
	for _, s := range []string{"/settings?tab=security", "//evil.example", "/%2F%2Fevil.example", "https://evil.example"} {
		_, ok := site.LocalPath(s)
		fmt.Println(s, ok)
	}
	// Output:
	// /settings?tab=security true
	// //evil.example false
	// /%2F%2Fevil.example false
	// https://evil.example false
}
