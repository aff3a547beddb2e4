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
	"strings"
	"sync"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/middleware"
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
// use. It is set up by New, [Kernel.Forms] (before any route is
// registered) and [Kernel.Handle], and is safe for concurrent use.
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
	// forms are the schemas of the feature's routes, keyed by "METHOD
	// path" as given to Handle (see [Kernel.Forms]).
	forms map[string]Fields
	// routes are the routes given to Handle that take a body, keyed as
	// forms, for FormsCheck; routesMu guards them.
	routesMu sync.Mutex
	routes   map[string]bool
	// jobs are the functions registered with HandleLater, run in their own
	// goroutine when the sender cannot queue jobs.
	jobs map[string]mail.JobFunc
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
// context (for audit rows and notices): under the session middleware, a
// route without a body reads those the middleware recorded
// ([sigra.ClientFrom]) and gets the request as it came, without a copy; POST bodies are limited to
// middleware.DefaultBodyLimit. A route that takes a body (any method but
// GET and HEAD) carries its schema, the one given to [Kernel.Forms] for
// "METHOD path", in its requests' context, where [ReadInput] finds it.
// guards wrap the handler, outermost first (for example
// k.Guard.RequireUser).
func (k *Kernel) Handle(mux *http.ServeMux, method, path string, h http.HandlerFunc, guards ...func(http.Handler) http.Handler) {
	body := takesBody(method)
	fields, ok := k.forms[method+" "+path]
	if ok && fields == nil {
		fields = Fields{} // declared without fields: not "no schema"
	}
	var next http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !body && sigra.ClientFrom(r.Context()) != nil {
			// The session middleware recorded the request's client, which
			// audit rows read (see audit.WithRequest): a route without a
			// body needs no context of its own, nor a copy of the request.
			h(w, r)
			return
		}
		ctx := audit.WithRequest(r.Context(), r, k.Site.ClientIP(r))
		if body {
			ctx = withForm(ctx, fields)
		}
		h(w, r.WithContext(ctx))
	})
	if body {
		k.routesMu.Lock()
		if k.routes == nil {
			k.routes = map[string]bool{}
		}
		k.routes[method+" "+path] = true
		k.routesMu.Unlock()
	}
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

// RecordOutside writes a success event outside any transaction, for
// events that follow a change already made (a sign-in, a sign-out): the
// write ignores the cancellation of ctx (a client that hangs up once the
// change is made cannot keep it out of the log; see
// audit.Logger.RecordAfter), and a failure to write it is logged (see
// [Kernel.LogFailure]).
//
// Never call it inside the function given to [Kernel.InTx] (or any other
// transaction of the store): the write goes around the open transaction,
// which on SQLite holds the only writer connection, so it would wait for
// a transaction that waits for it. Call it after InTx has returned.
func (k *Kernel) RecordOutside(ctx context.Context, action, actor, subject string, meta map[string]string) {
	e := audit.Event{Action: action, ActorID: actor, SubjectID: subject, Outcome: audit.OutcomeSuccess, Metadata: meta}
	if err := k.Audit.RecordAfter(ctx, e); err != nil {
		k.LogFailure(ctx, "audit row not written", err, "action", action)
	}
}

// LogFailure logs err, a failure that the request goes on without (a
// sign-out after a change already committed, an audit row written after
// it, a notice), as msg with the feature's name ("feature"), attrs (key
// and value pairs, as [slog.Logger.Log] takes them) and err ("err"). ctx
// is the request's context, or one derived from it. The level is the one
// [web.Classify] gives the request: Debug when the client went away (ctx
// was cancelled, and err is most likely a consequence of it), Warn when
// the server is busy or the store is unreachable or too slow, Error
// otherwise. It answers nothing: the request goes on, or has already been
// answered.
func (k *Kernel) LogFailure(ctx context.Context, msg string, err error, attrs ...any) {
	f := web.Classify(new(http.Request).WithContext(ctx), err)
	args := make([]any, 0, len(attrs)+4)
	args = append(args, "feature", k.name)
	args = append(args, attrs...)
	args = append(args, "err", err)
	k.Log.Log(ctx, f.Level, msg, args...)
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
