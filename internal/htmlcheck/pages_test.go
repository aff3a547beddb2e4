package htmlcheck

import (
	"slices"
	"strings"
	"testing"
)

// wantPage shows everything wantAll asks for; the cases below each break
// one thing.
const wantPage = `<main><h1>Confirm your email</h1>
<p>We sent a code to user@example.com. It expires on <time datetime="2026-03-14T15:09:26Z">Mar 14, 2026</time>.</p>
<form method="post" action="/auth/confirm"><input type="hidden" name="csrf_token" value="tok">
<input type="hidden" name="token" value="tok-confirm">
<label for="code">Code</label><input id="code" name="code" autocomplete="one-time-code" inputmode="numeric">
<button type="submit">Confirm</button></form>
<a href="/auth/login">Sign in</a></main>`

var wantAll = Want{
	Text:         []string{"Confirm your email", "user@example.com"},
	Links:        []string{"/auth/login"},
	NoLinks:      []string{"/auth/settings"},
	Forms:        []string{"/auth/confirm"},
	NoForms:      []string{"/auth/logout"},
	Token:        "tok-confirm",
	Times:        true,
	Autocomplete: map[string]string{"code": "one-time-code"},
}

func TestWant(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		old, new  string // replace old with new in wantPage
		want      Want
		wantRules []string
	}{
		{name: "everything shown", want: wantAll},
		{name: "nothing wanted", want: Want{}},
		{"text missing", "user@example.com", "you", wantAll, []string{"text"}},
		{"link missing", `href="/auth/login"`, `href="/auth/register"`, wantAll, []string{"link"}},
		{"unwanted link", `href="/auth/login"`, `href="/auth/settings"`, wantAll, []string{"link"}},
		{"form missing", `action="/auth/confirm"`, `action="/auth/other"`, wantAll, []string{"form"}},
		{"unwanted form", `action="/auth/confirm"`, `action="/auth/logout"`, wantAll, []string{"form"}},
		{"token missing", `<input type="hidden" name="token" value="tok-confirm">`, "", wantAll, []string{"token"}},
		{"token twice", `<input type="hidden" name="token" value="tok-confirm">`, `<input type="hidden" name="token" value="tok-confirm"><input type="hidden" name="token" value="tok-confirm">`, wantAll, []string{"token"}},
		{"other token", `value="tok-confirm"`, `value="tok-other"`, wantAll, []string{"token"}},
		{"no time", `<time datetime="2026-03-14T15:09:26Z">Mar 14, 2026</time>`, "Mar 14, 2026", wantAll, []string{"time"}},
		{"time without a machine-readable date", `datetime="2026-03-14T15:09:26Z"`, `datetime="Mar 14"`, wantAll, []string{"time"}},
		{"time without datetime", ` datetime="2026-03-14T15:09:26Z"`, "", wantAll, []string{"time"}},
		{"wrong autocomplete", `autocomplete="one-time-code"`, `autocomplete="off"`, wantAll, []string{"autocomplete"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := wantPage
			if tt.old != "" {
				if !strings.Contains(body, tt.old) {
					t.Fatalf("the page has no %q to replace", tt.old)
				}
				body = strings.Replace(body, tt.old, tt.new, 1)
			}
			doc, err := Parse(body)
			if err != nil {
				t.Fatal(err)
			}
			if got := rules(tt.want.Check(doc)); !slices.Equal(got, tt.wantRules) {
				t.Errorf("rules broken: got %q, want %q; problems: %v", got, tt.wantRules, tt.want.Check(doc))
			}
		})
	}
}

// TestWantTokenOutsideForm: a token field that a browser would not post
// is a problem even when the value is right.
func TestWantTokenOutsideForm(t *testing.T) {
	t.Parallel()
	body := strings.Replace(wantPage, `<input type="hidden" name="token" value="tok-confirm">`, "", 1)
	body = strings.Replace(body, `<a href="/auth/login">`, `<input type="hidden" name="token" value="tok-confirm"><a href="/auth/login">`, 1)
	doc, err := Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	if got := rules(Want{Token: "tok-confirm"}.Check(doc)); !slices.Equal(got, []string{"token"}) {
		t.Errorf("rules broken: got %q, want [token]", got)
	}
}

// TestExpect: Expect reports each problem as a test error.
func TestExpect(t *testing.T) {
	t.Parallel()
	doc, err := Parse(strings.Replace(wantPage, `href="/auth/login"`, `href="/auth/settings"`, 1))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{TB: t}
	Expect(rec, doc, wantAll)
	if len(rec.errors) != 2 || !strings.Contains(rec.errors[0], `want one to "/auth/login"`) || !strings.Contains(rec.errors[1], `link to "/auth/settings", want none`) {
		t.Errorf("errors reported: got %q, want the missing and the unwanted link", rec.errors)
	}
	rec = &recorder{TB: t}
	good, err := Parse(wantPage)
	if err != nil {
		t.Fatal(err)
	}
	Expect(rec, good, wantAll)
	if len(rec.errors) != 0 {
		t.Errorf("errors reported for the good page: got %q, want none", rec.errors)
	}
}
