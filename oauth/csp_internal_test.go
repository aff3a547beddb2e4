package oauth

import "testing"

func TestWidenFormAction(t *testing.T) {
	t.Parallel()
	origins := []string{"https://accounts.google.com", "https://github.com"}
	for _, tc := range []struct{ in, want string }{
		{"default-src 'self'; form-action 'self'; frame-ancestors 'none'",
			"default-src 'self'; form-action 'self' https://accounts.google.com https://github.com; frame-ancestors 'none'"},
		{"form-action 'self' https://github.com", "form-action 'self' https://github.com https://accounts.google.com"},
		{"default-src 'self'", "default-src 'self'"},
		{"form-action *", "form-action *"},
		{"form-action 'none'", "form-action 'none'"},
		{"FORM-ACTION 'self'", "FORM-ACTION 'self' https://accounts.google.com https://github.com"},
	} {
		if got := widenFormAction(tc.in, origins); got != tc.want {
			t.Errorf("widenFormAction(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := widenFormAction("form-action 'self'", nil); got != "form-action 'self'" {
		t.Errorf("no origins: got %q", got)
	}
}
