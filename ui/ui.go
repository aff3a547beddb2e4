package ui

import (
	"bytes"
	"cmp"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	texttemplate "text/template"
	"text/template/parse"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/site"
)

//go:embed templates
var embedded embed.FS

// ErrTemplate marks a template (built in, from a [Pack] or from
// Config.Overrides) that does not parse, or does not render with the data
// of its page. At [New] it comes wrapped together with [sigra.ErrConfig].
var ErrTemplate = errors.New("sigra/ui: bad template")

// ErrUnknownEmail: RenderEmail was asked for an email that no pack declares.
var ErrUnknownEmail = errors.New("sigra/ui: unknown email")

// Config configures [New]. The zero value renders the core pages (the
// layout, the error page and the settings page) with the default brand.
type Config struct {
	// Brand sets the product name, logo, accent colour and support link.
	Brand Brand
	// Packs are the features' pages, sections, emails, routes, notices and
	// settings-navigation entries: account.Pages(), mfa.Pages(), and any
	// of the application's own. A feature refuses to start with a UI that
	// lacks its pack.
	Packs []Pack
	// Overrides holds files that replace built-in ones, by path:
	// "pages/login.html" replaces the sign-in page, "emails/reset.txt" the
	// text part of the reset email, "layout/base.html" the document
	// around every page, "assets/sigra.css" the stylesheet. A file under
	// layout/, pages/, sections/ or emails/ must replace a built-in file
	// ([UI.Templates] lists them): any other name is refused, with the
	// list of known names, so a misspelt override cannot go unnoticed.
	// Files under assets/ may also add new assets. Other folders are
	// ignored. Add new pages with a Pack instead. Optional.
	Overrides fs.FS
}

// UI renders the pages and emails of the features it was given. What it
// renders is fixed by New (it builds each template set again when first
// used, the same way: see New), and it is safe for concurrent use.
type UI struct {
	site       *site.Site
	brand      Brand
	assetsPath string
	log        *slog.Logger

	files    map[string][]byte // the files as overridden, which the sets are parsed from
	b        *bundle           // what the core and the packs declare, its files before overrides
	pages    map[string]*lazySet[htmltemplate.Template]
	ownTitle map[string]bool // pages whose override defines "title"
	sections map[string]*lazySet[htmltemplate.Template]
	emails   map[string]*lazySet[emailSet]
	// building serialises the sets' builds (see lazySet), and so the use
	// of shared, which holds the nodes of the sets built so far, and of
	// bases.
	building sync.Mutex
	shared   sharer
	// bases are the parsed layouts the sets are built from, parsed for the
	// first set built after New. The sets' nodes point back to the trees
	// they were copied from, for their error messages, so every set keeps
	// its base: they share one.
	bases struct {
		page *htmltemplate.Template // see pageBase
		text *texttemplate.Template // see emailBases
		html *htmltemplate.Template
	}
	routes  map[string]string // name → local path (with the prefix)
	notices map[string]string
	nav     []NavItem
	icons   map[string]htmltemplate.HTML
	packs   map[string]bool
	assets  map[string]*asset // by plain name
	handler *assetHandler
	// fold tells New to fold the constants of the templates (see fold).
	fold bool

	bufs sync.Pool
}

// corePages are the pages of the UI itself, with the zero value of their
// data.
func corePages() map[string]any {
	return map[string]any{"error": &ErrorData{}, "settings": &SettingsData{}}
}

// New loads the core templates, the packs and the overrides, parses every
// page, section and email, and renders each once with empty data, so that a
// broken template, pack or override is reported here rather than on a
// request. Errors wrap [sigra.ErrConfig] (and [ErrTemplate] for a template
// that fails). It keeps none of the parsed templates: each page, section
// and email is parsed again, the same way, when it is first rendered, so
// a process keeps (and its garbage collector marks) only those it uses.
func New(s *site.Site, cfg Config) (*UI, error) { return build(s, cfg, true) }

// build is New, with the folding of the templates' constants, the
// trimming of each set to what it runs, the sharing of nodes between
// sets and the building of sets when first used (see fold, fileSet,
// sharer and lazySet) left out when fold is false: the tests compare
// both.
func build(s *site.Site, cfg Config, fold bool) (*UI, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: ui: nil site", sigra.ErrConfig)
	}
	brand, err := cfg.Brand.normalize()
	if err != nil {
		return nil, err
	}
	u := &UI{
		site:       s,
		brand:      brand,
		assetsPath: s.Path("/assets"),
		log:        s.Logger(),
		pages:      make(map[string]*lazySet[htmltemplate.Template]),
		ownTitle:   make(map[string]bool),
		sections:   make(map[string]*lazySet[htmltemplate.Template]),
		emails:     make(map[string]*lazySet[emailSet]),
		shared:     sharer{},
		routes:     make(map[string]string),
		notices:    make(map[string]string),
		packs:      make(map[string]bool),
		fold:       fold,
	}
	u.bufs.New = func() any { return new(bytes.Buffer) }

	b, err := u.collect(cfg.Packs)
	if err != nil {
		return nil, err
	}
	files := maps.Clone(b.files)
	overridden, err := applyOverrides(files, cfg.Overrides)
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
	u.files, u.b = files, b
	if err := u.parsePages(overridden); err != nil {
		return nil, err
	}
	if err := u.parseEmails(); err != nil {
		return nil, err
	}
	return u, nil
}

// bundle is what the core and the packs declare, merged.
type bundle struct {
	files    map[string][]byte
	pages    map[string]any // page name → zero data
	sections map[string]any
	emails   map[string]any
	funcs    htmltemplate.FuncMap
	owner    map[string]string // file path → pack name ("" for the core)
	order    []string          // the packs' names, in the order given
	// declared maps a kind ("page", "route", ...) and a name to the pack
	// that declares it ("" for the core), so a clash names both.
	declared map[string]map[string]string
}

// by returns who declared name of kind, for an error message.
func (b *bundle) by(kind, name string) string { return ownerLabel(b.declared[kind][name]) }

// claim records that owner declares name of kind, or reports who already
// did.
func (b *bundle) claim(kind, name, owner string) (prev string, dup bool) {
	m := b.declared[kind]
	if m == nil {
		m = make(map[string]string)
		b.declared[kind] = m
	}
	if o, ok := m[name]; ok {
		return o, true
	}
	m[name] = owner
	return "", false
}

// ownerLabel names the provider of a file or declaration in an error
// message: the UI itself (owner "") or a pack.
func ownerLabel(owner string) string {
	if owner == "" {
		return "the UI"
	}
	return fmt.Sprintf("pack %q", owner)
}

func templateErr(format string, args ...any) error {
	return fmt.Errorf("%w: %w: %s", sigra.ErrConfig, ErrTemplate, fmt.Sprintf(format, args...))
}

func configErr(format string, args ...any) error {
	return fmt.Errorf("%w: ui: %s", sigra.ErrConfig, fmt.Sprintf(format, args...))
}

// collect reads the core files and every pack, refusing duplicates.
func (u *UI) collect(packs []Pack) (*bundle, error) {
	b := &bundle{
		files: make(map[string][]byte), pages: corePages(), sections: map[string]any{},
		emails: map[string]any{}, funcs: u.coreFuncs(), owner: map[string]string{},
		declared: map[string]map[string]string{},
	}
	root, err := fs.Sub(embedded, "templates")
	if err != nil {
		return nil, err
	}
	if err := readTree(root, "", b, []string{"layout", "pages", "assets"}); err != nil {
		return nil, err
	}
	for name := range b.pages {
		if _, ok := b.files["pages/"+name+".html"]; !ok {
			return nil, templateErr("core page %q is missing", name)
		}
		b.claim("page", name, "")
	}
	for name := range b.funcs {
		b.claim("template function", name, "")
	}
	for _, p := range packs {
		if p.Name == "" {
			return nil, configErr("a pack has no Name")
		}
		if u.packs[p.Name] {
			return nil, configErr("pack %q is given twice", p.Name)
		}
		u.packs[p.Name] = true
		b.order = append(b.order, p.Name)
		if err := u.addPack(b, p); err != nil {
			return nil, err
		}
	}
	// Every navigation entry names a route.
	for _, n := range u.nav {
		if _, ok := u.routes[n.Route]; !ok {
			return nil, configErr("navigation entry %q names the unknown route %q", n.Label, n.Route)
		}
	}
	slices.SortStableFunc(u.nav, func(a, b NavItem) int { return cmp.Compare(a.Order, b.Order) })
	return b, nil
}

func (u *UI) addPack(b *bundle, p Pack) error {
	if p.Files != nil {
		if err := readTree(p.Files, p.Name, b, []string{"pages", "sections", "emails", "slots", "assets"}); err != nil {
			return err
		}
	}
	declare := func(kind string, into map[string]any, from map[string]any) error {
		for _, name := range slices.Sorted(maps.Keys(from)) {
			if !validName(name) {
				return configErr("pack %q: %s name %q: want lowercase letters, digits and _", p.Name, kind, name)
			}
			if prev, dup := b.claim(kind, name, p.Name); dup {
				return configErr("pack %q declares the %s %q, which %s declares too", p.Name, kind, name, ownerLabel(prev))
			}
			into[name] = from[name]
		}
		return nil
	}
	if err := declare("page", b.pages, p.Pages); err != nil {
		return err
	}
	if err := declare("section", b.sections, p.Sections); err != nil {
		return err
	}
	if err := declare("email", b.emails, p.Emails); err != nil {
		return err
	}
	// Every file of the pack is declared, and every declaration has its files.
	for file, owner := range b.owner {
		if owner != p.Name {
			continue
		}
		dir, base := path.Split(file)
		name := strings.TrimSuffix(base, path.Ext(base))
		var ok bool
		switch dir {
		case "pages/":
			_, ok = p.Pages[name]
		case "sections/":
			_, ok = p.Sections[name]
		case "emails/":
			_, ok = p.Emails[name]
		case "slots/":
			ok = validName(name)
		case "assets/":
			ok = true
		}
		if !ok {
			return configErr("pack %q: %s is not declared in the pack", p.Name, file)
		}
	}
	need := func(kind string, names map[string]any, exts ...string) error {
		for name := range names {
			for _, ext := range exts {
				f := kind + "/" + name + ext
				if b.owner[f] != p.Name {
					return configErr("pack %q declares %s %q but has no %s", p.Name, strings.TrimSuffix(kind, "s"), name, f)
				}
			}
		}
		return nil
	}
	if err := errors.Join(need("pages", p.Pages, ".html"), need("sections", p.Sections, ".html"), need("emails", p.Emails, ".txt", ".html")); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(p.Routes)) {
		rel := p.Routes[name]
		if !validName(name) {
			return configErr("pack %q: route name %q: want lowercase letters, digits and _", p.Name, name)
		}
		if !strings.HasPrefix(rel, "/") {
			return configErr("pack %q: route %q: path %q must start with /", p.Name, name, rel)
		}
		full := u.site.Path(rel)
		if _, ok := web.LocalPath(full); !ok {
			return configErr("pack %q: route %q: %q is not a local path", p.Name, name, rel)
		}
		if prev, dup := u.routes[name]; dup && prev != full {
			return configErr("pack %q declares the route %q as %s, which %s declares as %s", p.Name, name, full, b.by("route", name), prev)
		}
		b.claim("route", name, p.Name)
		u.routes[name] = full
	}
	for _, key := range slices.Sorted(maps.Keys(p.Notices)) {
		if prev, dup := b.claim("notice", key, p.Name); dup {
			return configErr("pack %q declares the notice %q, which %s declares too", p.Name, key, ownerLabel(prev))
		}
		u.notices[key] = p.Notices[key]
	}
	u.nav = append(u.nav, p.Nav...)
	for _, name := range slices.Sorted(maps.Keys(p.Funcs)) {
		if prev, dup := b.claim("template function", name, p.Name); dup {
			return configErr("pack %q declares the template function %q, which %s defines too", p.Name, name, ownerLabel(prev))
		}
		b.funcs[name] = p.Funcs[name]
	}
	return nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// readTree adds the files of fsys under the given top folders to b, as
// owner's. A file of an unexpected shape is an error; a path already taken
// is an error.
func readTree(fsys fs.FS, owner string, b *bundle, tops []string) error {
	for _, top := range tops {
		err := fs.WalkDir(fsys, top, func(p string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) && p == top {
				return fs.SkipDir
			}
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != top {
					return templateErr("%s: %q: templates live directly in %s/", ownerLabel(owner), p, top)
				}
				return nil
			}
			if !fileShape(p) {
				return templateErr("%s: %q: unexpected file name", ownerLabel(owner), p)
			}
			if top == "slots" {
				// Several packs fill one slot: each pack's file is its own.
				p += "@" + owner
			}
			if prev, dup := b.owner[p]; dup {
				return configErr("%s and %s both provide %s", ownerLabel(prev), ownerLabel(owner), p)
			}
			body, err := fs.ReadFile(fsys, strings.TrimSuffix(p, "@"+owner))
			if err != nil {
				return err
			}
			b.files[p], b.owner[p] = body, owner
			return nil
		})
		if err != nil {
			if errors.Is(err, sigra.ErrConfig) {
				return err
			}
			return configErr("reading the templates of %s: %v", ownerLabel(owner), err)
		}
	}
	return nil
}

// fileShape reports whether p is a file this package uses: a template in
// layout/, pages/, sections/ or emails/, or an asset.
func fileShape(p string) bool {
	dir, file := path.Split(p)
	ext := path.Ext(file)
	if file == ext || strings.Count(p, "/") != 1 {
		return false
	}
	switch dir {
	case "layout/":
		return ext == ".html" || ext == ".txt"
	case "pages/", "sections/", "slots/":
		return ext == ".html"
	case "emails/":
		return ext == ".html" || ext == ".txt"
	case "assets/":
		return assetTypes[ext] != ""
	}
	return false
}

// applyOverrides replaces files with the overrides' and returns the paths
// it replaced. An override under layout/, pages/, sections/ or emails/ must
// name an existing file.
func applyOverrides(files map[string][]byte, overrides fs.FS) (map[string]bool, error) {
	done := map[string]bool{}
	if overrides == nil {
		return done, nil
	}
	err := fs.WalkDir(overrides, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		top, _, _ := strings.Cut(p, "/")
		switch top {
		case "layout", "pages", "sections", "emails", "assets":
		default:
			if d.IsDir() && p != "." {
				return fs.SkipDir
			}
			return nil // not ours
		}
		if d.IsDir() {
			if p != top {
				return templateErr("override %q: templates live directly in %s/", p, top)
			}
			return nil
		}
		if !fileShape(p) {
			return templateErr("override %q: unexpected file name", p)
		}
		if _, ok := files[p]; !ok && top != "assets" {
			return configErr("override %q replaces no built-in file; known %s files: %s", p, top, strings.Join(known(files, top+"/"), ", "))
		}
		body, err := fs.ReadFile(overrides, p)
		if err != nil {
			return err
		}
		files[p] = body
		done[p] = true
		return nil
	})
	if err != nil {
		if errors.Is(err, sigra.ErrConfig) {
			return nil, err
		}
		return nil, configErr("reading overrides: %v", err)
	}
	return done, nil
}

// known returns the sorted base names of the files under dir.
func known(files map[string][]byte, dir string) []string {
	var out []string
	for p := range files {
		if d, f := path.Split(p); d == dir {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
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

func (u *UI) coreFuncs() htmltemplate.FuncMap {
	return htmltemplate.FuncMap{
		"brand": func() Brand { return u.brand },
		"asset": func(name string) (string, error) {
			if s := u.AssetURL(name); s != "" {
				return s, nil
			}
			return "", fmt.Errorf("no asset %q", name)
		},
		"route": func(name string) (string, error) {
			if p, ok := u.routes[name]; ok {
				return p, nil
			}
			return "", fmt.Errorf("no route %q", name)
		},
		"hasRoute":    func(name string) bool { _, ok := u.routes[name]; return ok },
		"home":        func() string { return u.site.Home() },
		"icon":        u.icon,
		"settingsNav": u.settingsNav,
		"field":       makeField,
		"args":        args,
		"csrfName":    csrfName,
		"date":        formatDate,
		"day":         formatDay,
		"iso":         isoTime,
		"duration":    humanDuration,
		"plural":      plural,
		"statusTitle": statusTitle,
		"statusText":  statusText,
		"join":        strings.Join,
		"deviceName":  deviceName,
		"isMobile":    isMobile,
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

// icon returns the inline SVG of the icon template "icon-<name>".
func (u *UI) icon(name string) (htmltemplate.HTML, error) {
	if s, ok := u.icons[name]; ok {
		return s, nil
	}
	return "", fmt.Errorf("no icon %q", name)
}

// NavLink is one entry of the settings navigation as templates see it.
type NavLink struct {
	Href, Label string
	Icon        htmltemplate.HTML
	// Current marks the entry of the page being shown.
	Current bool
}

// settingsNav returns the settings navigation with current (a route name)
// marked.
func (u *UI) settingsNav(current string) []NavLink {
	out := make([]NavLink, 0, len(u.nav))
	for _, n := range u.nav {
		out = append(out, NavLink{Href: u.routes[n.Route], Label: n.Label, Icon: u.icons[n.Icon], Current: n.Route == current})
	}
	return out
}

// parsePages checks every page and section: it builds each one's set
// from u.files and runs it once (see buildPage), renders the icons and
// checks the navigation's. The sets are kept only when not folding (see
// later).
func (u *UI) parsePages(overridden map[string]bool) error {
	files, b := u.files, u.b
	base, err := u.pageBase()
	if err != nil {
		return err
	}
	// Icons are static: render each once (from a copy: a template set
	// cannot be cloned once it has run).
	u.icons = make(map[string]htmltemplate.HTML)
	iconSet, err := base.Clone()
	if err != nil {
		return templateErr("%v", err)
	}
	for _, t := range iconSet.Templates() {
		if name, ok := strings.CutPrefix(t.Name(), "icon-"); ok {
			var buf bytes.Buffer
			if err := t.Execute(&buf, nil); err != nil {
				return templateErr("icon %q: %v", name, err)
			}
			u.icons[name] = htmltemplate.HTML(strings.TrimSpace(buf.String()))
		}
	}
	for _, n := range u.nav {
		if _, ok := u.icons[n.Icon]; !ok {
			return configErr("navigation entry %q names the unknown icon %q", n.Label, n.Icon)
		}
	}
	for _, name := range names(files, "pages/", ".html") {
		if _, declared := b.pages[name]; !declared {
			return configErr("page %q is not declared by any pack", name)
		}
		p := "pages/" + name + ".html"
		t, err := u.buildPage(base, name)
		if err != nil {
			return err
		}
		// An override's own title block wins over the handler's title.
		u.ownTitle[name] = overridden[p] && definesTitle(p, files[p])
		u.pages[name] = u.later(t, func(base *htmltemplate.Template) (*htmltemplate.Template, error) {
			return u.buildPage(base, name)
		})
	}
	for _, name := range names(files, "sections/", ".html") {
		if _, declared := b.sections[name]; !declared {
			return configErr("section %q is not declared by any pack", name)
		}
		t, err := u.buildSection(base, name)
		if err != nil {
			return err
		}
		u.sections[name] = u.later(t, func(base *htmltemplate.Template) (*htmltemplate.Template, error) {
			return u.buildSection(base, name)
		})
	}
	return nil
}

// later returns the lazySet (see keep) of a page or section whose set New
// built as t, which build builds again from the layouts parsed once for
// every set, and shares with the sets built before it.
func (u *UI) later(t *htmltemplate.Template, build func(base *htmltemplate.Template) (*htmltemplate.Template, error)) *lazySet[htmltemplate.Template] {
	return keep(u, t, func() (*htmltemplate.Template, error) {
		if u.bases.page == nil {
			base, err := u.pageBase()
			if err != nil {
				return nil, err
			}
			u.bases.page = base
		}
		t, err := build(u.bases.page)
		if err != nil {
			return nil, err
		}
		u.shared.share(t)
		return t, nil
	})
}

// keep returns the lazySet that build builds, for a set that New built as
// t to check it: folded, t is let go; unfolded, it is the set.
func keep[T any](u *UI, t *T, build func() (*T, error)) *lazySet[T] {
	l := &lazySet[T]{build: build}
	if !u.fold {
		l.set.Store(t)
	}
	return l
}

// pageBase parses the layout's templates, the slots and fold's scratch
// template: what every page's and section's set is built from (see
// fileSet), which only copies from it.
func (u *UI) pageBase() (*htmltemplate.Template, error) {
	files := u.files
	base := htmltemplate.New("").Funcs(u.b.funcs)
	for _, name := range names(files, "layout/", ".html") {
		p := "layout/" + name + ".html"
		if p == "layout/email.html" {
			continue
		}
		if _, err := base.New(p).Parse(string(files[p])); err != nil {
			return nil, templateErr("%v", err)
		}
	}
	if base.Lookup("base") == nil {
		return nil, templateErr("no template defines \"base\" (layout/base.html)")
	}
	if err := parseSlots(base, files, u.b); err != nil {
		return nil, err
	}
	// The scratch template of fold, in every page's set.
	if _, err := base.New(foldName).Parse("-"); err != nil {
		return nil, templateErr("%v", err)
	}
	return base, nil
}

// buildPage returns the set of page name, run once with its sample data
// and, when folding, folded and pruned.
func (u *UI) buildPage(base *htmltemplate.Template, name string) (*htmltemplate.Template, error) {
	p := "pages/" + name + ".html"
	t, err := u.fileSet(base, u.b.funcs, p, u.files[p], "base")
	if err != nil {
		return nil, err
	}
	if t.Lookup("content") == nil {
		return nil, templateErr("%s does not define \"content\"", p)
	}
	// The first execution escapes the templates: New does it, so that an
	// unsafe construct, a wrong field name or an unknown route fails New.
	if err := t.ExecuteTemplate(io.Discard, "base", u.samplePage(u.b.pages[name])); err != nil {
		return nil, templateErr("page %q (%s): %v", name, ownerLabel(u.b.owner[p]), err)
	}
	if u.fold {
		fold(t, "base")
		prune(t, "base")
	}
	return t, nil
}

// buildSection is buildPage for settings section name.
func (u *UI) buildSection(base *htmltemplate.Template, name string) (*htmltemplate.Template, error) {
	p := "sections/" + name + ".html"
	t, err := u.fileSet(base, u.b.funcs, p, u.files[p], p)
	if err != nil {
		return nil, err
	}
	if err := t.ExecuteTemplate(io.Discard, p, u.samplePage(u.b.sections[name])); err != nil {
		return nil, templateErr("section %q (%s): %v", name, ownerLabel(u.b.owner[p]), err)
	}
	if u.fold {
		fold(t, p)
		prune(t, p)
	}
	return t, nil
}

// fileSet returns the set that runs the page or section file p (its text
// body) from the template root: the templates of base and those p
// defines. Without folding it is a clone of base. With it, it holds only
// the templates of base that root reaches and the scratch template of
// fold, and only the functions of funcs that those templates and p's
// name. No page runs the others (a template is only ever called by a name
// written in a template), and each would cost every set a tree or a
// function of its own, which the garbage collector marks on every cycle.
// TestFoldKeepsEveryPage compares every page and section of both. A call
// of a template that neither defines fails the first execution, as in a
// clone.
func (u *UI) fileSet(base *htmltemplate.Template, funcs htmltemplate.FuncMap, p string, body []byte, root string) (*htmltemplate.Template, error) {
	var t *htmltemplate.Template
	if u.fold {
		// p's own templates, for what they call; a file that does not
		// parse is reported by the Parse below.
		own := map[string]*parse.Tree{}
		tree := parse.New(p)
		tree.Mode = parse.SkipFuncCheck
		_, _ = tree.Parse(string(body), "", "", own)
		// What root reaches, through p's templates and base's alike.
		reached := map[string]bool{foldName: true}
		reach(func(name string) []*parse.Tree { return []*parse.Tree{own[name], treeOf(base.Lookup(name))} },
			&parse.TemplateNode{Name: root}, reached)
		// Only the functions those templates and p name: each set keeps
		// its own copy of its function map (two maps, one of them of
		// reflect.Values). p's file must parse whole, so all its templates
		// count, run or not.
		named := map[string]bool{}
		for name := range reached {
			if tr := treeOf(base.Lookup(name)); tr != nil {
				idents(tr.Root, named)
			}
		}
		for _, tr := range own {
			idents(tr.Root, named)
		}
		used := htmltemplate.FuncMap{}
		for name, fn := range funcs {
			if named[name] {
				used[name] = fn
			}
		}
		t = htmltemplate.New("").Funcs(used)
		for _, name := range slices.Sorted(maps.Keys(reached)) {
			if tr := treeOf(base.Lookup(name)); tr != nil {
				// A copy: escaping changes the tree, and base stays as
				// parsed for the next set.
				if _, err := t.AddParseTree(name, tr.Copy()); err != nil {
					return nil, templateErr("%v", err)
				}
			}
		}
	} else {
		var err error
		if t, err = base.Clone(); err != nil {
			return nil, templateErr("%v", err)
		}
	}
	if _, err := t.New(p).Parse(string(body)); err != nil {
		return nil, templateErr("%v", err)
	}
	return t, nil
}

// treeOf returns t's tree, or nil when t is nil.
func treeOf(t *htmltemplate.Template) *parse.Tree {
	if t == nil {
		return nil
	}
	return t.Tree
}

// parseSlots adds to base the template "slot:<name>" of every slot: the
// well-known ones, empty unless a pack fills them, and those packs fill.
// A pack's file slots/<name>.html is kept as "slots/<name>.html@<pack>"
// (see readTree) and parsed under that name; the slot runs the packs'
// files in the order of the packs.
func parseSlots(base *htmltemplate.Template, files map[string][]byte, b *bundle) error {
	fills := map[string][]string{SlotSignIn: nil, SlotSudo: nil, SlotSecondFactor: nil, SlotStepUp: nil}
	for _, owner := range b.order {
		for _, p := range slices.Sorted(maps.Keys(files)) {
			rest, ok := strings.CutPrefix(p, "slots/")
			if !ok || !strings.HasSuffix(rest, ".html@"+owner) {
				continue
			}
			if _, err := base.New(p).Parse(string(files[p])); err != nil {
				return templateErr("%v", err)
			}
			name := strings.TrimSuffix(rest, ".html@"+owner)
			fills[name] = append(fills[name], p)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(fills)) {
		var body strings.Builder
		for _, t := range fills[name] {
			fmt.Fprintf(&body, "{{template %q .}}", t)
		}
		if _, err := base.New("slot:" + name).Parse(body.String()); err != nil {
			return templateErr("%v", err)
		}
	}
	return nil
}

// definesTitle reports whether the template file body defines "title"
// itself (with define or block, however it is spaced or trimmed).
func definesTitle(name string, body []byte) bool {
	tree := parse.New(name)
	tree.Mode = parse.SkipFuncCheck
	trees := map[string]*parse.Tree{}
	if _, err := tree.Parse(string(body), "", "", trees); err != nil {
		return false // already parsed successfully by html/template
	}
	_, ok := trees["title"]
	return ok
}

// samplePage is the data of New's trial rendering.
func (u *UI) samplePage(data any) *Page {
	return &Page{
		User:        &sigra.User{ID: "0", Email: "user@example.com", CreatedAt: time.Unix(0, 0)},
		CSRFToken:   "token",
		FieldErrors: map[string]string{},
		Values:      map[string]string{},
		Data:        data,
	}
}

// parseEmails is parsePages for the emails (see buildEmail).
func (u *UI) parseEmails() error {
	textBase, htmlBase, err := u.emailBases()
	if err != nil {
		return err
	}
	for name := range u.b.emails {
		set, err := u.buildEmail(textBase, htmlBase, name)
		if err != nil {
			return err
		}
		u.emails[name] = keep(u, set, func() (*emailSet, error) {
			if u.bases.text == nil {
				textBase, htmlBase, err := u.emailBases()
				if err != nil {
					return nil, err
				}
				u.bases.text, u.bases.html = textBase, htmlBase
			}
			set, err := u.buildEmail(u.bases.text, u.bases.html, name)
			if err != nil {
				return nil, err
			}
			u.shared.share(set.html)
			return set, nil
		})
	}
	return nil
}

// emailSet is an email's two template sets: its text part's and its HTML
// part's.
type emailSet struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// emailBases parses the email layouts, text and HTML, that every email's
// sets are cloned from.
func (u *UI) emailBases() (*texttemplate.Template, *htmltemplate.Template, error) {
	files := u.files
	textBase := texttemplate.New("").Funcs(texttemplate.FuncMap{
		"date": formatDate, "day": formatDay, "plural": plural, "duration": humanDuration,
	})
	if body, ok := files["layout/email.txt"]; ok {
		if _, err := textBase.New("layout/email.txt").Parse(string(body)); err != nil {
			return nil, nil, templateErr("%v", err)
		}
	}
	htmlBase := htmltemplate.New("").Funcs(htmltemplate.FuncMap{
		"date": formatDate, "day": formatDay, "plural": plural, "duration": humanDuration,
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
	body, ok := files["layout/email.html"]
	if !ok {
		return nil, nil, templateErr("layout/email.html is missing")
	}
	if _, err := htmlBase.New("layout/email.html").Parse(string(body)); err != nil {
		return nil, nil, templateErr("%v", err)
	}
	return textBase, htmlBase, nil
}

// buildEmail returns the sets of email name, cloned from the bases and
// rendered once with the zero data its pack declares.
func (u *UI) buildEmail(textBase *texttemplate.Template, htmlBase *htmltemplate.Template, name string) (*emailSet, error) {
	tt, err := textBase.Clone()
	if err != nil {
		return nil, templateErr("%v", err)
	}
	p := "emails/" + name + ".txt"
	if _, err := tt.New(p).Parse(string(u.files[p])); err != nil {
		return nil, templateErr("%v", err)
	}
	ht, err := htmlBase.Clone()
	if err != nil {
		return nil, templateErr("%v", err)
	}
	p = "emails/" + name + ".html"
	if _, err := ht.New(p).Parse(string(u.files[p])); err != nil {
		return nil, templateErr("%v", err)
	}
	if ht.Lookup("email") == nil || ht.Lookup("content") == nil {
		return nil, templateErr("%s must define \"content\" (layout/email.html defines \"email\")", p)
	}
	set := &emailSet{text: tt, html: ht}
	if _, _, _, err := u.renderEmail(set, name, &Email{To: "user@example.com", When: time.Unix(0, 0), Data: u.b.emails[name]}); err != nil {
		return nil, fmt.Errorf("%w: %w", sigra.ErrConfig, err)
	}
	return set, nil
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

// Site returns the site the UI was built for.
func (u *UI) Site() *site.Site { return u.site }

// Brand returns the brand in use, with defaults filled in.
func (u *UI) Brand() Brand { return u.brand }

// Pages returns the names of the pages Render knows, sorted.
func (u *UI) Pages() []string { return slices.Sorted(maps.Keys(u.pages)) }

// Sections returns the names of the settings sections the UI knows, sorted.
func (u *UI) Sections() []string { return slices.Sorted(maps.Keys(u.sections)) }

// Emails returns the names of the emails RenderEmail knows, sorted.
func (u *UI) Emails() []string { return slices.Sorted(maps.Keys(u.emails)) }

// HasPack reports whether the UI was built with the pack called name.
// Features check it at start, so a UI built without their pages fails
// early with a clear error.
func (u *UI) HasPack(name string) bool { return u.packs[name] }

// Route returns the local path of the route called name (with the site's
// prefix), and whether a pack declares it. The guards find the well-known
// routes ([RouteSignIn] and the others) this way.
func (u *UI) Route(name string) (string, bool) {
	p, ok := u.routes[name]
	return p, ok
}

// Notice returns the text of the notice key, or "".
func (u *UI) Notice(key string) string { return u.notices[key] }

// Templates returns the built-in files (the core's and the packs'), at the
// paths Config.Overrides uses, before any override: copy one to start an
// override. The file system is read-only and safe for concurrent use.
func (u *UI) Templates() fs.FS { return mapFS(u.b.files) }

// Assets returns the handler of the stylesheet, the theme script and the
// icon (plus any file added under assets/ by Config.Overrides). [UI.Mount]
// mounts it under the site's prefix; it looks only at the last element of
// the request path, so it can also be mounted elsewhere.
//
// Pages link each file by a name that carries a hash of its content
// ("sigra.3f1c0a9b2e7d.css"), served with a one-year immutable cache
// lifetime; the plain name ("sigra.css") is served too, revalidated with
// its ETag on every use.
func (u *UI) Assets() http.Handler { return u.handler }

// AssetsPath returns the path under which the assets are served: the
// site's prefix followed by "/assets".
func (u *UI) AssetsPath() string { return u.assetsPath }

// Mount registers the assets on mux, at GET <prefix>/assets/.
func (u *UI) Mount(mux *http.ServeMux) {
	mux.Handle("GET "+u.assetsPath+"/", u.handler)
}

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

// Fill completes p with what every page shows, from r, where p leaves it
// empty: the signed-in user, the CSRF field and token (from the CSRF
// middleware), a local return_to, the notice named by the query's notice
// parameter, a banner asking an unconfirmed user to confirm their
// address, and the impersonation banner's data while an admin acts as the
// user. It returns p (a new Page when p is nil).
//
// The return_to is the posted form's, when the handler has already parsed
// the form (r.PostForm is not nil: a form re-rendered after a POST keeps
// what the page posted), else the query's; either only when it is a local
// path. Fill never reads the request body itself.
func (u *UI) Fill(r *http.Request, p *Page) *Page {
	if p == nil {
		p = &Page{}
	}
	if p.User == nil {
		p.User = sigra.UserFrom(r.Context())
	}
	if p.CSRFField == "" {
		p.CSRFField = DefaultCSRFField
	}
	if p.CSRFToken == "" {
		p.CSRFToken = web.CSRFToken(r)
	}
	var q url.Values // parsed once, when the request has a query
	if r.URL.RawQuery != "" {
		q = r.URL.Query()
	}
	if p.ReturnTo == "" && r.PostForm != nil {
		if rt, ok := web.LocalPath(r.PostForm.Get("return_to")); ok {
			p.ReturnTo = rt
		}
	}
	if p.ReturnTo == "" {
		if rt, ok := web.LocalPath(q.Get("return_to")); ok {
			p.ReturnTo = rt
		}
	}
	if p.Flash == "" {
		if n := q.Get("notice"); n != "" {
			p.Flash = u.notices[n]
		}
	}
	if p.Impersonation == nil {
		if a := sigra.AuthFrom(r.Context()); a.Impersonator != "" && a.User != nil {
			p.Impersonation = &Impersonation{User: a.User, ImpersonatorID: a.Impersonator, Ends: a.ImpersonationEnds}
			if !a.ImpersonationEnds.IsZero() {
				p.Impersonation.Left = humanDuration(max(a.ImpersonationEnds.Sub(u.site.Now()), 0))
			}
			p.Impersonation.StopPath = u.routes[RouteStopImpersonation]
		}
	}
	if p.Banner == "" && p.User != nil && !p.User.EmailConfirmed() && p.Impersonation == nil {
		p.Banner = "Confirm your email address: we sent a link to " + p.User.Email + "."
	}
	return p
}

// Render writes page name with status. It fills the common fields of p
// from r (see [UI.Fill]) in a copy, and sets Content-Type, Cache-Control
// "no-store" and X-Content-Type-Options. The page renders into a buffer
// first: if the template fails (or name is unknown) nothing of it is sent,
// the error is logged, and the client gets a 500 error page instead.
func (u *UI) Render(w http.ResponseWriter, r *http.Request, status int, name string, p *Page) {
	var page Page
	if p != nil {
		page = *p
	}
	u.Fill(r, &page)
	if u.ownTitle[name] {
		page.Title = ""
	}
	buf := u.bufs.Get().(*bytes.Buffer)
	defer u.putBuf(buf)
	err := u.execPage(buf, name, &page)
	if err != nil {
		u.log.ErrorContext(r.Context(), "sigra/ui: rendering page failed", "page", name, "err", err)
		status = http.StatusInternalServerError
		buf.Reset()
		fallback := &Page{CSRFField: page.CSRFField, CSRFToken: page.CSRFToken, Data: &ErrorData{Status: status}}
		if name == "error" || u.execPage(buf, "error", fallback) != nil {
			http.Error(w, "500 internal server error", status)
			return
		}
	}
	// The headers' values share one array; each slice has a capacity of
	// one, so a later Add copies it. The names are in canonical form.
	v := []string{"text/html; charset=utf-8", "no-store", "nosniff", strconv.Itoa(buf.Len())}
	h := w.Header()
	h["Content-Type"] = v[0:1:1]
	h["Cache-Control"] = v[1:2:2]
	h["X-Content-Type-Options"] = v[2:3:3]
	h["Content-Length"] = v[3:4:4]
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

// RenderError writes the "error" page with status and message, for an
// answer that is not tied to a form (middleware.Guard uses it to refuse
// an impersonated session).
func (u *UI) RenderError(w http.ResponseWriter, r *http.Request, status int, message string) {
	u.Render(w, r, status, "error", &Page{Data: &ErrorData{Status: status, Message: message}})
}

func (u *UI) execPage(w io.Writer, name string, p *Page) error {
	t, err := u.page(name)
	if err != nil {
		return err
	}
	if p.Data == nil {
		// A nil Data renders like the zero value of the page's type.
		p.Data = u.zeroData(name)
	}
	return t.ExecuteTemplate(w, "base", p)
}

// zeroData returns the zero value of page name's data type, as its pack
// declared it (templates only read it, so it is shared).
func (u *UI) zeroData(name string) any { return u.b.pages[name] }

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
// own copy (and Data, when nil, with the zero value the pack declares),
// and removes line breaks and control characters from the caller's
// strings, which may come from a request (the user agent). A nil data
// renders like a zero Email.
// Feature-specific values travel in Email.Data; the feature keeps them to
// one line where a template puts them in the subject.
func (u *UI) RenderEmail(name string, data *Email) (subject, text, html string, err error) {
	l := u.emails[name]
	if l == nil {
		return "", "", "", fmt.Errorf("%w: %q", ErrUnknownEmail, name)
	}
	set, err := built(u, l)
	if err != nil {
		return "", "", "", fmt.Errorf("email %q: %w", name, err)
	}
	return u.renderEmail(set, name, data)
}

// renderEmail is RenderEmail with the email's sets.
func (u *UI) renderEmail(set *emailSet, name string, data *Email) (subject, text, html string, err error) {
	tt, ht := set.text, set.html
	var e Email
	if data != nil {
		e = *data
	}
	if e.Data == nil {
		// A nil Data renders like the zero value the pack declares.
		e.Data = u.b.emails[name]
	}
	e.Brand = u.brand
	e.To = oneLine(e.To, 320)
	e.Link = oneLine(e.Link, 4096)
	e.Code = oneLine(e.Code, 64)
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
