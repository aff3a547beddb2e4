package htmlcheck

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// goodPage follows every rule; the cases below each break one.
const goodPage = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign in · Acme</title>
<link rel="stylesheet" href="/auth/assets/sigra.css"><script src="/auth/assets/theme.js"></script></head>
<body>
<a class="skip-link" href="#main">Skip to main content</a>
<header><a href="/"><img src="/logo.svg" alt=""><span>Acme</span></a></header>
<main id="main">
<h1>Sign in</h1>
<form method="post" action="/auth/login">
<input type="hidden" name="csrf_token" value="tok">
<label for="email">Email address</label>
<input id="email" name="email" type="email" autocomplete="username" aria-describedby="email-hint">
<p id="email-hint">The address you registered with.</p>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<input id="code" name="code" aria-label="Code" autocomplete="one-time-code" inputmode="numeric">
<button type="submit">Sign in</button>
</form>
</main>
</body>
</html>`

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		old, new  string // replace old with new in goodPage
		opts      Options
		wantRules []string
	}{
		{name: "good page", opts: Options{CSRFToken: "tok"}},
		{"wrong CSRF value", "", "", Options{CSRFToken: "other"}, []string{"csrf"}},
		{"other CSRF field", "", "", Options{CSRFField: "gorilla.csrf.Token", CSRFToken: "tok"}, []string{"csrf"}},
		{"no CSRF field", `<input type="hidden" name="csrf_token" value="tok">`, "", Options{CSRFToken: "tok"}, []string{"csrf"}},
		{"two CSRF fields", `<input type="hidden" name="csrf_token" value="tok">`, `<input type="hidden" name="csrf_token" value="tok"><input type="hidden" name="csrf_token" value="tok">`, Options{CSRFToken: "tok"}, []string{"csrf"}},
		{"get form", `method="post"`, `method="get"`, Options{CSRFToken: "tok"}, []string{"form-method"}},
		{"empty action", `action="/auth/login"`, `action=""`, Options{CSRFToken: "tok"}, []string{"form-action"}},
		{"no submit button", `<button type="submit">Sign in</button>`, `<button type="button">Show</button>`, Options{CSRFToken: "tok"}, []string{"form-submit"}},
		{"no label", `<label for="email">Email address</label>`, "", Options{CSRFToken: "tok"}, []string{"label"}},
		{"label for nothing", `<label for="email">`, `<label for="mail">`, Options{CSRFToken: "tok"}, []string{"label", "label-for"}},
		{"empty label", `<label for="email">Email address</label>`, `<label for="email"> </label>`, Options{CSRFToken: "tok"}, []string{"label"}},
		{"describedby missing", `aria-describedby="email-hint"`, `aria-describedby="email-hint email-error"`, Options{CSRFToken: "tok"}, []string{"aria-reference"}},
		{"code without inputmode", ` inputmode="numeric"`, "", Options{CSRFToken: "tok"}, []string{"one-time-code"}},
		{"password with a value", `type="password"`, `type="password" value="hunter2"`, Options{CSRFToken: "tok"}, []string{"password-value"}},
		{"duplicate id", `id="code"`, `id="email"`, Options{CSRFToken: "tok"}, []string{"duplicate-id"}},
		{"no h1", `<h1>Sign in</h1>`, "", Options{CSRFToken: "tok"}, []string{"one-h1"}},
		{"two h1", `<h1>Sign in</h1>`, `<h1>Sign in</h1><h1>Again</h1>`, Options{CSRFToken: "tok"}, []string{"one-h1"}},
		{"empty h1", `<h1>Sign in</h1>`, `<h1> </h1>`, Options{CSRFToken: "tok"}, []string{"one-h1"}},
		{"no lang", `<html lang="en">`, `<html>`, Options{CSRFToken: "tok"}, []string{"lang"}},
		{"other lang", "", "", Options{CSRFToken: "tok", Lang: "fr"}, []string{"lang"}},
		{"empty title", `<title>Sign in · Acme</title>`, `<title> · Acme</title>`, Options{CSRFToken: "tok"}, []string{"title"}},
		{"no main", `<main id="main">`, `<div id="main">`, Options{CSRFToken: "tok"}, []string{"one-main", "structure"}},
		{"no skip link", `<a class="skip-link" href="#main">Skip to main content</a>`, "", Options{CSRFToken: "tok"}, []string{"skip-link"}},
		{"inline script", `</main>`, `</main><script>alert(1)</script>`, Options{CSRFToken: "tok"}, []string{"inline-script"}},
		{"style element", `</head>`, `<style>body{}</style></head>`, Options{CSRFToken: "tok"}, []string{"style-element"}},
		{"style attribute", `<h1>`, `<h1 style="color:red">`, Options{CSRFToken: "tok"}, []string{"style-attribute"}},
		{"event handler", `<h1>`, `<h1 onclick="x()">`, Options{CSRFToken: "tok"}, []string{"event-handler"}},
		{"javascript link", `href="/"`, `href=" JavaScript:alert(1)"`, Options{CSRFToken: "tok"}, []string{"javascript-url"}},
		{"refused value", `href="/"`, `href="#ZgotmplZ"`, Options{CSRFToken: "tok"}, []string{"refused-value"}},
		{"image without alt", `alt=""`, "", Options{CSRFToken: "tok"}, []string{"img-alt"}},
		{"link without text", `<span>Acme</span>`, "", Options{CSRFToken: "tok"}, []string{"link-name"}},
		{"link without address", `<a href="/">`, `<a>`, Options{CSRFToken: "tok"}, []string{"link-href"}},
		{"button without text", `>Sign in</button>`, `></button>`, Options{CSRFToken: "tok"}, []string{"button-name"}},
		{"missing value", `<h1>Sign in</h1>`, `<h1>Sign in &lt;no value&gt;</h1>`, Options{CSRFToken: "tok"}, []string{"no-value"}},
		{"unclosed element", `<p id="email-hint">The address you registered with.</p>`, `<div id="email-hint">The address you registered with.`, Options{CSRFToken: "tok"}, []string{"structure"}},
		{"stray end tag", `</form>`, `</form></div>`, Options{CSRFToken: "tok"}, []string{"structure"}},
		{"nested form", `<button type="submit">Sign in</button>`, `<form method="post" action="/x"><input type="hidden" name="csrf_token" value="tok"><button type="submit">Inner</button></form><button type="submit">Sign in</button>`, Options{CSRFToken: "tok"}, []string{"csrf", "structure"}},
		{"end tag of a void element", `<button type="submit">`, `<br></br><button type="submit">`, Options{CSRFToken: "tok"}, []string{"structure"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := goodPage
			if tt.old != "" {
				if !strings.Contains(body, tt.old) {
					t.Fatalf("the good page has no %q to replace", tt.old)
				}
				body = strings.Replace(body, tt.old, tt.new, 1)
			}
			if got := rules(Check(body, tt.opts)); !slices.Equal(got, tt.wantRules) {
				t.Errorf("rules broken: got %q, want %q; problems:\n%v", got, tt.wantRules, Check(body, tt.opts))
			}
		})
	}
}

// rules returns the sorted, distinct rules of ps.
func rules(ps []Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Rule)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func TestCheckFragment(t *testing.T) {
	t.Parallel()
	const section = `<section aria-labelledby="email-heading"><h2 id="email-heading">Email</h2>
<form method="post" action="/auth/email"><input type="hidden" name="csrf_token" value="tok">
<label for="email">New address</label><input id="email" name="email" type="email">
<button type="submit">Change</button></form></section>`
	tests := []struct {
		name      string
		body      string
		wantRules []string
	}{
		{"good section", section, nil},
		{"h1 in a section", strings.Replace(section, "<h2 id=\"email-heading\">Email</h2>", "<h1 id=\"email-heading\">Email</h1>", 1), []string{"fragment-h1"}},
		{"heading missing", strings.Replace(section, ` id="email-heading"`, "", 1), []string{"aria-reference"}},
		{"control without label", strings.Replace(section, `<label for="email">New address</label>`, "", 1), []string{"label"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rules(Check(tt.body, Options{CSRFToken: "tok", Fragment: true}))
			if !slices.Equal(got, tt.wantRules) {
				t.Errorf("rules broken: got %q, want %q", got, tt.wantRules)
			}
		})
	}
}

func TestEmail(t *testing.T) {
	t.Parallel()
	const email = `<!doctype html><html lang="en"><head><title>Reset your password</title></head>
<body style="margin:0"><table role="presentation"><tr><td style="padding:4px">
<p>Open this link:</p><a href="https://app.example.com/reset?token=x" style="color:#000">Reset password</a>
<img src="https://cdn.example.com/logo.png" alt="Acme"></td></tr></table></body></html>`
	tests := []struct {
		name      string
		old, new  string
		wantRules []string
	}{
		{name: "good email"},
		{"no title", "<title>Reset your password</title>", "", []string{"title"}},
		{"no lang", ` lang="en"`, "", []string{"lang"}},
		{"script", "</body>", "<script>x()</script></body>", []string{"script"}},
		{"event handler", `<p>`, `<p onmouseover="x()">`, []string{"event-handler"}},
		{"javascript link", `href="https://app.example.com/reset?token=x"`, `href="javascript:x()"`, []string{"javascript-url"}},
		{"image without alt", ` alt="Acme"`, "", []string{"img-alt"}},
		{"unclosed cell", `</td>`, "", []string{"structure"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := email
			if tt.old != "" {
				if !strings.Contains(body, tt.old) {
					t.Fatalf("the good email has no %q to replace", tt.old)
				}
				body = strings.Replace(body, tt.old, tt.new, 1)
			}
			if got := rules(Email(body)); !slices.Equal(got, tt.wantRules) {
				t.Errorf("rules broken: got %q, want %q; problems: %v", got, tt.wantRules, Email(body))
			}
		})
	}
}

// TestPage: Page reports each problem as a test error and returns the
// parsed document.
func TestPage(t *testing.T) {
	t.Parallel()
	rec := &recorder{TB: t}
	doc := Page(rec, strings.Replace(goodPage, "<h1>Sign in</h1>", "", 1), Options{CSRFToken: "tok"})
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "one-h1: got 0 <h1>, want 1") {
		t.Errorf("errors reported: got %q, want the one-h1 problem", rec.errors)
	}
	if got := HiddenValues(doc, "csrf_token"); !slices.Equal(got, []string{"tok"}) {
		t.Errorf("HiddenValues of the returned document: got %q, want [tok]", got)
	}
	rec = &recorder{TB: t}
	Page(rec, goodPage, Options{CSRFToken: "tok"})
	if len(rec.errors) != 0 {
		t.Errorf("errors reported for the good page: got %q, want none", rec.errors)
	}
}

// recorder is a testing.TB that records Errorf calls instead of failing.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, strings.TrimSpace(fmt.Sprintf(format, args...)))
}

func (r *recorder) Helper() {}

func TestHelpers(t *testing.T) {
	t.Parallel()
	doc, err := Parse(goodPage)
	if err != nil {
		t.Fatal(err)
	}
	if got := ControlsByName(doc); len(got["email"]) != 1 || len(got["password"]) != 1 || len(got["csrf_token"]) != 0 {
		t.Errorf("ControlsByName: got %v, want email and password, no hidden field", got)
	}
	var names []string
	for _, c := range Controls(doc) {
		names = append(names, AttrOr(c, "name", ""))
	}
	if want := []string{"email", "password", "code"}; !slices.Equal(names, want) {
		t.Errorf("Controls: got %q, want %q", names, want)
	}
	if got := Hrefs(doc); !slices.Equal(got, []string{"#main", "/"}) {
		t.Errorf("Hrefs: got %q, want [#main /]", got)
	}
	if got := len(Forms(doc, "/auth/login")); got != 1 {
		t.Errorf("Forms(/auth/login): got %d, want 1", got)
	}
	if got := len(Forms(doc, "/auth/other")); got != 0 {
		t.Errorf("Forms(/auth/other): got %d, want 0", got)
	}
	ids := ByID(doc)
	pw := ControlsByName(doc)["password"][0]
	if !Labelled(doc, pw, ids) || !Labelled(doc, ids["email"], ids) || !Labelled(doc, ids["code"], ids) {
		t.Error("Labelled: got false for a control with a label (enclosing, for, aria-label), want true")
	}
	if Ancestor(pw, "form") == nil || Ancestor(pw, "table") != nil {
		t.Error("Ancestor: got the wrong ancestors of the password field")
	}
	if got := Text(ByTag(doc, "h1")[0]); got != "Sign in" {
		t.Errorf("Text(h1): got %q, want %q", got, "Sign in")
	}
}

func TestFieldErrors(t *testing.T) {
	t.Parallel()
	const (
		valid   = `<label for="email">Email</label><input id="email" name="email">`
		invalid = `<label for="email">Email</label><input id="email" name="email" aria-invalid="true" aria-describedby="email-hint email-error"><p id="email-hint">Hint</p><p id="email-error"><span>Bad address.</span></p>`
	)
	fields := map[string]string{"email": "email"}
	tests := []struct {
		name      string
		body      string
		fields    map[string]string
		errs      map[string]string
		wantRules []string
	}{
		{"no error", valid, fields, nil, nil},
		{"error tied", invalid, fields, map[string]string{"email": "Bad address."}, nil},
		{"invalid without an error", invalid, fields, nil, []string{"field-error"}},
		{"error not marked", valid, fields, map[string]string{"email": "Bad address."}, []string{"field-error"}},
		{"other message", invalid, fields, map[string]string{"email": "Taken."}, []string{"field-error"}},
		{"not described", strings.Replace(invalid, " email-error", "", 1), fields, map[string]string{"email": "Bad address."}, []string{"field-error"}},
		{"no such control", valid, map[string]string{"email": "mail"}, nil, []string{"field-error"}},
		{"error on another field", invalid, map[string]string{"password": "email"}, map[string]string{"email": "Bad address."}, []string{"field-error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := Parse(tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if got := rules(FieldErrors(doc, tt.fields, tt.errs)); !slices.Equal(got, tt.wantRules) {
				t.Errorf("rules broken: got %q, want %q; problems: %v", got, tt.wantRules, FieldErrors(doc, tt.fields, tt.errs))
			}
		})
	}
}

func TestAutocomplete(t *testing.T) {
	t.Parallel()
	doc, err := Parse(goodPage)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		want      map[string]string
		wantRules []string
	}{
		{"right values", map[string]string{"email": "username", "password": "current-password", "code": "one-time-code"}, nil},
		{"wrong value", map[string]string{"password": "new-password"}, []string{"autocomplete"}},
		{"no such control", map[string]string{"confirm_email": "off"}, []string{"autocomplete"}},
	}
	for _, tt := range tests {
		if got := rules(Autocomplete(doc, tt.want)); !slices.Equal(got, tt.wantRules) {
			t.Errorf("%s: rules broken: got %q, want %q", tt.name, got, tt.wantRules)
		}
	}
}

func TestAnnounced(t *testing.T) {
	t.Parallel()
	const page = `<div role="status"><p>Saved.</p></div><div role="alert"><ul><li>Bad address.</li></ul></div><div role="note"><p>Confirm your address.</p></div>`
	doc, err := Parse(page)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		n         Notices
		wantRules []string
	}{
		{"all announced", Notices{Flash: "Saved.", FieldErrors: map[string]string{"email": "Bad address."}, Banner: "Confirm your address."}, nil},
		{"nothing to announce", Notices{}, nil},
		{"flash missing", Notices{Flash: "Done."}, []string{"notice"}},
		{"flash in the wrong role", Notices{Flash: "Bad address."}, []string{"notice"}},
		{"error missing", Notices{Error: "Try again."}, []string{"notice"}},
		{"field error not summed up", Notices{FieldErrors: map[string]string{"code": "Wrong code."}}, []string{"notice"}},
		{"field errors under a form error", Notices{Error: "Bad address.", FieldErrors: map[string]string{"code": "Wrong code."}}, nil},
		{"banner missing", Notices{Banner: "Other."}, []string{"notice"}},
	}
	for _, tt := range tests {
		if got := rules(Announced(doc, tt.n)); !slices.Equal(got, tt.wantRules) {
			t.Errorf("%s: rules broken: got %q, want %q", tt.name, got, tt.wantRules)
		}
	}
}

func TestReturnTo(t *testing.T) {
	t.Parallel()
	const page = `<form method="post" action="/a"><input type="hidden" name="return_to" value="/next"></form>
<form method="post" action="/logout"></form>`
	doc, err := Parse(page)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		returnTo  string
		skip      []string
		wantRules []string
	}{
		{"kept, sign-out skipped", "/next", []string{"/logout"}, nil},
		{"missing from the sign-out form", "/next", nil, []string{"return-to"}},
		{"another value", "/other", []string{"/logout"}, []string{"return-to"}},
	}
	for _, tt := range tests {
		if got := rules(ReturnTo(doc, tt.returnTo, tt.skip...)); !slices.Equal(got, tt.wantRules) {
			t.Errorf("%s: rules broken: got %q, want %q", tt.name, got, tt.wantRules)
		}
	}
}
