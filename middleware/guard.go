package middleware

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/session"
)

// Config configures a [Guard]. Paths are where the account and MFA
// handlers are mounted; the defaults match account.Mount and mfa.Mount
// under "/auth".
type Config struct {
	// SignInPath is where RequireUser sends anonymous HTML requests.
	// Default "/auth/login".
	SignInPath string
	// SecondFactorPath is where RequireUser sends a user whose sign-in is
	// waiting for a second factor. Default "/auth/mfa/challenge".
	SecondFactorPath string
	// SudoPath is where RequireSudo sends a user to re-authenticate.
	// Default "/auth/sudo".
	SudoPath string
	// StepUpPath is where RequireAAL2 sends a user signed in with one
	// factor (to verify a second factor, or enroll one). Default
	// "/auth/mfa/setup".
	StepUpPath string
	// ConfirmPath is where RequireConfirmed sends a user whose address is
	// not confirmed. Default "/auth/confirm".
	ConfirmPath string
	// AfterSignInPath is where RedirectIfSignedIn sends signed-in users.
	// Default "/".
	AfterSignInPath string
	// SudoWindow is how long a re-authentication counts for RequireSudo.
	// Default 10 minutes.
	SudoWindow time.Duration
	// Logger receives errors that do not fail a request. Default
	// slog.Default().
	Logger *slog.Logger
}

// Guard loads the signed-in user and guards routes. Create it with [New];
// it is safe for concurrent use. Its methods RequireUser, RequireSudo,
// RequireAAL2, RequireConfirmed and RedirectIfSignedIn have the type
// func(http.Handler) http.Handler.
type Guard struct {
	cfg      Config
	sessions *session.Manager
}

// New returns a Guard over sessions.
func New(sessions *session.Manager, cfg Config) (*Guard, error) {
	if sessions == nil {
		return nil, errors.New("sigra/middleware: nil session manager")
	}
	def := func(p *string, v string) error {
		if *p == "" {
			*p = v
		}
		if _, ok := web.LocalPath(*p); !ok {
			return errors.New("sigra/middleware: path " + *p + " is not a local absolute path")
		}
		return nil
	}
	for _, d := range []struct {
		p *string
		v string
	}{
		{&cfg.SignInPath, "/auth/login"},
		{&cfg.SecondFactorPath, "/auth/mfa/challenge"},
		{&cfg.SudoPath, "/auth/sudo"},
		{&cfg.StepUpPath, "/auth/mfa/setup"},
		{&cfg.ConfirmPath, "/auth/confirm"},
		{&cfg.AfterSignInPath, "/"},
	} {
		if err := def(d.p, d.v); err != nil {
			return nil, err
		}
	}
	if cfg.SudoWindow == 0 {
		cfg.SudoWindow = 10 * time.Minute
	}
	if cfg.SudoWindow < 0 {
		return nil, errors.New("sigra/middleware: negative SudoWindow")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Guard{cfg: cfg, sessions: sessions}, nil
}

// Load checks the session's user on every request: a user who was
// disabled, whose deletion is scheduled, or who no longer exists is signed
// out, and the request continues anonymous. It must run below the session
// manager's LoadAndSave. It costs no store round trip: the session load
// already read the user.
func (g *Guard) Load(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		a := sigra.AuthFrom(ctx)
		if a.State != sigra.StateAnonymous || a.User != nil {
			u := g.sessions.User(ctx)
			if u == nil || !u.DisabledAt.IsZero() || !u.DeletionDueAt.IsZero() {
				if err := g.sessions.SignOut(ctx); err != nil {
					g.cfg.Logger.ErrorContext(ctx, "sign out of a barred user failed", "err", err)
					web.PlainError(w, r, http.StatusInternalServerError, "internal", "Internal Server Error")
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// SudoWindow returns how long a re-authentication counts for RequireSudo.
func (g *Guard) SudoWindow() time.Duration { return g.cfg.SudoWindow }

// RequireUser lets signed-in users through. Others get, for HTML requests,
// a redirect to the sign-in page (or the second-factor page when their
// sign-in is pending) with a local return_to; for JSON or bearer requests,
// 401 with the error code "unauthenticated".
func (g *Guard) RequireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := sigra.AuthFrom(r.Context())
		if a.SignedIn() {
			next.ServeHTTP(w, r)
			return
		}
		g.unauthenticated(w, r, a)
	})
}

func (g *Guard) unauthenticated(w http.ResponseWriter, r *http.Request, a *sigra.Auth) {
	if web.WantsJSON(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sigra"`)
		web.Error(w, http.StatusUnauthorized, "unauthenticated", "Sign in to continue.")
		return
	}
	target := g.cfg.SignInPath
	if a.State == sigra.StatePending {
		target = g.cfg.SecondFactorPath
	}
	redirectWithReturn(w, r, target)
}

// RequireSudo lets through signed-in users who re-authenticated within the
// configured SudoWindow. Others are sent to re-authenticate and back (HTML)
// or get 403 with the error code "sudo_required" (JSON). Anonymous users
// are handled as by RequireUser.
func (g *Guard) RequireSudo(next http.Handler) http.Handler {
	return g.RequireSudoWithin(g.cfg.SudoWindow)(next)
}

// RequireSudoWithin is RequireSudo with its own window.
func (g *Guard) RequireSudoWithin(window time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a := sigra.AuthFrom(r.Context())
			if !a.SignedIn() {
				g.unauthenticated(w, r, a)
				return
			}
			if a.InSudo(g.sessions.Now(), window) {
				next.ServeHTTP(w, r)
				return
			}
			if web.WantsJSON(r) {
				web.Error(w, http.StatusForbidden, "sudo_required", "Confirm your identity to continue.")
				return
			}
			redirectWithReturn(w, r, g.cfg.SudoPath)
		})
	}
}

// RequireAAL2 lets through users signed in with two factors. Users signed
// in with one are sent to StepUpPath (HTML) or get 403 with the error code
// "aal2_required" (JSON). Anonymous users are handled as by RequireUser.
func (g *Guard) RequireAAL2(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := sigra.AuthFrom(r.Context())
		if !a.SignedIn() {
			g.unauthenticated(w, r, a)
			return
		}
		if a.AAL >= sigra.AAL2 {
			next.ServeHTTP(w, r)
			return
		}
		if web.WantsJSON(r) {
			web.Error(w, http.StatusForbidden, "aal2_required", "This requires two-factor authentication.")
			return
		}
		redirectWithReturn(w, r, g.cfg.StepUpPath)
	})
}

// RequireConfirmed lets through signed-in users whose address is
// confirmed. Others are sent to ConfirmPath (HTML) or get 403 with the
// error code "email_unconfirmed" (JSON). Anonymous users are handled as by
// RequireUser.
func (g *Guard) RequireConfirmed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := sigra.AuthFrom(r.Context())
		if !a.SignedIn() {
			g.unauthenticated(w, r, a)
			return
		}
		if a.User.EmailConfirmed() {
			next.ServeHTTP(w, r)
			return
		}
		if web.WantsJSON(r) {
			web.Error(w, http.StatusForbidden, "email_unconfirmed", "Confirm your email address to continue.")
			return
		}
		redirectWithReturn(w, r, g.cfg.ConfirmPath)
	})
}

// RedirectIfSignedIn sends signed-in users away from pages meant for
// anonymous ones (sign in, register): to a valid local return_to if the
// request has one, else to AfterSignInPath. JSON requests pass through.
func (g *Guard) RedirectIfSignedIn(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !sigra.AuthFrom(r.Context()).SignedIn() || web.WantsJSON(r) || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
			next.ServeHTTP(w, r)
			return
		}
		target := g.cfg.AfterSignInPath
		if rt, ok := ReturnTo(r); ok {
			target = rt
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
	})
}

// ReturnTo returns the request's return_to parameter (query or form) if it
// is a safe local path; see [SafeReturnTo].
func ReturnTo(r *http.Request) (string, bool) {
	v := r.URL.Query().Get("return_to")
	if v == "" && r.Method == http.MethodPost && !web.SendsJSON(r) {
		v = r.PostFormValue("return_to")
	}
	return SafeReturnTo(v)
}

// SafeReturnTo returns s if it is a local path that is safe to redirect
// to: it starts with a single "/", has no scheme, host, backslash or
// control character, and stays so after percent-decoding. "//evil",
// "/\evil", "https://evil", "javascript:alert(1)" and their encoded forms
// are refused.
func SafeReturnTo(s string) (string, bool) { return web.LocalPath(s) }

// redirectWithReturn sends the browser to target with return_to set to
// where it was going: the request's own URL for GET and HEAD, or the local
// path of a same-origin Referer for other methods (a form's body cannot be
// replayed, but its page can be shown again).
func redirectWithReturn(w http.ResponseWriter, r *http.Request, target string) {
	back := ""
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		back = r.URL.RequestURI()
	} else if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host && ref.Path != "" {
		back = ref.RequestURI()
	}
	if p, ok := SafeReturnTo(back); ok && p != target {
		q := url.Values{"return_to": {p}}
		target += "?" + q.Encode()
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusSeeOther)
}
