package ui

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"

	"github.com/sigra-go/sigra"
)

//go:embed templates
var embedded embed.FS

// DefaultAssetsPath is where [UI.Assets] is expected to be mounted when
// Config.AssetsPath is empty.
const DefaultAssetsPath = "/auth/assets"

// Errors returned by this package; test with errors.Is.
var (
	// ErrTemplate: a template (embedded or from Config.Overrides) does not
	// parse or does not render with the data of its page.
	ErrTemplate = errors.New("sigra/ui: bad template")
	// ErrUnknownEmail: RenderEmail was asked for an email that does not exist.
	ErrUnknownEmail = errors.New("sigra/ui: unknown email")
	// ErrInvalidConfig: a Config field other than Brand is unusable.
	ErrInvalidConfig = errors.New("sigra/ui: invalid config")
)

// Config configures [New]. The zero value uses the embedded templates, the
// default brand and DefaultAssetsPath.
type Config struct {
	// Brand sets the product name, logo, accent colour and support link.
	Brand Brand
	// Overrides holds files that replace or extend the embedded ones, by
	// path: "pages/login.html" replaces the sign-in page, "emails/reset.txt"
	// the text part of the reset email, "assets/sigra.css" the stylesheet.
	// A new "pages/<name>.html" adds a page the application can render
	// with the same layout; a new "emails/<name>.txt" with its
	// "emails/<name>.html" adds an email. Files outside the layout, pages,
	// emails and assets folders are ignored; inside them, a file New cannot
	// use (in a subfolder, or of an unknown type) is an error. Optional.
	Overrides fs.FS
	// AssetsPath is the URL path at which the application mounts
	// [UI.Assets]; pages link the stylesheet and script below it. Default
	// DefaultAssetsPath.
	AssetsPath string
	// Logger receives template errors met while rendering. Default
	// slog.Default().
	Logger *slog.Logger
}

// UI renders Sigra's pages and emails. It is immutable after New and safe
// for concurrent use.
type UI struct {
	brand      Brand
	assetsPath string
	log        *slog.Logger

	pages      map[string]*htmltemplate.Template
	textEmails map[string]*texttemplate.Template
	htmlEmails map[string]*htmltemplate.Template
	assets     map[string]*asset // by plain name
	handler    *assetHandler

	bufs sync.Pool
}

// New loads the embedded templates and Config.Overrides, parses every page
// and email and renders each built-in one once with empty data, so that a
// broken template or override is reported here rather than on a request.
// It returns an error wrapping ErrInvalidBrand, ErrInvalidConfig or
// ErrTemplate.
func New(cfg Config) (*UI, error) {
	brand, err := cfg.Brand.normalize()
	if err != nil {
		return nil, err
	}
	ap, err := assetsPath(cfg.AssetsPath)
	if err != nil {
		return nil, err
	}
	u := &UI{
		brand:      brand,
		assetsPath: ap,
		log:        cfg.Logger,
		pages:      make(map[string]*htmltemplate.Template),
		textEmails: make(map[string]*texttemplate.Template),
		htmlEmails: make(map[string]*htmltemplate.Template),
	}
	if u.log == nil {
		u.log = slog.Default()
	}
	u.bufs.New = func() any { return new(bytes.Buffer) }

	files, err := loadFiles(cfg.Overrides)
	if err != nil {
		return nil, err
	}
	if u.assets, err = loadAssets(files, brand); err != nil {
		return nil, err
	}
	u.handler = &assetHandler{byName: make(map[string]*asset, 2*len(u.assets))}
	for _, a := range u.assets {
		u.handler.byName[a.name] = a
		u.handler.byName[a.hashed] = a
	}
	if err := u.parsePages(files); err != nil {
		return nil, err
	}
	if err := u.parseEmails(files); err != nil {
		return nil, err
	}
	return u, nil
}

func assetsPath(p string) (string, error) {
	if p == "" {
		return DefaultAssetsPath, nil
	}
	p = strings.TrimRight(p, "/")
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, " \t\r\n\"'<>\\?#") {
		return "", fmt.Errorf("%w: AssetsPath %q must be a path starting with a single /", ErrInvalidConfig, p)
	}
	return p, nil
}

// loadFiles returns the embedded files overlaid with the overrides, by
// path relative to the templates root.
func loadFiles(overrides fs.FS) (map[string][]byte, error) {
	files := make(map[string][]byte)
	root, err := fs.Sub(embedded, "templates")
	if err != nil {
		return nil, err
	}
	read := func(fsys fs.FS, from string) error {
		return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				return nil
			}
			dir, file := path.Split(p)
			top, _, _ := strings.Cut(p, "/")
			switch top {
			case "layout", "pages", "emails", "assets":
			default:
				return nil // not ours
			}
			ext := path.Ext(file)
			ok := false
			switch dir {
			case "layout/":
				ok = ext == ".html" || ext == ".txt"
			case "pages/":
				ok = ext == ".html"
			case "emails/":
				ok = ext == ".html" || ext == ".txt"
			case "assets/":
				ok = assetTypes[ext] != ""
			}
			if !ok || file == ext || dir != top+"/" {
				return fmt.Errorf("%w: %s %q: unexpected file name", ErrTemplate, from, p)
			}
			b, err := fs.ReadFile(fsys, p)
			if err != nil {
				return err
			}
			files[p] = b
			return nil
		})
	}
	if err := read(root, "embedded"); err != nil {
		return nil, err
	}
	if overrides != nil {
		if err := read(overrides, "override"); err != nil {
			if errors.Is(err, ErrTemplate) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: reading overrides: %w", ErrInvalidConfig, err)
		}
	}
	return files, nil
}

// names returns the names of files in dir with ext, without either.
func names(files map[string][]byte, dir, ext string) []string {
	var out []string
	for p := range files {
		if d, f := path.Split(p); d == dir && path.Ext(f) == ext {
			out = append(out, strings.TrimSuffix(f, ext))
		}
	}
	slices.Sort(out)
	return out
}

func (u *UI) pageFuncs() htmltemplate.FuncMap {
	return htmltemplate.FuncMap{
		"brand": func() Brand { return u.brand },
		"asset": func(name string) (string, error) {
			if s := u.AssetURL(name); s != "" {
				return s, nil
			}
			return "", fmt.Errorf("no asset %q", name)
		},
		"field":        makeField,
		"args":         args,
		"csrfName":     csrfName,
		"date":         formatDate,
		"day":          formatDay,
		"iso":          isoTime,
		"duration":     humanDuration,
		"plural":       plural,
		"passwordHint": passwordHint,
		"group4":       group4,
		"compact":      compact,
		"qrImage":      qrImage,
		"otpauthURL":   otpauthURL,
		"downloadURL":  downloadURL,
		"deviceName":   deviceName,
		"isMobile":     isMobile,
		"otherDevices": otherDevices,
		"trustLabel":   trustLabel,
		"statusTitle":  statusTitle,
		"statusText":   statusText,
		"join":         strings.Join,
		"or2": func(a, b string) string {
			if a != "" {
				return a
			}
			return b
		},
	}
}

func csrfName(p *Page) string {
	if p == nil || p.CSRFField == "" {
		return DefaultCSRFField
	}
	return p.CSRFField
}

func (u *UI) parsePages(files map[string][]byte) error {
	base := htmltemplate.New("").Funcs(u.pageFuncs())
	var layouts []string
	for p := range files {
		if strings.HasPrefix(p, "layout/") && path.Ext(p) == ".html" && p != "layout/email.html" {
			layouts = append(layouts, p)
		}
	}
	slices.Sort(layouts)
	for _, p := range layouts {
		if _, err := base.New(p).Parse(string(files[p])); err != nil {
			return fmt.Errorf("%w: %w", ErrTemplate, err)
		}
	}
	if base.Lookup("base") == nil {
		return fmt.Errorf("%w: no template defines \"base\" (layout/base.html)", ErrTemplate)
	}
	for _, name := range names(files, "pages/", ".html") {
		p := "pages/" + name + ".html"
		t, err := base.Clone()
		if err != nil {
			return fmt.Errorf("%w: %w", ErrTemplate, err)
		}
		if _, err := t.New(p).Parse(string(files[p])); err != nil {
			return fmt.Errorf("%w: %w", ErrTemplate, err)
		}
		if t.Lookup("content") == nil {
			return fmt.Errorf("%w: %s does not define \"content\"", ErrTemplate, p)
		}
		u.pages[name] = t
		// The first execution escapes the templates: do it now so that an
		// unsafe construct fails New. Built-in pages also get their data
		// type, so a wrong field name in an override fails here too.
		zero, builtin := pageData(name)
		err = t.ExecuteTemplate(io.Discard, "base", samplePage(zero))
		var escErr *htmltemplate.Error
		if err != nil && (builtin || errors.As(err, &escErr)) {
			return fmt.Errorf("%w: page %q: %w", ErrTemplate, name, err)
		}
	}
	if u.pages["error"] == nil {
		return fmt.Errorf("%w: page \"error\" is missing", ErrTemplate)
	}
	return nil
}

// samplePage is the data of New's trial rendering.
func samplePage(data any) *Page {
	return &Page{
		User:        &sigra.User{ID: "0", Email: "user@example.com", CreatedAt: time.Unix(0, 0)},
		CSRFToken:   "token",
		FieldErrors: map[string]string{},
		Values:      map[string]string{},
		Links:       Links{Home: "/", Login: "/login", Logout: "/logout", Settings: "/settings"},
		Data:        data,
	}
}

func (u *UI) parseEmails(files map[string][]byte) error {
	textBase := texttemplate.New("").Funcs(texttemplate.FuncMap{
		"date": formatDate, "day": formatDay, "plural": plural,
	})
	if b, ok := files["layout/email.txt"]; ok {
		if _, err := textBase.New("layout/email.txt").Parse(string(b)); err != nil {
			return fmt.Errorf("%w: %w", ErrTemplate, err)
		}
	}
	htmlBase := htmltemplate.New("").Funcs(htmltemplate.FuncMap{
		"date": formatDate, "day": formatDay, "plural": plural,
		"logo": func() string {
			if isAbsoluteHTTP(u.brand.LogoURL) {
				return u.brand.LogoURL
			}
			return ""
		},
		// The accent colours are validated hex values, safe in a style
		// attribute.
		"accent":   func() htmltemplate.CSS { return htmltemplate.CSS(u.brand.AccentColor) },
		"onAccent": func() htmltemplate.CSS { return htmltemplate.CSS(onAccent(u.brand.AccentColor)) },
		"style":    u.emailStyle,
		"args":     args,
	})
	b, ok := files["layout/email.html"]
	if !ok {
		return fmt.Errorf("%w: layout/email.html is missing", ErrTemplate)
	}
	if _, err := htmlBase.New("layout/email.html").Parse(string(b)); err != nil {
		return fmt.Errorf("%w: %w", ErrTemplate, err)
	}
	txt, html := names(files, "emails/", ".txt"), names(files, "emails/", ".html")
	for _, n := range txt {
		if !slices.Contains(html, n) {
			return fmt.Errorf("%w: emails/%s.txt has no emails/%s.html", ErrTemplate, n, n)
		}
	}
	for _, n := range html {
		if !slices.Contains(txt, n) {
			return fmt.Errorf("%w: emails/%s.html has no emails/%s.txt", ErrTemplate, n, n)
		}
	}
	for _, name := range txt {
		tt, err := textBase.Clone()
		if err != nil {
			return fmt.Errorf("%w: %w", ErrTemplate, err)
		}
		p := "emails/" + name + ".txt"
		if _, err := tt.New(p).Parse(string(files[p])); err != nil {
			return fmt.Errorf("%w: %w", ErrTemplate, err)
		}
		ht, err := htmlBase.Clone()
		if err != nil {
			return fmt.Errorf("%w: %w", ErrTemplate, err)
		}
		p = "emails/" + name + ".html"
		if _, err := ht.New(p).Parse(string(files[p])); err != nil {
			return fmt.Errorf("%w: %w", ErrTemplate, err)
		}
		if ht.Lookup("email") == nil || ht.Lookup("content") == nil {
			return fmt.Errorf("%w: %s must define \"content\" (layout/email.html defines \"email\")", ErrTemplate, p)
		}
		u.textEmails[name], u.htmlEmails[name] = tt, ht
		if _, _, _, err := u.RenderEmail(name, &Email{To: "user@example.com", When: time.Unix(0, 0)}); err != nil {
			return err
		}
	}
	return nil
}

// emailStyles are the inline styles of email elements, by name. The link
// colour is the brand's accent made readable on white.
var emailStyles = map[string]string{
	"font":  `-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif`,
	"h1":    "margin:0 0 16px;font-size:22px;line-height:30px;font-weight:700;color:#18181b;letter-spacing:-0.01em;",
	"p":     "margin:0 0 16px;font-size:15px;line-height:24px;color:#27272a;",
	"muted": "margin:0 0 16px;font-size:14px;line-height:22px;color:#52525b;",
	"small": "margin:0 0 16px;font-size:13px;line-height:20px;color:#52525b;",
	"code": "display:inline-block;padding:12px 20px;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;" +
		"font-size:28px;line-height:32px;font-weight:700;letter-spacing:6px;color:#18181b;background-color:#f4f4f5;border-radius:8px;",
}

func (u *UI) emailStyle(name string) (htmltemplate.CSS, error) {
	if name == "link" {
		accent, _ := parseHexColor(u.brand.AccentColor)
		c := readable(accent, 4.5, white)
		return htmltemplate.CSS("color:" + c.hex() + ";text-decoration:underline;word-break:break-all;"), nil
	}
	s, ok := emailStyles[name]
	if !ok {
		return "", fmt.Errorf("no email style %q", name)
	}
	return htmltemplate.CSS(s), nil
}

func onAccent(accentHex string) string {
	c, _ := parseHexColor(accentHex)
	if contrast(black, c) > contrast(white, c) {
		return "#000000"
	}
	return "#ffffff"
}

// Brand returns the brand in use, with defaults filled in.
func (u *UI) Brand() Brand { return u.brand }

// Pages returns the names of the pages Render knows, sorted.
func (u *UI) Pages() []string { return slices.Sorted(maps.Keys(u.pages)) }

// Emails returns the names of the emails RenderEmail knows, sorted.
func (u *UI) Emails() []string { return slices.Sorted(maps.Keys(u.textEmails)) }

// Assets returns the handler of the stylesheet, the theme script and the
// icon (plus any file added under assets/ by Config.Overrides). Mount it at
// Config.AssetsPath, with or without http.StripPrefix: it looks only at the
// last element of the request path.
//
//	mux.Handle("GET /auth/assets/", u.Assets())
//
// Pages link each file by a name that carries a hash of its content
// ("sigra.3f1c0a9b2e7d.css"), served with a one-year immutable cache
// lifetime; the plain name ("sigra.css") is served too, revalidated with
// its ETag on every use.
func (u *UI) Assets() http.Handler { return u.handler }

// AssetURL returns the URL of an asset by its plain name ("sigra.css",
// "theme.js", "icon.svg"), with its content hash, or "" if there is no
// such asset. Templates call it as {{asset "sigra.css"}}.
func (u *UI) AssetURL(name string) string {
	a := u.assets[name]
	if a == nil {
		return ""
	}
	return u.assetsPath + "/" + a.hashed
}

// Render writes page name with status. It sets Content-Type, Cache-Control
// "no-store" and X-Content-Type-Options. The page renders into a buffer
// first: if the template fails (or name is unknown) nothing of it is sent,
// the error is logged, and the client gets a 500 error page instead.
func (u *UI) Render(w http.ResponseWriter, r *http.Request, status int, name string, p *Page) {
	var page Page
	if p != nil {
		page = *p
	}
	if page.Data == nil {
		page.Data, _ = pageData(name)
	}
	buf := u.bufs.Get().(*bytes.Buffer)
	defer u.putBuf(buf)
	err := u.execPage(buf, name, &page)
	if err != nil {
		u.log.ErrorContext(r.Context(), "sigra/ui: rendering page failed", "page", name, "err", err)
		status = http.StatusInternalServerError
		buf.Reset()
		fallback := &Page{Links: page.Links, CSRFField: page.CSRFField, CSRFToken: page.CSRFToken,
			Data: &ErrorData{Status: status}}
		if name == "error" || u.execPage(buf, "error", fallback) != nil {
			http.Error(w, "500 internal server error", status)
			return
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

func (u *UI) execPage(w io.Writer, name string, p *Page) error {
	t := u.pages[name]
	if t == nil {
		return fmt.Errorf("%w: no page %q", ErrTemplate, name)
	}
	return t.ExecuteTemplate(w, "base", p)
}

func (u *UI) putBuf(b *bytes.Buffer) {
	if b.Cap() > 1<<20 {
		return // let unusually large buffers go
	}
	b.Reset()
	u.bufs.Put(b)
}

// RenderEmail renders email name. The text template's first line is
// "Subject: ..."; the subject comes back without it (on one line, without
// control characters), followed by the rest of the text part and the HTML
// part. data is not modified; RenderEmail fills Brand and Subject in its
// own copy and removes line breaks and control characters from the
// caller's strings, which may come from a request (the user agent).
func (u *UI) RenderEmail(name string, data *Email) (subject, text, html string, err error) {
	tt, ht := u.textEmails[name], u.htmlEmails[name]
	if tt == nil || ht == nil {
		return "", "", "", fmt.Errorf("%w: %q", ErrUnknownEmail, name)
	}
	var e Email
	if data != nil {
		e = *data
	}
	e.Brand = u.brand
	e.To = oneLine(e.To, 320)
	e.Link = oneLine(e.Link, 4096)
	e.Code = oneLine(e.Code, 64)
	e.NewEmail = oneLine(e.NewEmail, 320)
	e.ExpiresIn = oneLine(e.ExpiresIn, 64)
	e.IP = oneLine(e.IP, 64)
	e.UserAgent = oneLine(e.UserAgent, 200)

	buf := u.bufs.Get().(*bytes.Buffer)
	defer u.putBuf(buf)
	if err := tt.ExecuteTemplate(buf, "emails/"+name+".txt", &e); err != nil {
		return "", "", "", fmt.Errorf("%w: email %q: %w", ErrTemplate, name, err)
	}
	first, rest, _ := strings.Cut(buf.String(), "\n")
	first = strings.TrimSuffix(first, "\r")
	s, ok := strings.CutPrefix(first, "Subject:")
	if !ok {
		return "", "", "", fmt.Errorf("%w: email %q: the text part must start with \"Subject: \"", ErrTemplate, name)
	}
	subject = oneLine(s, 250)
	if subject == "" {
		return "", "", "", fmt.Errorf("%w: email %q: empty subject", ErrTemplate, name)
	}
	text = strings.TrimRight(strings.TrimLeft(rest, "\r\n"), "\r\n") + "\n"
	e.Subject = subject
	buf.Reset()
	if err := ht.ExecuteTemplate(buf, "email", &e); err != nil {
		return "", "", "", fmt.Errorf("%w: email %q: %w", ErrTemplate, name, err)
	}
	return subject, text, buf.String(), nil
}
