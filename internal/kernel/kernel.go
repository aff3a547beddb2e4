// Package kernel is what every feature package (account, mfa, and the
// ones after them) is built on, so that each flow reads top to bottom
// without the plumbing: the shared dependencies and their checks, routes
// with the request's address and a body limit, answers as a page or JSON,
// emails rendered and queued in the caller's transaction, audit rows,
// lockouts that still lock when the notice cannot be queued, and the
// opening of an emailed link's POST.
package kernel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/password"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
	"github.com/sigra-go/sigra/ui"
)

// Store is what the kernel needs of a feature's store: users (for
// lockouts), the limiter, the audit log and transactions.
type Store interface {
	store.Users
	store.Limiter
	store.AuditLog
	store.Transactor
}

// Deps are the shared dependencies a feature is built with; the feature
// copies them from its Config.
type Deps struct {
	Sessions *session.Manager
	Guard    *middleware.Guard
	UI       *ui.UI
	Mail     mail.Sender
	// Audit and Limiter are optional: by default they are built over the
	// feature's store.
	Audit   *audit.Logger
	Limiter *middleware.RateLimiter
}

// Kernel holds a feature's shared dependencies and the helpers its flows
// use. It is immutable after New and safe for concurrent use.
type Kernel struct {
	name    string
	Site    *site.Site
	Store   Store
	Sess    *session.Manager
	Guard   *middleware.Guard
	UI      *ui.UI
	Mail    mail.Sender
	Audit   *audit.Logger
	Limiter *middleware.RateLimiter
	Log     *slog.Logger
}

// New checks d for the feature called name, whose UI pack is called pack,
// and fills the defaults. Errors wrap [sigra.ErrConfig] and say which
// field is missing.
func New(name, pack string, st Store, d Deps) (*Kernel, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", sigra.ErrConfig, name, fmt.Sprintf(format, args...))
	}
	switch {
	case st == nil:
		return nil, bad("Config.Store is required")
	case d.Sessions == nil:
		return nil, bad("Config.Sessions is required")
	case d.Guard == nil:
		return nil, bad("Config.Guard is required")
	case d.UI == nil:
		return nil, bad("Config.UI is required")
	case d.Mail == nil:
		return nil, bad("Config.Mail is required (an *mail.Outbox in production, a *mail.Mailbox in development)")
	}
	s := d.Sessions.Site()
	if d.UI.Site() != s {
		return nil, bad("the UI and the session manager were built with different sites; build both from one *site.Site")
	}
	if !d.UI.HasPack(pack) {
		return nil, bad("the UI has no %q pack: add %s.Pages() to ui.Config.Packs", pack, pack)
	}
	k := &Kernel{
		name: name, Site: s, Store: st, Sess: d.Sessions, Guard: d.Guard, UI: d.UI, Mail: d.Mail,
		Audit: d.Audit, Limiter: d.Limiter, Log: s.Logger(),
	}
	var err error
	if k.Audit == nil {
		if k.Audit, err = audit.New(audit.Config{Store: st, Now: s.Clock(), Logger: k.Log}); err != nil {
			return nil, err
		}
	}
	if k.Limiter == nil {
		if k.Limiter, err = middleware.NewRateLimiter(s, middleware.RateLimiterConfig{Limiter: st}); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// Now returns the site clock's time.
func (k *Kernel) Now() time.Time { return k.Site.Now() }

// ---- routes ----

// Handle registers h for method and path (under the site's prefix) on mux.
// The handler sees the request's client address and user agent in its
// context (for audit rows and notices); POST bodies are limited to
// middleware.DefaultBodyLimit. guards wrap the handler, outermost first
// (for example k.Guard.RequireUser).
func (k *Kernel) Handle(mux *http.ServeMux, method, path string, h http.HandlerFunc, guards ...func(http.Handler) http.Handler) {
	var next http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h(w, r.WithContext(audit.WithRequest(r.Context(), r, k.Site.ClientIP(r))))
	})
	for i := len(guards) - 1; i >= 0; i-- {
		next = guards[i](next)
	}
	if method == http.MethodPost {
		next = middleware.LimitBody(0)(next)
	}
	mux.Handle(method+" "+k.Site.Path(path), next)
}

// Path returns the local path of a feature path under the site's prefix.
func (k *Kernel) Path(p string) string { return k.Site.Path(p) }

// Need checks, when a feature is built, that a pack of the UI declares the
// route name, which the feature sends users to; provider says which pack
// provides it, for the error ("account.Pages()"). The error wraps
// [sigra.ErrConfig] and names the feature and the route. A feature calls
// Need in its New for every route it cannot do without, so that
// [Kernel.Route] never falls back for one of them.
func (k *Kernel) Need(name, provider string) error {
	if _, ok := k.UI.Route(name); ok {
		return nil
	}
	return fmt.Errorf("%w: %s: no pack of the UI declares the route %q, which %s sends users to: add %s to ui.Config.Packs",
		sigra.ErrConfig, k.name, name, k.name, provider)
}

// Route returns the local path of the route name, which a pack declares
// (such as ui.RouteSignIn). For a route that no pack declares it returns
// the home page: that fallback is only for a destination the feature can
// do without (a link to an optional page). Every route a feature cannot do
// without is checked with [Kernel.Need] when the feature is built, so Route
// never falls back for it: account and mfa send users only to routes
// their own packs declare or that they check this way, and so never use
// the fallback.
func (k *Kernel) Route(name string) string {
	if p, ok := k.UI.Route(name); ok {
		return p
	}
	return k.Site.Home()
}

// Link returns the absolute URL of a feature path under the prefix, with
// the token in the query: the link of an email, built from the site's base
// URL and never from the request.
func (k *Kernel) Link(path, tok string) string {
	return k.Site.URL(k.Site.Path(path), url.Values{"token": {tok}})
}

// Absolute returns the absolute URL of a local path without a query (a
// "?" would be escaped as part of the path).
func (k *Kernel) Absolute(localPath string) string { return k.Site.URL(localPath, nil) }

// ReturnTo returns where a completed flow lands: the form's or the query's
// local return_to, else the site's home page.
func (k *Kernel) ReturnTo(r *http.Request, in Input) string {
	if rt, ok := site.LocalPath(in["return_to"]); ok {
		return rt
	}
	if rt, ok := site.LocalPath(r.URL.Query().Get("return_to")); ok {
		return rt
	}
	return k.Site.Home()
}

// WithNotice adds ?notice= to a local path.
func WithNotice(path, notice string) string {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + "notice=" + url.QueryEscape(notice)
}

// ---- answers ----

// Page builds the page data for r: the common fields from the request
// (see ui.UI.Fill), the title and the page's data.
func (k *Kernel) Page(r *http.Request, title string, data any) *ui.Page {
	return k.UI.Fill(r, &ui.Page{Title: title, Data: data})
}

// Render answers with page name (HTML) or with jsonBody (JSON; {"ok": …}
// when nil).
func (k *Kernel) Render(w http.ResponseWriter, r *http.Request, status int, name string, p *ui.Page, jsonBody any) {
	if web.WantsJSON(r) {
		if jsonBody == nil {
			jsonBody = map[string]any{"ok": status < 400}
		}
		web.JSON(w, status, jsonBody)
		return
	}
	k.UI.Render(w, r, status, name, p)
}

// PageFunc builds the page of an HTML answer. The answers that take one
// call it only when they answer with HTML: a JSON answer skips the page's
// data, however costly (a QR code, the settings sections). An error is
// answered with [Kernel.Error].
type PageFunc func() (*ui.Page, error)

// Built returns the PageFunc of a page already built.
func Built(p *ui.Page) PageFunc {
	return func() (*ui.Page, error) { return p, nil }
}

// FormError answers a refused form: JSON gets {"error": {...}} with the
// field messages; HTML re-renders page name, built by page (a nil page
// renders it without data), with the errors.
func (k *Kernel) FormError(w http.ResponseWriter, r *http.Request, status int, name string, page PageFunc, code, msg string, fields map[string]string) {
	if web.WantsJSON(r) {
		web.JSON(w, status, web.ErrorBody{Error: web.ErrorDetail{Code: code, Message: msg, Fields: fields}})
		return
	}
	p := &ui.Page{}
	if page != nil {
		built, err := page()
		if err != nil {
			k.Error(w, r, err)
			return
		}
		if built != nil {
			p = built
		}
	}
	p.Error = msg
	p.FieldErrors = fields
	k.UI.Render(w, r, status, name, p)
}

// Fail answers an error that is not tied to a form.
func (k *Kernel) Fail(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	if web.WantsJSON(r) {
		web.Error(w, status, code, msg)
		return
	}
	k.UI.Render(w, r, status, "error", k.Page(r, "Something went wrong", &ui.ErrorData{Status: status, Message: msg}))
}

// Error answers err: 429 with Retry-After for a reached limit
// (middleware.LimitError), 503 with Retry-After when the hashing pool is
// full (sigra.ErrBusy) or the limiter's store fails
// (middleware.ErrLimiterUnavailable), 500 (logged) otherwise.
func (k *Kernel) Error(w http.ResponseWriter, r *http.Request, err error) {
	var le *middleware.LimitError
	switch {
	case errors.As(err, &le):
		w.Header().Set("Retry-After", strconv.Itoa(int((le.RetryAfter+time.Second-1)/time.Second)))
		k.Fail(w, r, http.StatusTooManyRequests, "rate_limited", "Too many attempts. Wait a few minutes and try again.")
	case errors.Is(err, sigra.ErrBusy) || errors.Is(err, middleware.ErrLimiterUnavailable):
		w.Header().Set("Retry-After", "2")
		k.Fail(w, r, http.StatusServiceUnavailable, "busy", "The service is busy. Try again in a moment.")
	default:
		k.Log.ErrorContext(r.Context(), "request failed", "feature", k.name, "path", r.URL.Path, "err", err)
		k.Fail(w, r, http.StatusInternalServerError, "internal", "Something went wrong on our side. Try again.")
	}
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

// Redirect sends the browser to target (303), or answers JSON
// {"ok": true, "next": target, ...body}.
func Redirect(w http.ResponseWriter, r *http.Request, target string, body map[string]any) {
	if web.WantsJSON(r) {
		if body == nil {
			body = map[string]any{}
		}
		body["ok"] = true
		body["next"] = target
		web.JSON(w, http.StatusOK, body)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// RedirectSudo asks the user to re-authenticate and come back to back:
// 403 "sudo_required" for JSON, a redirect to the route ui.RouteSudo
// otherwise. A feature that calls it declares that route in its own pack
// or checks it with [Kernel.Need].
func (k *Kernel) RedirectSudo(w http.ResponseWriter, r *http.Request, back string) {
	if web.WantsJSON(r) {
		web.Error(w, http.StatusForbidden, "sudo_required", "Confirm your identity to continue.")
		return
	}
	http.Redirect(w, r, k.Route(ui.RouteSudo)+"?"+url.Values{"return_to": {back}}.Encode(), http.StatusSeeOther)
}

// ---- transactions, mail, audit ----

// InTx runs fn in one transaction of the feature's store (see
// store.Transactor): the change, its audit rows and its queued emails
// commit together. After a commit it wakes the mail worker, when the
// sender has one, so queued email leaves at once.
func (k *Kernel) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if err := k.Store.InTx(ctx, fn); err != nil {
		return err
	}
	if n, ok := k.Mail.(interface{ Notify() }); ok {
		n.Notify()
	}
	return nil
}

// Queue renders email name for to and sends it through the feature's
// sender with ctx: inside InTx, an outbox queues it in the transaction.
func (k *Kernel) Queue(ctx context.Context, name, to string, data *ui.Email) error {
	data.To = to
	subject, text, html, err := k.UI.RenderEmail(name, data)
	if err != nil {
		return fmt.Errorf("sigra/%s: render email %s: %w", k.name, name, err)
	}
	return k.Mail.Send(ctx, &mail.Message{To: to, Subject: subject, Text: text, HTML: html})
}

// RequestEmail is the email data that a notice about a request carries:
// the client address, the user agent and the time.
func (k *Kernel) RequestEmail(r *http.Request) *ui.Email {
	ip, ua := audit.RequestInfo(r.Context())
	return &ui.Email{IP: ip, UserAgent: ua, When: k.Now()}
}

// Record writes a success event (in the transaction ctx carries, if any).
func (k *Kernel) Record(ctx context.Context, action, actor, subject string, meta map[string]string) error {
	return k.Audit.Record(ctx, audit.Event{Action: action, ActorID: actor, SubjectID: subject, Outcome: audit.OutcomeSuccess, Metadata: meta})
}

// RecordOutside writes a success event outside any transaction, logging
// a failure to write it: for events that follow a change already made
// (a sign-in, a sign-out).
//
// Never call it inside the function given to [Kernel.InTx] (or any other
// transaction of the store): the write goes around the open transaction,
// which on SQLite holds the only writer connection, so it would wait for
// a transaction that waits for it. Call it after InTx has returned.
func (k *Kernel) RecordOutside(ctx context.Context, action, actor, subject string, meta map[string]string) {
	if err := k.Record(store.WithoutTx(ctx), action, actor, subject, meta); err != nil {
		k.Log.ErrorContext(ctx, "audit row not written", "action", action, "err", err)
	}
}

// RecordFailure writes a failed attempt outside any transaction (see
// audit.Logger.RecordFailure), so that no rollback erases it.
//
// Never call it inside the function given to [Kernel.InTx] (or any other
// transaction of the store): the write goes around the open transaction,
// which on SQLite holds the only writer connection, so it would wait for
// it until the audit logger's write timeout and be lost. Call it before
// InTx or after InTx has returned.
func (k *Kernel) RecordFailure(ctx context.Context, action, actor, subject string, meta map[string]string) {
	_ = k.Audit.RecordFailure(ctx, audit.Event{Action: action, ActorID: actor, SubjectID: subject, Outcome: audit.OutcomeFailure, Metadata: meta})
}

// ---- lockouts ----

// Lockout describes one lockout counter of a user.
type Lockout struct {
	// Lock is the counter (password or second factor).
	Lock store.Lock
	// Max failures lock the account for Duration.
	Max      int
	Duration time.Duration
	// Action is the audit action recorded when the lock engages.
	Action string
	// Email is the notice sent to the user when the lock engages; Data
	// fills its data (nil: the request's address, agent and time).
	Email string
	Data  func() *ui.Email
}

// CountFailure counts one failure on l for u. When it engages the lock, the
// lock, its audit row and the notice to the user commit together; if the
// notice cannot be queued, the lock still commits (without it) and the
// failure to queue is logged: a broken mailer must not turn a lockout off.
// It reports whether this failure engaged the lock. It runs its own
// transactions, so it is called outside InTx.
func (k *Kernel) CountFailure(ctx context.Context, r *http.Request, u *store.User, l Lockout) (locked bool, err error) {
	now := k.Now()
	count := func(notify bool) error {
		locked = false
		return k.InTx(ctx, func(ctx context.Context) error {
			until, err := k.Store.RecordFailure(ctx, u.ID, l.Lock, l.Max, l.Duration, now)
			if err != nil || until.IsZero() {
				return err
			}
			locked = true
			if err := k.Record(ctx, l.Action, "", u.ID, map[string]string{"until": until.UTC().Format(time.RFC3339)}); err != nil {
				return err
			}
			if !notify || l.Email == "" {
				return nil
			}
			data := k.RequestEmail(r)
			if l.Data != nil {
				data = l.Data()
			}
			if err := k.Queue(ctx, l.Email, u.Email, data); err != nil {
				return &mailError{err}
			}
			return nil
		})
	}
	err = count(true)
	var me *mailError
	if errors.As(err, &me) {
		k.Log.ErrorContext(ctx, "lockout notice not queued; locking without it", "user", u.ID, "err", me.err)
		err = count(false)
	}
	return locked, err
}

// Verifier checks a password against a stored hash. *password.Hasher is
// the one the features use.
type Verifier interface {
	Verify(ctx context.Context, password, encoded string) (ok, needsRehash bool, err error)
}

var _ Verifier = (*password.Hasher)(nil)

// CheckPassword re-checks the current password of a signed-in user u
// (before a sensitive change): while the lockout l holds it answers
// sigra.ErrLockedOut without hashing; a wrong password counts toward l (and
// may engage it) and answers sigra.ErrInvalidCredentials; a right one ends
// the run of failures and answers nil. A full hashing pool answers
// sigra.ErrBusy. Every user here has a password (callers check).
//
// The lock and its count are the ones l.Lock names: the password lockout
// (store.LockPassword: u.LockedUntil, u.FailedLogins) or the second-factor
// lockout (store.LockMFA: u.MFALockedUntil, u.FailedMFA). Another lock
// answers an error without hashing.
func (k *Kernel) CheckPassword(ctx context.Context, r *http.Request, pw Verifier, u *store.User, plain string, l Lockout) error {
	until, failures, err := lockState(u, l.Lock)
	if err != nil {
		return err
	}
	if k.Now().Before(until) {
		return sigra.ErrLockedOut
	}
	ok, _, err := pw.Verify(ctx, plain, u.PasswordHash)
	if errors.Is(err, sigra.ErrBusy) {
		return err
	}
	if !ok {
		if err != nil {
			k.Log.WarnContext(ctx, "stored password hash could not be verified", "user", u.ID, "err", err)
		}
		if _, err := k.CountFailure(ctx, r, u, l); err != nil {
			return err
		}
		return sigra.ErrInvalidCredentials
	}
	if failures > 0 {
		return k.Store.ClearFailures(ctx, u.ID, l.Lock, k.Now())
	}
	return nil
}

// lockState returns the end of u's lockout lock and its count of
// failures.
func lockState(u *store.User, lock store.Lock) (until time.Time, failures int, err error) {
	switch lock {
	case store.LockPassword:
		return u.LockedUntil, u.FailedLogins, nil
	case store.LockMFA:
		return u.MFALockedUntil, u.FailedMFA, nil
	}
	return time.Time{}, 0, fmt.Errorf("sigra/kernel: unknown lock %d", lock)
}

// mailError marks a failure to queue an email inside a transaction.
type mailError struct{ err error }

func (e *mailError) Error() string { return e.err.Error() }
func (e *mailError) Unwrap() error { return e.err }

// ---- emailed links ----

// OpenLink opens the POST of an emailed link's confirm page: the answer
// never sends a Referer (the token is in the page's URL), the body must be
// readable (else BadInput) and its token well formed (else dead). ok is
// false when it answered.
func (k *Kernel) OpenLink(w http.ResponseWriter, r *http.Request, dead http.HandlerFunc) (in Input, tok string, ok bool) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	in, err := ReadInput(r)
	if err != nil {
		k.BadInput(w, r)
		return nil, "", false
	}
	tok = in["token"]
	if !token.Valid(tok) {
		dead(w, r)
		return nil, "", false
	}
	return in, tok, true
}

// LiveLink checks the token of an emailed link landing on its confirm
// page (the GET changes nothing; only the page's POST consumes the token):
// it must be well formed and name an unexpired, unused token of purpose in
// st. The page is sent with Referrer-Policy: no-referrer. A dead link is
// answered with dead; a store failure with Error. ok is false when it
// answered.
func (k *Kernel) LiveLink(w http.ResponseWriter, r *http.Request, st store.Tokens, tok, purpose string, dead http.HandlerFunc) (*store.Token, bool) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	if !token.Valid(tok) {
		dead(w, r)
		return nil, false
	}
	t, err := st.PeekToken(r.Context(), purpose, token.Digest(tok), k.Now())
	if errors.Is(err, store.ErrNotFound) {
		dead(w, r)
		return nil, false
	}
	if err != nil {
		k.Error(w, r, err)
		return nil, false
	}
	return t, true
}

// TTLText renders a token lifetime for an email: "48 hours", "1 hour",
// "15 minutes", "30 days".
func TTLText(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0 && d >= 72*time.Hour:
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	case d%time.Hour == 0 && d > time.Hour:
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d == time.Hour:
		return "1 hour"
	default:
		if d == time.Minute {
			return "1 minute"
		}
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
}
