package apptest

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// Host starts an application wired outside this package (in one call by
// package kit, or piece by piece as an example application does) on a
// test server, and returns it as an App, so the helpers work on it: Client,
// Mails, LastMail, Flush, Count, QueryRow, Contents, User and CreateUser.
//
// Before build runs, the App has its Clock, Server, URL (the base URL the
// application's site must use, http://localhost:<port>), an empty Mux and
// Backend "sqlite". build wires the application from them, sets the
// fields the test's helpers need (Store, DBPath, Site, UI, Outbox,
// Mailbox, Hasher; Backend "postgres" on PostgreSQL) and returns the
// handler to serve. The server closes when the test ends; closing it
// earlier (a.Server.Close) stops the application, as a process that ends.
func Host(t testing.TB, build func(a *App) http.Handler) *App {
	t.Helper()
	a := &App{Clock: &Clock{t: time.Now().UTC().Truncate(time.Millisecond)}, Mux: http.NewServeMux(), Backend: "sqlite"}
	var handler http.Handler
	ready := make(chan struct{}) // closed once handler is set
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-ready
		if handler == nil {
			http.Error(w, "the application was not built", http.StatusServiceUnavailable)
			return
		}
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(a.Server.Close)
	t.Cleanup(a.close)
	a.newTransport(t)
	u, _ := url.Parse(a.Server.URL)
	a.URL = "http://localhost:" + u.Port()
	func() {
		defer close(ready)
		handler = build(a)
	}()
	if handler == nil {
		t.Fatal("apptest.Host: build returned no handler")
	}
	return a
}
