package ui

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sigra-go/sigra"
)

// Brand is how pages and emails present the application.
type Brand struct {
	// ProductName names the application in titles, headers and emails.
	// Default "Sigra".
	ProductName string
	// LogoURL is an image shown beside the product name in page headers and
	// emails: an http(s) URL or a local path ("/static/logo.svg"). Emails
	// show it only when it is an absolute http(s) URL. Optional.
	LogoURL string
	// AccentColor is the colour of buttons, links and focus rings, as "#rgb"
	// or "#rrggbb" (nothing else is accepted, which keeps it safe to place in
	// CSS). Default "#4f46e5". Text colours derived from it are adjusted per
	// theme to keep WCAG AA contrast.
	AccentColor string
	// SupportURL is a help link in the footer of pages and emails: an
	// http(s) or mailto URL, or a local path. Optional.
	SupportURL string
	// SenderName is the display name callers put in the From header of
	// emails. Default ProductName.
	SenderName string
}

// Defaults of [Brand].
const (
	DefaultProductName = "Sigra"
	DefaultAccentColor = "#4f46e5"
)

// errBrand marks a Brand field that cannot be used safely; it wraps
// sigra.ErrConfig.
var errBrand = fmt.Errorf("%w: ui: brand", sigra.ErrConfig)

// normalize returns b with defaults filled and validated fields.
func (b Brand) normalize() (Brand, error) {
	b.ProductName = strings.TrimSpace(b.ProductName)
	if b.ProductName == "" {
		b.ProductName = DefaultProductName
	}
	if err := checkText("ProductName", b.ProductName, 100); err != nil {
		return b, err
	}
	b.SenderName = strings.TrimSpace(b.SenderName)
	if b.SenderName == "" {
		b.SenderName = b.ProductName
	}
	if err := checkText("SenderName", b.SenderName, 100); err != nil {
		return b, err
	}
	if b.AccentColor == "" {
		b.AccentColor = DefaultAccentColor
	}
	c, err := parseHexColor(b.AccentColor)
	if err != nil {
		return b, fmt.Errorf("%w: AccentColor %q: %w", errBrand, b.AccentColor, err)
	}
	b.AccentColor = c.hex()
	if b.LogoURL != "" {
		if err := checkURL(b.LogoURL, "http", "https"); err != nil {
			return b, fmt.Errorf("%w: LogoURL %q: %w", errBrand, b.LogoURL, err)
		}
	}
	if b.SupportURL != "" {
		if err := checkURL(b.SupportURL, "http", "https", "mailto"); err != nil {
			return b, fmt.Errorf("%w: SupportURL %q: %w", errBrand, b.SupportURL, err)
		}
	}
	return b, nil
}

// checkText refuses control characters (a name ends up in mail headers)
// and overly long values.
func checkText(field, s string, max int) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s is not valid UTF-8", errBrand, field)
	}
	if utf8.RuneCountInString(s) > max {
		return fmt.Errorf("%w: %s is longer than %d characters", errBrand, field, max)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: %s %q contains a control character", errBrand, field, s)
		}
	}
	return nil
}

// checkURL accepts an absolute URL with one of schemes, or a local path
// starting with a single "/".
func checkURL(s string, schemes ...string) error {
	for _, r := range s {
		if r <= ' ' || r == 0x7f || strings.ContainsRune("\"'<>\\`", r) {
			return errors.New("contains a space, quote, angle bracket, backslash or control character")
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a URL")
	}
	if u.Scheme == "" {
		if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.HasPrefix(s, "/\\") {
			return errors.New("want an absolute URL or a path starting with /")
		}
		return nil
	}
	for _, sc := range schemes {
		if strings.EqualFold(u.Scheme, sc) {
			if sc != "mailto" && u.Host == "" {
				return errors.New("missing host")
			}
			return nil
		}
	}
	return fmt.Errorf("scheme %q not allowed", u.Scheme)
}

// isAbsoluteHTTP reports whether s is an absolute http(s) URL, usable in
// an email.
func isAbsoluteHTTP(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Host != "" && (strings.EqualFold(u.Scheme, "https") || strings.EqualFold(u.Scheme, "http"))
}

// rgb is an sRGB colour with components in [0, 255].
type rgb struct{ r, g, b float64 }

// parseHexColor parses exactly "#rgb" or "#rrggbb".
func parseHexColor(s string) (rgb, error) {
	if len(s) != 4 && len(s) != 7 || s[0] != '#' {
		return rgb{}, errors.New(`want "#rgb" or "#rrggbb"`)
	}
	h := s[1:]
	var v [6]byte
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return rgb{}, errors.New(`want "#rgb" or "#rrggbb"`)
		}
		v[i] = c
	}
	if len(h) == 3 {
		return rgb{float64(v[0] * 17), float64(v[1] * 17), float64(v[2] * 17)}, nil
	}
	return rgb{float64(v[0]<<4 | v[1]), float64(v[2]<<4 | v[3]), float64(v[4]<<4 | v[5])}, nil
}

// hex formats c as "#rrggbb".
func (c rgb) hex() string {
	q := func(x float64) int { return int(math.Round(math.Max(0, math.Min(255, x)))) }
	return fmt.Sprintf("#%02x%02x%02x", q(c.r), q(c.g), q(c.b))
}

// luminance is the WCAG 2.1 relative luminance.
func (c rgb) luminance() float64 {
	lin := func(v float64) float64 {
		v = math.Round(math.Max(0, math.Min(255, v))) / 255
		if v <= 0.04045 {
			return v / 12.92
		}
		return math.Pow((v+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.r) + 0.7152*lin(c.g) + 0.0722*lin(c.b)
}

// contrast is the WCAG 2.1 contrast ratio of a and b.
func contrast(a, b rgb) float64 {
	la, lb := a.luminance(), b.luminance()
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// mix returns a + (b-a)*t.
func mix(a, b rgb, t float64) rgb {
	return rgb{a.r + (b.r-a.r)*t, a.g + (b.g-a.g)*t, a.b + (b.b-a.b)*t}
}

var (
	white = rgb{255, 255, 255}
	black = rgb{0, 0, 0}
)

// readable returns fg, moved towards black on a light bg or towards white
// on a dark one just enough to reach ratio against every bg.
func readable(fg rgb, ratio float64, bgs ...rgb) rgb {
	target := black
	if bgs[0].luminance() < 0.18 {
		target = white
	}
	for t := 0.0; t <= 1.0001; t += 0.02 {
		c := mix(fg, target, t)
		ok := true
		for _, bg := range bgs {
			if contrast(c, bg) < ratio {
				ok = false
				break
			}
		}
		if ok {
			// Round-trip through hex so the check holds for the colour
			// actually written to the stylesheet.
			h, _ := parseHexColor(c.hex())
			if minContrast(h, bgs) >= ratio {
				return h
			}
		}
	}
	return target
}

func minContrast(c rgb, bgs []rgb) float64 {
	m := math.Inf(1)
	for _, bg := range bgs {
		m = math.Min(m, contrast(c, bg))
	}
	return m
}

// Backgrounds of the built-in themes, in the order --surface, --bg,
// --raised; they must match sigra.css (a test checks).
var (
	lightSurfaces = []rgb{{255, 255, 255}, {250, 250, 250}, {244, 244, 245}}
	darkSurfaces  = []rgb{{19, 19, 22}, {10, 10, 11}, {28, 28, 32}}
)

// themeColors are the accent-derived custom properties of one theme.
type themeColors struct {
	Accent, AccentHover, OnAccent, AccentText, AccentSoft, AccentSoftText string
}

func deriveTheme(accent rgb, surfaces []rgb) themeColors {
	on := white
	if contrast(black, accent) > contrast(white, accent) {
		on = black
	}
	// Hover moves away from the text colour, so contrast only grows.
	hover := mix(accent, black, 0.14)
	if on == black {
		hover = mix(accent, white, 0.18)
	}
	soft := mix(surfaces[0], accent, 0.14)
	return themeColors{
		Accent:         accent.hex(),
		AccentHover:    hover.hex(),
		OnAccent:       on.hex(),
		AccentText:     readable(accent, 4.5, surfaces...).hex(),
		AccentSoft:     soft.hex(),
		AccentSoftText: readable(accent, 4.5, soft, surfaces[0]).hex(),
	}
}

// brandCSS is the block appended to the stylesheet: the accent colours of
// both themes, for an explicit choice and for the system preference.
func brandCSS(accentHex string) string {
	accent, _ := parseHexColor(accentHex)
	light := deriveTheme(accent, lightSurfaces)
	dark := deriveTheme(accent, darkSurfaces)
	decl := func(t themeColors) string {
		return fmt.Sprintf("--accent:%s;--accent-hover:%s;--on-accent:%s;--accent-text:%s;--accent-soft:%s;--accent-soft-text:%s;",
			t.Accent, t.AccentHover, t.OnAccent, t.AccentText, t.AccentSoft, t.AccentSoftText)
	}
	var b strings.Builder
	b.WriteString("\n/* Brand colours, generated from Brand.AccentColor. */\n")
	fmt.Fprintf(&b, ":root{%s}\n", decl(light))
	fmt.Fprintf(&b, ":root[data-theme=dark]{%s}\n", decl(dark))
	fmt.Fprintf(&b, "@media (prefers-color-scheme: dark){:root:not([data-theme=light]){%s}}\n", decl(dark))
	return b.String()
}

// iconSVG is the default mark shown when Brand.LogoURL is empty, and the
// favicon: a rounded square in the accent colour with a keyhole.
func iconSVG(accentHex string) []byte {
	accent, _ := parseHexColor(accentHex)
	on := white
	if contrast(black, accent) > contrast(white, accent) {
		on = black
	}
	return fmt.Appendf(nil, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">`+
		`<rect width="32" height="32" rx="8" fill="%s"/>`+
		`<path fill="%s" d="M16 7a5 5 0 0 0-2.4 9.4L12 25h8l-1.6-8.6A5 5 0 0 0 16 7z"/>`+
		`</svg>`, accent.hex(), on.hex())
}
