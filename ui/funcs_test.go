package ui

import (
	"maps"
	"testing"
	"time"
)

func TestHumanDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{30 * 24 * time.Hour, "30 days"},
		{7 * 24 * time.Hour, "7 days"},
		{24 * time.Hour, "1 day"},
		{48 * time.Hour, "2 days"},
		{36 * time.Hour, "36 hours"},
		{100 * time.Hour, "4 days"},
		{time.Hour, "1 hour"},
		{5*time.Hour + 30*time.Minute, "5 hours"},
		{90 * time.Minute, "90 minutes"},
		{15 * time.Minute, "15 minutes"},
		{time.Minute, "1 minute"},
		{30 * time.Second, "less than a minute"},
	} {
		if got := humanDuration(tc.d); got != tc.want {
			t.Errorf("humanDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestPlural(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{{0, "0 codes"}, {1, "1 code"}, {-1, "-1 code"}, {2, "2 codes"}} {
		if got := plural(tc.n, "code", "codes"); got != tc.want {
			t.Errorf("plural(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestTimeFormats(t *testing.T) {
	at := time.Date(2026, 3, 14, 15, 9, 26, 0, time.FixedZone("CET", 3600))
	for _, tc := range []struct {
		name string
		f    func(time.Time) string
		want string
	}{
		{"date", formatDate, "Mar 14, 2026, 14:09 UTC"},
		{"day", formatDay, "March 14, 2026"},
		{"iso", isoTime, "2026-03-14T14:09:26Z"},
	} {
		if got := tc.f(at); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
		if got := tc.f(time.Time{}); got != "" {
			t.Errorf("%s of the zero time: got %q, want \"\"", tc.name, got)
		}
	}
}

func TestDevices(t *testing.T) {
	for _, tc := range []struct {
		browser, os, want string
	}{
		{"Firefox", "Linux", "Firefox on Linux"},
		{"Firefox", "", "Firefox"},
		{"", "iOS", "Browser on iOS"},
		{"", "", "Unknown browser"},
	} {
		if got := deviceName(tc.browser, tc.os); got != tc.want {
			t.Errorf("deviceName(%q, %q) = %q, want %q", tc.browser, tc.os, got, tc.want)
		}
	}
	for kind, want := range map[string]bool{"Mobile": true, "Tablet": true, "smartphone": true, "Desktop": false, "": false} {
		if got := isMobile(kind); got != want {
			t.Errorf("isMobile(%q) = %v, want %v", kind, got, want)
		}
	}
}

func TestStatusTexts(t *testing.T) {
	seen := map[string]int{}
	for _, code := range []int{400, 401, 403, 404, 405, 409, 410, 413, 429, 503} {
		title, text := statusTitle(code), statusText(code)
		if title == statusTitle(500) || text == statusText(500) {
			t.Errorf("status %d: got the generic texts, want its own", code)
		}
		if prev, dup := seen[title]; dup {
			t.Errorf("status %d: title %q is also %d's", code, title, prev)
		}
		seen[title] = code
	}
	if got := statusTitle(0); got != "Something went wrong" {
		t.Errorf("statusTitle(0) = %q, want the generic title", got)
	}
}

func TestArgs(t *testing.T) {
	got, err := args("a", 1, "b", "two")
	if want := map[string]any{"a": 1, "b": "two"}; err != nil || !maps.Equal(got, want) {
		t.Errorf("args = %v, %v; want %v", got, err, want)
	}
	for _, bad := range [][]any{{"a"}, {1, 2}} {
		if _, err := args(bad...); err == nil {
			t.Errorf("args(%v): got no error, want one", bad)
		}
	}
}

func TestCSRFName(t *testing.T) {
	for _, tc := range []struct {
		p    *Page
		want string
	}{{nil, DefaultCSRFField}, {&Page{}, DefaultCSRFField}, {&Page{CSRFField: "gorilla.csrf.Token"}, "gorilla.csrf.Token"}} {
		if got := csrfName(tc.p); got != tc.want {
			t.Errorf("csrfName(%+v) = %q, want %q", tc.p, got, tc.want)
		}
	}
}

func TestFieldOptions(t *testing.T) {
	p := &Page{Values: map[string]string{"email": "a@example.com", "password": "secret", "code": "123456", "remember": "1"},
		FieldErrors: map[string]string{"email": "bad", "disable_code": "wrong"}}
	f, err := makeField(p, "email", "label", "Email", "type", "email", "hint", "We never share it.", "minlength", 3, "required", true)
	if err != nil {
		t.Fatal(err)
	}
	if f.Value != "a@example.com" || f.Error != "bad" || f.DescribedBy != "email-hint email-error" || f.MinLength != 3 || !f.Required {
		t.Errorf("got %+v, want the sticky value, the error, both descriptions, minlength 3 and required", f)
	}
	if f, _ := makeField(p, "password", "type", "password"); f.Value != "" {
		t.Errorf("got password value %q, want none", f.Value)
	}
	if f, _ := makeField(p, "code", "autocomplete", "one-time-code"); f.Value != "" {
		t.Errorf("got code value %q, want none", f.Value)
	}
	if f, _ := makeField(p, "email", "sticky", false); f.Value != "" {
		t.Errorf("sticky false: got value %q, want none", f.Value)
	}
	if f, _ := makeField(p, "remember", "type", "checkbox"); !f.Checked {
		t.Errorf("got an unchecked checkbox with a sticky value, want it checked")
	}
	if f, _ := makeField(p, "code", "id", "disable-code", "errkey", "disable_code"); f.Error != "wrong" || f.DescribedBy != "disable-code-error" {
		t.Errorf("errkey: got %+v, want the error of disable_code", f)
	}
	if f, err := makeField(nil, "x"); err != nil || f.Label != "x" || f.Type != "text" {
		t.Errorf("nil page: got %+v, %v; want a text field labelled x", f, err)
	}
	for _, bad := range [][]any{{"label"}, {1, "x"}, {"minlength", "3"}, {"required", "yes"}, {"label", 3}, {"colour", "red"}} {
		if _, err := makeField(p, "x", bad...); err == nil {
			t.Errorf("makeField options %v: got no error, want one", bad)
		}
	}
}
