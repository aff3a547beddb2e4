package ui

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestParseHexColor(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" for an error
	}{
		{"#000", "#000000"},
		{"#fff", "#ffffff"},
		{"#4F46E5", "#4f46e5"},
		{"#0aF", "#00aaff"},
		{"#123456", "#123456"},
		{"", ""},
		{"#", ""},
		{"#12", ""},
		{"#1234", ""},
		{"#12345", ""},
		{"#1234567", ""},
		{"123456", ""},
		{"#12345g", ""},
		{"#ggg", ""},
		{" #123", ""},
		{"#123;", ""},
		{"red", ""},
	}
	for _, tc := range tests {
		c, err := parseHexColor(tc.in)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("parseHexColor(%q) = %s, want an error", tc.in, c.hex())
		case tc.want != "" && err != nil:
			t.Errorf("parseHexColor(%q): %v", tc.in, err)
		case tc.want != "" && c.hex() != tc.want:
			t.Errorf("parseHexColor(%q) = %s, want %s", tc.in, c.hex(), tc.want)
		}
	}
}

func TestContrastMatchesWCAG(t *testing.T) {
	// Reference values from the WCAG 2.1 definition.
	for _, tc := range []struct {
		a, b string
		want float64
	}{
		{"#000000", "#ffffff", 21},
		{"#ffffff", "#ffffff", 1},
		{"#777777", "#ffffff", 4.48},
		{"#767676", "#ffffff", 4.54},
	} {
		a, _ := parseHexColor(tc.a)
		b, _ := parseHexColor(tc.b)
		if got := contrast(a, b); got < tc.want-0.01 || got > tc.want+0.01 {
			t.Errorf("contrast(%s, %s) = %.3f, want %.2f", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestDerivedAccentColours checks, for awkward accent colours, that every
// colour derived for text keeps WCAG AA contrast in both themes.
func TestDerivedAccentColours(t *testing.T) {
	accents := []string{"#4f46e5", "#000000", "#ffffff", "#777777", "#ffff00", "#facc15", "#0000ff", "#ff0000",
		"#22c55e", "#0f766e", "#f472b6", "#1e1e1e", "#f5f5f5"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		accents = append(accents, fmt.Sprintf("#%06x", r.IntN(1<<24)))
	}
	for _, a := range accents {
		c, _ := parseHexColor(a)
		for theme, surfaces := range map[string][]rgb{"light": lightSurfaces, "dark": darkSurfaces} {
			d := deriveTheme(c, surfaces)
			on, accent, hover := mustHex(t, d.OnAccent), mustHex(t, d.Accent), mustHex(t, d.AccentHover)
			if got := contrast(on, accent); got < 4.5 {
				t.Errorf("%s %s: button text %s on %s: %.2f < 4.5", a, theme, d.OnAccent, d.Accent, got)
			}
			if got := contrast(on, hover); got < 4.5 {
				t.Errorf("%s %s: button text %s on hover %s: %.2f < 4.5", a, theme, d.OnAccent, d.AccentHover, got)
			}
			for _, s := range surfaces {
				if got := contrast(mustHex(t, d.AccentText), s); got < 4.5 {
					t.Errorf("%s %s: link %s on %s: %.2f < 4.5", a, theme, d.AccentText, s.hex(), got)
				}
			}
			if got := contrast(mustHex(t, d.AccentSoftText), mustHex(t, d.AccentSoft)); got < 4.5 {
				t.Errorf("%s %s: badge %s on %s: %.2f < 4.5", a, theme, d.AccentSoftText, d.AccentSoft, got)
			}
		}
	}
}

func mustHex(t *testing.T, s string) rgb {
	t.Helper()
	c, err := parseHexColor(s)
	if err != nil {
		t.Fatalf("derived colour %q: %v", s, err)
	}
	return c
}

var (
	cssBlock = regexp.MustCompile(`(?s)/\* theme: (light|dark|system dark)[^*]*\*/\s*(?:@media[^{]*\{\s*)?[^{]+\{([^}]*)\}`)
	cssVar   = regexp.MustCompile(`--([a-z-]+):\s*([^;]+);`)
)

// themeVars reads the custom properties of each theme block of sigra.css.
func themeVars(t *testing.T) map[string]map[string]string {
	t.Helper()
	b, err := embedded.ReadFile("templates/assets/sigra.css")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, m := range cssBlock.FindAllStringSubmatch(string(b), -1) {
		vars := map[string]string{}
		for _, v := range cssVar.FindAllStringSubmatch(m[2], -1) {
			vars[v[1]] = strings.TrimSpace(v[2])
		}
		out[m[1]] = vars
	}
	if len(out) != 3 {
		t.Fatalf("found theme blocks %v, want light, dark and system dark", slices.Collect(maps.Keys(out)))
	}
	return out
}

// TestThemePalette checks the contrast of every text and background pair
// the stylesheet uses, in both themes, and that the system-dark block and
// the Go surfaces match the stylesheet.
func TestThemePalette(t *testing.T) {
	themes := themeVars(t)
	if !maps.Equal(themes["dark"], themes["system dark"]) {
		t.Errorf("the system dark block differs from the dark theme:\n%v\n%v", themes["dark"], themes["system dark"])
	}
	pairs := []struct {
		fg, bg string
		min    float64
	}{
		{"text", "bg", 4.5}, {"text", "surface", 4.5}, {"text", "raised", 4.5},
		{"muted", "bg", 4.5}, {"muted", "surface", 4.5}, {"muted", "raised", 4.5},
		{"danger", "surface", 4.5}, {"danger", "bg", 4.5},
		{"on-danger", "danger-solid", 4.5},
		{"success-text", "success-bg", 4.5}, {"error-text", "error-bg", 4.5}, {"warning-text", "warning-bg", 4.5},
		{"control-border", "surface", 3}, {"control-border", "raised", 3},
	}
	for name, vars := range themes {
		for _, p := range pairs {
			fg, err1 := parseHexColor(vars[p.fg])
			bg, err2 := parseHexColor(vars[p.bg])
			if err1 != nil || err2 != nil {
				t.Errorf("%s: --%s=%q or --%s=%q is not a hex colour", name, p.fg, vars[p.fg], p.bg, vars[p.bg])
				continue
			}
			if got := contrast(fg, bg); got < p.min {
				t.Errorf("%s: --%s %s on --%s %s: contrast %.2f, want ≥ %.1f", name, p.fg, vars[p.fg], p.bg, vars[p.bg], got, p.min)
			}
		}
	}
	for name, surfaces := range map[string][]rgb{"light": lightSurfaces, "dark": darkSurfaces} {
		for i, v := range []string{"surface", "bg", "raised"} {
			if got := themes[name][v]; got != surfaces[i].hex() {
				t.Errorf("%s: --%s is %s in sigra.css but %s in brand.go", name, v, got, surfaces[i].hex())
			}
		}
	}
}

func TestBrandCSS(t *testing.T) {
	u := newTestUI(t, Config{Brand: Brand{AccentColor: "#0F766E"}})
	css := string(u.assets["sigra.css"].body)
	for _, want := range []string{":root{--accent:#0f766e;", ":root[data-theme=dark]{--accent:#0f766e;",
		"@media (prefers-color-scheme: dark){:root:not([data-theme=light]){--accent:#0f766e;"} {
		if !strings.Contains(css, want) {
			t.Errorf("stylesheet lacks %q", want)
		}
	}
	// Every custom property the stylesheet reads is defined.
	defined := map[string]bool{}
	for _, m := range regexp.MustCompile(`(--[a-z-]+)\s*:`).FindAllStringSubmatch(css, -1) {
		defined[m[1]] = true
	}
	for _, m := range regexp.MustCompile(`var\((--[a-z-]+)\)`).FindAllStringSubmatch(css, -1) {
		if !defined[m[1]] {
			t.Errorf("var(%s) is used but never defined", m[1])
		}
	}
}
