// Package flow holds what the account and MFA handlers share: reading form
// or JSON input, answering with a page or JSON, the URLs of the flows, and
// the fixed notices a redirect can ask a page to show.
package flow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/ui"
)

// MaxField bounds every input value but passwords (bounded by the
// password policy, and by the body limit).
const MaxField = 1024

// ErrBadInput is a request whose body could not be read as a form or a
// JSON object of strings, or holds invalid UTF-8, repeated fields or
// oversized values.
var ErrBadInput = errors.New("sigra: malformed request")

// Input is a request's fields, read from a form or a JSON object.
type Input map[string]string

// ReadInput reads r's fields from an urlencoded or multipart form, or from
// a JSON object whose values are strings, booleans or null. A body that is
// not valid UTF-8, repeats a field (in a form or as a duplicate JSON key),
// carries a file, or has any other Content-Type is refused with
// ErrBadInput.
func ReadInput(r *http.Request) (Input, error) {
	if web.SendsJSON(r) {
		body, err := io.ReadAll(io.LimitReader(r.Body, middleware.DefaultBodyLimit+1))
		if err != nil || len(body) > middleware.DefaultBodyLimit || !utf8.Valid(body) {
			// encoding/json would turn invalid UTF-8 into U+FFFD silently.
			return nil, ErrBadInput
		}
		in, err := readJSONObject(body)
		if err != nil {
			return nil, ErrBadInput
		}
		return in, in.valid()
	}
	mt := ""
	if ct := r.Header.Get("Content-Type"); ct != "" {
		var err error
		if mt, _, err = mime.ParseMediaType(ct); err != nil {
			return nil, ErrBadInput
		}
	}
	switch mt {
	case "", "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return nil, ErrBadInput
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(middleware.DefaultBodyLimit); err != nil {
			return nil, ErrBadInput
		}
		if r.MultipartForm != nil && len(r.MultipartForm.File) > 0 {
			return nil, ErrBadInput
		}
	default:
		return nil, ErrBadInput
	}
	in := make(Input, len(r.PostForm))
	for k, vs := range r.PostForm {
		if len(vs) > 1 {
			return nil, ErrBadInput
		}
		in[k] = vs[0]
	}
	return in, in.valid()
}

// readJSONObject reads one JSON object of strings, booleans (true is
// "true", false is absent) and nulls (absent), refusing duplicate keys,
// other value types and trailing data.
func readJSONObject(body []byte) (Input, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, ErrBadInput
	}
	in := Input{}
	seen := map[string]bool{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, ErrBadInput
		}
		k, ok := kt.(string)
		if !ok || seen[k] {
			return nil, ErrBadInput
		}
		seen[k] = true
		vt, err := dec.Token()
		if err != nil {
			return nil, ErrBadInput
		}
		switch v := vt.(type) {
		case string:
			in[k] = v
		case bool:
			if v {
				in[k] = "true"
			}
		case nil:
		default: // numbers, objects, arrays
			return nil, ErrBadInput
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, ErrBadInput
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, ErrBadInput
	}
	return in, nil
}

func (in Input) valid() error {
	for k, v := range in {
		if !utf8.ValidString(k) || !utf8.ValidString(v) || len(k) > 64 {
			return ErrBadInput
		}
		if len(v) > MaxField && k != "password" && k != "current_password" {
			return ErrBadInput
		}
	}
	return nil
}

// Bool reads a checkbox or boolean field.
func (in Input) Bool(k string) bool {
	switch strings.ToLower(in[k]) {
	case "1", "true", "on", "yes":
		return true
	}
	return false
}

// ParseEmail validates an address typed into a form: a bare address (no
// display name), at most 254 bytes, with a domain that has a dot.
func ParseEmail(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 254 || strings.ContainsAny(s, "<>\"\r\n ") {
		return "", false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", false
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || !strings.Contains(s[at:], ".") {
		return "", false
	}
	return s, true
}

// Links returns the URLs of every flow under prefix ("/auth").
func Links(prefix string) ui.Links {
	p := prefix
	return ui.Links{
		Home: "/", Login: p + "/login", Logout: p + "/logout", Register: p + "/register",
		Confirm: p + "/confirm", ConfirmResend: p + "/confirm/resend",
		Forgot: p + "/password/forgot", Reset: p + "/password/reset",
		Magic: p + "/magic", MagicVerify: p + "/magic/verify",
		Sudo: p + "/sudo", Settings: p + "/settings",
		Email: p + "/email", EmailConfirm: p + "/email/confirm", EmailCancel: p + "/email/cancel",
		Password: p + "/password",
		Sessions: p + "/sessions", SessionRevoke: p + "/sessions/revoke", SessionsRevokeOthers: p + "/sessions/revoke-others",
		Delete: p + "/delete",
		MFA:    p + "/mfa", MFASetup: p + "/mfa/setup", MFAChallenge: p + "/mfa/challenge",
		MFARecovery: p + "/mfa/recovery", MFARecoveryCodes: p + "/mfa/recovery-codes",
		MFARegenerate: p + "/mfa/recovery-codes/regenerate", MFADisable: p + "/mfa/disable",
		MFATrustedRevoke: p + "/mfa/trusted/revoke", MFATrustedRevokeAll: p + "/mfa/trusted/revoke-all",
	}
}

// CleanPrefix normalises a mount prefix: "auth/" → "/auth", "/" → "".
func CleanPrefix(prefix string) string {
	prefix = "/" + strings.Trim(prefix, "/")
	if prefix == "/" {
		return ""
	}
	return prefix
}

// Notices are the fixed success messages a redirect may ask a page to show
// (?notice=...), so anonymous pages need no session write for a flash.
var Notices = map[string]string{
	"reset":             "Your password was changed. Sign in with the new one.",
	"signed_out":        "You are signed out.",
	"confirmed":         "Your email address is confirmed.",
	"email_changed":     "Your email address was changed.",
	"email_sent":        "We sent a confirmation link to your new address.",
	"email_cancelled":   "The email change was cancelled.",
	"password_changed":  "Your password was changed. Other sessions were signed out.",
	"session_revoked":   "The session was signed out.",
	"sessions_revoked":  "All other sessions were signed out.",
	"resent":            "We sent a new confirmation email.",
	"mfa_enabled":       "Two-factor authentication is on.",
	"mfa_disabled":      "Two-factor authentication is off.",
	"trusted_revoked":   "The browser will be asked for a code again.",
	"trusted_cleared":   "Every trusted browser will be asked for a code again.",
	"codes_regenerated": "New recovery codes are ready. The old ones no longer work.",
	"mfa_expired":       "Your sign-in took too long. Sign in again.",
}

// WithNotice adds ?notice= to a local path.
func WithNotice(path, notice string) string {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + "notice=" + url.QueryEscape(notice)
}

// Responder answers requests with pages or JSON.
type Responder struct {
	UI    *ui.UI
	Links ui.Links
	Log   *slog.Logger
}

// Page builds the common page data for r.
func (x *Responder) Page(r *http.Request, title string, data any) *ui.Page {
	p := &ui.Page{
		Title:     title,
		User:      sigra.UserFrom(r.Context()),
		CSRFField: middleware.CSRFFieldName,
		CSRFToken: middleware.CSRFToken(r),
		Links:     x.Links,
		Data:      data,
	}
	if rt, ok := middleware.ReturnTo(r); ok {
		p.ReturnTo = rt
	}
	if p.User != nil && !p.User.EmailConfirmed() {
		p.Banner = "Confirm your email address: we sent a link and a code to " + p.User.Email + "."
	}
	if n := r.URL.Query().Get("notice"); n != "" {
		p.Flash = Notices[n]
	}
	return p
}

// Render answers with page name (HTML) or with jsonBody (JSON; {"ok": …}
// when nil).
func (x *Responder) Render(w http.ResponseWriter, r *http.Request, status int, name string, p *ui.Page, jsonBody any) {
	if web.WantsJSON(r) {
		if jsonBody == nil {
			jsonBody = map[string]any{"ok": status < 400}
		}
		web.JSON(w, status, jsonBody)
		return
	}
	x.UI.Render(w, r, status, name, p)
}

// FormError answers a refused form: HTML re-renders the page with the
// errors; JSON gets {"error": {...}} with the field messages.
func (x *Responder) FormError(w http.ResponseWriter, r *http.Request, status int, name string, p *ui.Page, code, msg string, fields map[string]string) {
	if web.WantsJSON(r) {
		web.JSON(w, status, web.ErrorBody{Error: web.ErrorDetail{Code: code, Message: msg, Fields: fields}})
		return
	}
	p.Error = msg
	p.FieldErrors = fields
	x.UI.Render(w, r, status, name, p)
}

// Fail answers an error that is not tied to a form.
func (x *Responder) Fail(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	if web.WantsJSON(r) {
		web.Error(w, status, code, msg)
		return
	}
	x.UI.Render(w, r, status, "error", x.Page(r, "Something went wrong", &ui.ErrorData{Status: status, Message: msg}))
}

// Error answers err: 429 with Retry-After for a reached limit, 503 when
// the hashing pool is full, 500 (logged) otherwise.
func (x *Responder) Error(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, middleware.ErrLimited):
		var le *middleware.LimitError
		if errors.As(err, &le) {
			w.Header().Set("Retry-After", fmt.Sprint(int((le.RetryAfter+time.Second-1)/time.Second)))
		}
		x.Fail(w, r, http.StatusTooManyRequests, "rate_limited", "Too many attempts. Wait a few minutes and try again.")
	case errors.Is(err, sigra.ErrBusy):
		w.Header().Set("Retry-After", "2")
		x.Fail(w, r, http.StatusServiceUnavailable, "busy", "The service is busy. Try again in a moment.")
	default:
		x.Log.ErrorContext(r.Context(), "request failed", "path", r.URL.Path, "err", err)
		x.Fail(w, r, http.StatusInternalServerError, "internal", "Something went wrong on our side. Try again.")
	}
}

// BadInput answers an unreadable form.
func (x *Responder) BadInput(w http.ResponseWriter, r *http.Request, name string, p *ui.Page) {
	x.FormError(w, r, http.StatusBadRequest, name, p, "invalid_input", "The form could not be read. Reload the page and try again.", nil)
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
