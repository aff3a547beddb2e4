package apptest

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
	"testing/fstest"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/ui"
)

// Paths of the impersonation routes that [MountImpersonation] adds, under
// the site's prefix.
const (
	ImpersonateStartPath = "/test/impersonate"
	ImpersonateStopPath  = "/test/impersonate/stop"
)

// ImpersonationPack declares the well-known route ui.RouteStopImpersonation
// at ImpersonateStopPath, as the admin feature's pack does, so that the
// impersonation banner shows its stop button. Add it to the UI's packs.
func ImpersonationPack() ui.Pack {
	return ui.Pack{
		Name:   "test_impersonation",
		Files:  fstest.MapFS{},
		Routes: map[string]string{ui.RouteStopImpersonation: ImpersonateStopPath},
	}
}

// MountImpersonation adds to mux what the admin feature does for
// impersonation, without its checks of who is an admin: POST
// ImpersonateStartPath (behind the guard's RequireSudo) starts impersonating
// the user whose ID is the form field "user", and POST ImpersonateStopPath
// stops. Both answer 204, or 403/409 with the session error.
func MountImpersonation(mux *http.ServeMux, s *site.Site, users store.Users, sessions *session.Manager, g *middleware.Guard) {
	fail := func(w http.ResponseWriter, err error) {
		status := http.StatusConflict
		if errors.Is(err, session.ErrImpersonating) {
			status = http.StatusForbidden
		}
		http.Error(w, err.Error(), status)
	}
	mux.Handle("POST "+s.Path(ImpersonateStartPath), g.RequireSudo(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := users.UserByID(r.Context(), r.PostFormValue("user"))
		if err != nil {
			fail(w, err)
			return
		}
		target := &sigra.User{ID: u.ID, Email: u.Email, EmailConfirmedAt: u.EmailConfirmedAt, CreatedAt: u.CreatedAt}
		if err := sessions.StartImpersonation(r.Context(), target); err != nil {
			fail(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})))
	mux.Handle("POST "+s.Path(ImpersonateStopPath), g.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := sessions.StopImpersonation(r.Context()); err != nil {
			fail(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})))
}

// Impersonate has the browser c, signed in as an admin within the sudo
// window, start impersonating the user with ID userID through the routes
// of [MountImpersonation], and fails t unless it does.
func (c *Client) Impersonate(t testing.TB, userID string) {
	t.Helper()
	res := c.For(t).Post(c.a.Path(ImpersonateStartPath), url.Values{"user": {userID}})
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("impersonate %s: got %d\n%.500s", userID, res.StatusCode, res.Body)
	}
}

// StopImpersonating stops the browser's impersonation through the routes
// of [MountImpersonation], and fails t unless it does.
func (c *Client) StopImpersonating(t testing.TB) {
	t.Helper()
	res := c.For(t).Post(c.a.Path(ImpersonateStopPath), nil)
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("stop impersonating: got %d\n%.500s", res.StatusCode, res.Body)
	}
}
