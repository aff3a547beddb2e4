package ui

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Field is the value of the "input" and "checkbox" partials, built in a
// template with the field function:
//
//	{{template "input" (field . "email" "label" "Email address" "type" "email" "autocomplete" "username")}}
//
// The first arguments are the *Page and the field's name; the rest are
// option pairs named after Field's members in lower case (id, label, type,
// autocomplete, inputmode, hint, placeholder, minlength, maxlength,
// required, autofocus, nospell, mono, errkey, sticky, value, asideurl,
// asidetext). The value comes from Page.Values when it has the field (what
// the user typed, shown again after an error), else from the value option
// (the current value of a setting); never for passwords or one-time codes.
// The error comes from Page.FieldErrors[errkey], errkey defaulting to the
// name.
type Field struct {
	ID, Name, Label, Type    string
	Autocomplete, InputMode  string
	Hint, Placeholder, Value string
	Error                    string
	MinLength, MaxLength     int
	Required, Autofocus      bool
	// NoSpell turns off spell checking and auto-capitalisation (codes).
	NoSpell bool
	// Mono shows the value in a monospace font with wide spacing (codes).
	Mono bool
	// Checked is set for a checkbox whose sticky value is not empty.
	Checked bool
	// AsideURL and AsideText make a link beside the label ("Forgot
	// password?").
	AsideURL, AsideText string
	// DescribedBy lists the ids of the hint and error, for aria-describedby.
	DescribedBy string
}

func makeField(p *Page, name string, opts ...any) (*Field, error) {
	if len(opts)%2 != 0 {
		return nil, fmt.Errorf("field %q: odd number of option arguments", name)
	}
	f := &Field{Name: name, ID: name, Type: "text", Label: name}
	errKey, sticky := name, true
	for i := 0; i < len(opts); i += 2 {
		k, ok := opts[i].(string)
		if !ok {
			return nil, fmt.Errorf("field %q: option name %v is not a string", name, opts[i])
		}
		v := opts[i+1]
		var err error
		switch k {
		case "id":
			f.ID, err = optString(k, v)
		case "label":
			f.Label, err = optString(k, v)
		case "type":
			f.Type, err = optString(k, v)
		case "autocomplete":
			f.Autocomplete, err = optString(k, v)
		case "inputmode":
			f.InputMode, err = optString(k, v)
		case "hint":
			f.Hint, err = optString(k, v)
		case "value":
			f.Value, err = optString(k, v)
		case "placeholder":
			f.Placeholder, err = optString(k, v)
		case "asideurl":
			f.AsideURL, err = optString(k, v)
		case "asidetext":
			f.AsideText, err = optString(k, v)
		case "errkey":
			errKey, err = optString(k, v)
		case "minlength":
			f.MinLength, err = optInt(k, v)
		case "maxlength":
			f.MaxLength, err = optInt(k, v)
		case "required":
			f.Required, err = optBool(k, v)
		case "autofocus":
			f.Autofocus, err = optBool(k, v)
		case "nospell":
			f.NoSpell, err = optBool(k, v)
		case "mono":
			f.Mono, err = optBool(k, v)
		case "sticky":
			sticky, err = optBool(k, v)
		default:
			return nil, fmt.Errorf("field %q: unknown option %q", name, k)
		}
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", name, err)
		}
	}
	if f.Type == "password" || f.Autocomplete == "one-time-code" {
		sticky = false
		f.Value = ""
	}
	if p != nil {
		if v, ok := p.Values[name]; sticky && ok {
			f.Value = v
		}
		f.Error = p.FieldErrors[errKey]
	}
	f.Checked = f.Type == "checkbox" && f.Value != ""
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.ID+"-hint")
	}
	if f.Error != "" {
		ids = append(ids, f.ID+"-error")
	}
	f.DescribedBy = strings.Join(ids, " ")
	return f, nil
}

func optString(k string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("option %q wants a string, got %T", k, v)
	}
	return s, nil
}

func optInt(k string, v any) (int, error) {
	n, ok := v.(int)
	if !ok {
		return 0, fmt.Errorf("option %q wants an int, got %T", k, v)
	}
	return n, nil
}

func optBool(k string, v any) (bool, error) {
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("option %q wants a bool, got %T", k, v)
	}
	return b, nil
}

// args builds a map from key/value pairs, to pass several values to a
// partial: {{template "settings_nav" (args "page" . "current" "sessions")}}.
func args(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, errors.New("args: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("args: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

// formatDate formats t in UTC for people: "Jan 2, 2026, 15:04 UTC".
func formatDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("Jan 2, 2006, 15:04 MST")
}

// formatDay formats t in UTC as a day: "January 2, 2026".
func formatDay(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("January 2, 2006")
}

// isoTime formats t for a <time datetime> attribute.
func isoTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// humanDuration writes d in the largest whole unit: "30 days", "24 hours",
// "15 minutes". Durations under a minute read "less than a minute".
func humanDuration(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d >= day && d%day == 0, d >= 3*day:
		return plural(int(d/day), "day", "days")
	case d >= time.Hour && d%time.Hour == 0, d >= 3*time.Hour:
		return plural(int(d/time.Hour), "hour", "hours")
	case d >= time.Minute:
		return plural(int(d/time.Minute), "minute", "minutes")
	}
	return "less than a minute"
}

// plural writes "1 day" or "3 days".
func plural(n int, one, many string) string {
	if n == 1 || n == -1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// statusTitle and statusText are the defaults of the error page.
func statusTitle(code int) string {
	switch code {
	case 400:
		return "Bad request"
	case 401:
		return "Sign in required"
	case 403:
		return "Access denied"
	case 404:
		return "Page not found"
	case 405:
		return "Method not allowed"
	case 409:
		return "Conflict"
	case 410:
		return "No longer available"
	case 413:
		return "Request too large"
	case 429:
		return "Too many requests"
	case 503:
		return "Service unavailable"
	}
	return "Something went wrong"
}

func statusText(code int) string {
	switch code {
	case 400:
		return "The request could not be understood. Go back and try again."
	case 401:
		return "You need to sign in to see this page."
	case 403:
		return "You don't have permission to do that. If you think this is a mistake, reload the page and try again."
	case 404:
		return "The page you were looking for doesn't exist or has moved."
	case 405:
		return "This address can't be used that way."
	case 409:
		return "Something changed while you were working. Reload the page and try again."
	case 410:
		return "This page is no longer available."
	case 413:
		return "What you sent is too large."
	case 429:
		return "You've made too many attempts. Wait a few minutes and try again."
	case 503:
		return "We're handling a lot of requests right now. Try again in a moment."
	}
	return "An unexpected error happened on our side. Try again in a moment."
}

// oneLine removes control characters (line breaks included) from s and
// shortens it to max runes, for untrusted values placed in emails.
func oneLine(s string, max int) string {
	var b strings.Builder
	n := 0
	space := false
	for _, r := range s {
		if r == unicode.ReplacementChar || unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			r = ' '
		}
		if r == ' ' {
			if space || n == 0 {
				continue // runs of spaces count once, leading ones not at all
			}
			space = true
		} else {
			space = false
		}
		if n == max {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}

// deviceName writes "Chrome on macOS", falling back to what is known.
func deviceName(browser, os string) string {
	switch {
	case browser != "" && os != "":
		return browser + " on " + os
	case browser != "":
		return browser
	case os != "":
		return "Browser on " + os
	}
	return "Unknown browser"
}

// isMobile reports whether a device kind is a phone or tablet.
func isMobile(kind string) bool {
	k := strings.ToLower(kind)
	return strings.Contains(k, "mobile") || strings.Contains(k, "phone") || strings.Contains(k, "tablet")
}
