package kernel

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/ui"
)

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
