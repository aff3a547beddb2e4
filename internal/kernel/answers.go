package kernel

import (
	"errors"
	"net/http"
	"net/url"

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

// Error answers err. A reached limit (middleware.LimitError) gets 429
// with Retry-After. Everything else is answered as [web.Classify]
// decides, and logged ("request failed") at the level it chooses: 503
// with Retry-After when the server is busy or the store is unreachable
// or too slow (sigra.ErrBusy, store.ErrUnavailable,
// middleware.ErrLimiterUnavailable), nothing but the status 499 when the
// client went away (logged at Debug only), 500 otherwise. The answer
// never repeats the error.
func (k *Kernel) Error(w http.ResponseWriter, r *http.Request, err error) {
	var le *middleware.LimitError
	if errors.As(err, &le) {
		web.SetRetryAfter(w.Header(), le.RetryAfter)
		k.Fail(w, r, http.StatusTooManyRequests, "rate_limited", "Too many attempts. Wait a few minutes and try again.")
		return
	}
	f := web.Classify(r, err)
	k.Log.Log(r.Context(), f.Level, "request failed", "feature", k.name, "path", r.URL.Path, "status", f.Status, "err", err)
	if f.Gone() {
		w.WriteHeader(f.Status)
		return
	}
	web.SetRetryAfter(w.Header(), f.RetryAfter)
	k.Fail(w, r, f.Status, f.Code, f.Message)
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
