package ui

import (
	"bytes"
	"cmp"
	"fmt"
	htmltemplate "html/template"
	"io"
	"io/fs"
	"net/http"
	"path"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Well-known route names. A pack that provides one of these destinations
// declares a route with its name; the guards redirect there and the layout
// links there (a route no pack declares is left out of the layout, and a
// guard that needs it refuses to start).
const (
	// RouteSignIn is the sign-in page.
	RouteSignIn = "sign_in"
	// RouteSignOut takes the POST that signs out.
	RouteSignOut = "sign_out"
	// RouteRegister is the registration page.
	RouteRegister = "register"
	// RouteSettings is the account settings page.
	RouteSettings = "settings"
	// RouteSudo is where a signed-in user re-enters a credential.
	RouteSudo = "sudo"
	// RouteConfirm is where a user confirms their email address.
	RouteConfirm = "confirm"
	// RouteSecondFactor is the second step of a sign-in.
	RouteSecondFactor = "second_factor"
	// RouteStepUp is where a user signed in with one factor adds a second
	// (to verify it, or to set one up).
	RouteStepUp = "step_up"
	// RoutePasswordRenew is where a signed-in user who must change their
	// password (one found in a breach at sign-in) chooses a new one.
	RoutePasswordRenew = "password_renew"
	// RouteStopImpersonation takes the POST that ends an impersonation
	// (see session.Manager.StopImpersonation). The admin feature declares
	// it; the impersonation banner shows its stop button only when a pack
	// does.
	RouteStopImpersonation = "stop_impersonation"
)

// Well-known slots: places in one pack's pages where other packs add
// their own ways in (a "Sign in with a passkey" button under the password
// form). A page shows a slot with {{template "slot:<name>" .}}; a pack
// fills it with its file slots/<name>.html, rendered with the page's
// [*Page]. The UI defines these slots (empty when no pack fills them), so
// a page may show them whatever packs are given.
const (
	// SlotSignIn is below the sign-in form.
	SlotSignIn = "sign_in"
	// SlotSudo is on the page where a signed-in user re-enters a
	// credential (RouteSudo).
	SlotSudo = "sudo"
	// SlotSecondFactor is on the page of the second step of a sign-in
	// (RouteSecondFactor) and of a step-up.
	SlotSecondFactor = "second_factor"
	// SlotStepUp is on the page where a user signed in with one factor
	// who has no second factor of the page's pack yet is sent to set one
	// up (RouteStepUp): other packs offer there a second factor the user
	// already holds (a passkey).
	SlotStepUp = "step_up"
)

// Pack is a feature's share of the UI: its templates, the data type of each
// page, section and email, its routes, notices, settings-navigation entries
// and template functions. A feature exports its pack (account.Pages(),
// mfa.Pages()); the application passes the packs of the features it uses
// to [New] in Config.Packs. An application adds its own pages the same
// way, with a pack of its own.
type Pack struct {
	// Name identifies the pack ("account"); features check for it with
	// [UI.HasPack]. Required and unique.
	Name string
	// Files holds the pack's templates: pages/<name>.html (a page, which
	// defines "content" and usually "title"; dot is the [*Page]),
	// sections/<name>.html (a settings section, rendered as a whole; dot is
	// the settings [*Page] with the section's data as Data), and
	// emails/<name>.txt with emails/<name>.html (an email; dot is the
	// [*Email]). Every file there must be declared below. Two folders need
	// no declaration: slots/<name>.html fills the slot name on other packs'
	// pages (see [SlotSignIn]; dot is the page's [*Page]; slots of several
	// packs show in the order of Config.Packs), and assets/ adds files
	// served with the UI's assets (a script the slots load with
	// {{asset "name.js"}}; a name the UI or another pack has is refused).
	// Files in other folders are not read.
	Files fs.FS
	// Pages maps each page of Files to the zero value of its data type (a
	// pointer to a struct, or nil for a page without data). Render uses it
	// for a page given nil Data, and New renders every page with it once,
	// so a template that names a missing field fails at start.
	Pages map[string]any
	// Sections maps each settings section of Files to the zero value of
	// its data type, with which New renders the section once.
	Sections map[string]any
	// Emails maps each email of Files to the zero value of its Email.Data
	// (nil for an email without data of its own). RenderEmail uses it for
	// an Email given nil Data, and New renders every email with it once.
	Emails map[string]any
	// Routes maps route names to paths under the site's prefix ("/login").
	// Templates link them with {{route "name"}} (an unknown name fails New)
	// and test for optional ones with {{if hasRoute "name"}}. A pack that
	// provides a well-known destination declares it under its well-known
	// name ([RouteSignIn], ...), possibly beside a name of its own.
	Routes map[string]string
	// Notices are the success messages a redirect may ask for with
	// ?notice=<key> ("password_changed": "Your password was changed."): a
	// fixed text, so anonymous pages need no session write for a flash.
	Notices map[string]string
	// Nav are the pack's entries in the settings navigation.
	Nav []NavItem
	// Funcs are template functions the pack's templates call. Names must
	// not clash with the UI's or another pack's.
	Funcs htmltemplate.FuncMap
}

// NavItem is an entry of the navigation of the settings pages.
type NavItem struct {
	// Route is the route name the entry links to.
	Route string
	// Label is the entry's text.
	Label string
	// Icon names an icon of layout/icons.html ("shield" for the template
	// "icon-shield").
	Icon string
	// Order places the entry: lower first. The account pack uses 10
	// (Account) and 20 (Devices); two-factor authentication 30.
	Order int
}

// Section is a part of the settings page that a feature contributes: the
// account's email and password forms, the two-factor summary, an
// application's profile form. The feature that serves the settings page
// (account) takes the other features' sections in its configuration.
type Section struct {
	// Name is the section's template, sections/<Name>.html of some pack.
	Name string
	// Order places the section on the page: lower first. The account
	// feature's sections use 10 (email), 20 (password), 30 (devices) and
	// 1000 (delete the account); two-factor authentication uses 40, and
	// the profile example 5.
	Order int
	// Data loads the section's data for a request of the signed-in user. A
	// nil value (with a nil error) leaves the section out. The value is
	// also the section's part of the settings page's JSON answer, under
	// Name (see [UI.SectionData]), so it should marshal to JSON.
	Data func(r *http.Request) (any, error)
}

// SettingsData is the Data of the "settings" page: the rendered sections,
// in order.
type SettingsData struct {
	Sections []htmltemplate.HTML
}

// Settings loads every section's data for r, in Order (sections of equal
// Order in the order given), and renders the sections that have data with
// p as their page, so form errors and sticky values set on p show in the
// section that has the field. It fills p from r first, as [UI.Fill] does
// (p itself, not a copy; a nil p is replaced by a new Page). A section
// whose Data returns nil, or a nil pointer, is left out. It returns the
// settings page's data and the sections' data by name. A section that
// fails stops it; the error names the section. A JSON answer, which needs
// only the data, calls [UI.SectionData] instead and renders nothing.
func (u *UI) Settings(r *http.Request, p *Page, sections []Section) (*SettingsData, map[string]any, error) {
	p = u.Fill(r, p)
	out := &SettingsData{}
	byName, err := loadSections(r, sections, func(name string, data any) error {
		html, err := u.RenderSection(name, p, data)
		if err != nil {
			return err
		}
		out.Sections = append(out.Sections, html)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, byName, nil
}

// SectionData loads every section's data for r, in Order, as [UI.Settings]
// does, without rendering anything: the settings page's JSON answer. It
// returns the data by section name; a section whose Data returns nil, or a
// nil pointer, is left out, and a section that fails, or that no pack
// declares, stops it (the error names the section).
func (u *UI) SectionData(r *http.Request, sections []Section) (map[string]any, error) {
	return loadSections(r, sections, func(name string, _ any) error {
		if u.sections[name] == nil {
			return fmt.Errorf("sigra/ui: no settings section %q", name)
		}
		return nil
	})
}

// loadSections calls each section's Data for r in Order (stable) and
// returns the data by name, passing each section that has data to each in
// that order.
func loadSections(r *http.Request, sections []Section, each func(name string, data any) error) (map[string]any, error) {
	ordered := slices.Clone(sections)
	slices.SortStableFunc(ordered, func(a, b Section) int { return cmp.Compare(a.Order, b.Order) })
	byName := make(map[string]any, len(ordered))
	for _, s := range ordered {
		if s.Data == nil {
			continue
		}
		data, err := s.Data(r)
		if err != nil {
			return nil, fmt.Errorf("sigra/ui: settings section %q: %w", s.Name, err)
		}
		if isNil(data) {
			continue
		}
		if err := each(s.Name, data); err != nil {
			return nil, err
		}
		byName[s.Name] = data
	}
	return byName, nil
}

// RenderSection renders the settings section name with p as its page and
// data as the page's Data. A nil data (or nil pointer) renders like the
// zero value of the section's data type, as its pack declared it.
func (u *UI) RenderSection(name string, p *Page, data any) (htmltemplate.HTML, error) {
	t, err := u.section(name)
	if err != nil {
		return "", err
	}
	if isNil(data) {
		data = u.b.sections[name]
	}
	var page Page
	if p != nil {
		page = *p
	}
	page.Data = data
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "sections/"+name+".html", &page); err != nil {
		return "", fmt.Errorf("%w: settings section %q: %w", ErrTemplate, name, err)
	}
	return htmltemplate.HTML(buf.String()), nil
}

// isNil reports whether v is nil or a nil pointer, map, slice or
// interface: a section whose Data returns a typed nil is left out like one
// that returns nil.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// mapFS is a read-only fs.FS over a map of file contents, with directories
// implied by the paths.
type mapFS map[string][]byte

func (m mapFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if b, ok := m[name]; ok {
		return &mapFile{name: path.Base(name), r: bytes.NewReader(b), size: int64(len(b))}, nil
	}
	prefix := name + "/"
	if name == "." {
		prefix = ""
	}
	seen := map[string]bool{}
	var entries []fs.DirEntry
	for p, b := range m {
		rest, ok := strings.CutPrefix(p, prefix)
		if !ok {
			continue
		}
		first, _, isDir := strings.Cut(rest, "/")
		if seen[first] {
			continue
		}
		seen[first] = true
		e := &mapEntry{name: first, dir: isDir}
		if !isDir {
			e.size = int64(len(b))
		}
		entries = append(entries, e)
	}
	if len(entries) == 0 && name != "." {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return &mapDir{name: path.Base(name), entries: entries}, nil
}

type mapFile struct {
	name string
	r    *bytes.Reader
	size int64
}

func (f *mapFile) Stat() (fs.FileInfo, error) { return &mapEntry{name: f.name, size: f.size}, nil }
func (f *mapFile) Read(b []byte) (int, error) { return f.r.Read(b) }
func (f *mapFile) Close() error               { return nil }

type mapDir struct {
	name    string
	entries []fs.DirEntry
	off     int
}

func (d *mapDir) Stat() (fs.FileInfo, error) { return &mapEntry{name: d.name, dir: true}, nil }
func (d *mapDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.name, Err: fs.ErrInvalid}
}
func (d *mapDir) Close() error { return nil }
func (d *mapDir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entries[d.off:]
	if n <= 0 {
		d.off = len(d.entries)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(rest))
	d.off += n
	return rest[:n], nil
}

type mapEntry struct {
	name string
	dir  bool
	size int64
}

func (e *mapEntry) Name() string { return e.name }
func (e *mapEntry) Size() int64  { return e.size }
func (e *mapEntry) Mode() fs.FileMode {
	if e.dir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}
func (e *mapEntry) ModTime() time.Time         { return time.Time{} }
func (e *mapEntry) IsDir() bool                { return e.dir }
func (e *mapEntry) Sys() any                   { return nil }
func (e *mapEntry) Type() fs.FileMode          { return e.Mode().Type() }
func (e *mapEntry) Info() (fs.FileInfo, error) { return e, nil }
