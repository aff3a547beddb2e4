package ui

import (
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

func TestGroup4(t *testing.T) {
	for in, want := range map[string]string{
		"JBSWY3DPEHPK3PXP":    "JBSW Y3DP EHPK 3PXP",
		"JBSW Y3DP EHPK 3PXP": "JBSW Y3DP EHPK 3PXP",
		"JBSWY3":              "JBSW Y3",
		"":                    "",
		"ab-cd-ef":            "abcd ef",
	} {
		if got := group4(in); got != want {
			t.Errorf("group4(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOneLine(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"plain", 10, "plain"},
		{"a\r\nb", 10, "a b"},
		{" a \t\t b ", 10, "a b"},
		{"a\u2028b\x00c", 10, "a b c"},
		{"abcdef", 3, "abc…"},
		{"\xff\xfe", 10, ""},
	} {
		if got := oneLine(tc.in, tc.max); got != tc.want {
			t.Errorf("oneLine(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

func TestFieldOptions(t *testing.T) {
	p := &Page{Values: map[string]string{"email": "a@example.com", "password": "secret", "code": "123456"},
		FieldErrors: map[string]string{"email": "bad", "disable_code": "wrong"}}
	f, err := makeField(p, "email", "label", "Email", "type", "email", "hint", "We never share it.", "minlength", 3, "required", true)
	if err != nil {
		t.Fatal(err)
	}
	if f.Value != "a@example.com" || f.Error != "bad" || f.DescribedBy != "email-hint email-error" || f.MinLength != 3 || !f.Required {
		t.Errorf("got %+v", f)
	}
	if f, _ := makeField(p, "password", "type", "password"); f.Value != "" {
		t.Errorf("password value %q, want none", f.Value)
	}
	if f, _ := makeField(p, "code", "autocomplete", "one-time-code"); f.Value != "" {
		t.Errorf("code value %q, want none", f.Value)
	}
	if f, _ := makeField(p, "code", "id", "disable-code", "errkey", "disable_code"); f.Error != "wrong" || f.DescribedBy != "disable-code-error" {
		t.Errorf("errkey: got %+v", f)
	}
	for _, bad := range [][]any{{"label"}, {1, "x"}, {"minlength", "3"}, {"required", "yes"}, {"label", 3}, {"colour", "red"}} {
		if _, err := makeField(p, "x", bad...); err == nil {
			t.Errorf("makeField options %v: no error", bad)
		}
	}
}
