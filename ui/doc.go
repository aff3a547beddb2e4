// Package ui renders the pages and emails of Sigra's features: one layout
// that every page shares, the error page, the settings page made of
// sections, text and HTML emails, a stylesheet with light, dark and system
// themes, and the brand (product name, logo, accent colour, support link).
//
// The UI knows no feature's pages. Each feature brings its own as a
// [Pack] (account.Pages(), mfa.Pages()), and an application adds its own
// pages the same way:
//
//	s, err := site.New(site.Config{BaseURL: "https://app.example.com"})
//	if err != nil { ... }
//	u, err := ui.New(s, ui.Config{
//		Brand: ui.Brand{ProductName: "Acme", AccentColor: "#0f766e"},
//		Packs: []ui.Pack{account.Pages(), mfa.Pages(), myapp.Pages()},
//	})
//	if err != nil { ... }
//	u.Mount(mux) // the assets, at GET <prefix>/assets/
//
// Handlers fill a [Page] and call [UI.Render]; mailers call
// [UI.RenderEmail]. A UI is immutable after [New] and safe for concurrent
// use. Every error of New wraps [sigra.ErrConfig]; a template that does not
// parse or render also wraps [ErrTemplate].
//
// # Packs
//
// A pack holds its templates in Pack.Files:
//
//	pages/<name>.html      a page: defines "content" (with exactly one <h1>), usually
//	                       "title", and optionally "width" ("wide"; the default is a
//	                       centred card). Dot is the [*Page].
//	sections/<name>.html   a settings section, rendered as a whole. Dot is the
//	                       settings page's [*Page] with the section's data as Data.
//	emails/<name>.txt      the subject ("Subject: ..." on the first line) and text
//	emails/<name>.html     part of an email, and its HTML part, which defines
//	                       "content". Dot is the [*Email].
//
// and declares each of them with the zero value of its data type
// (Pack.Pages, Pack.Sections, Pack.Emails). A file that is not declared,
// and a declaration without its file, are refused. New renders every page,
// section and email once with its zero value, so a syntax error, a field
// the type does not have, an unknown function, route or asset, or markup
// html/template cannot escape safely fails New rather than a request. A
// page or email given nil Data renders with the declared zero value.
//
// Names are unique across packs: two packs declaring the same page,
// section, email, notice or template function, the same route name with
// another path, or two packs with the same Name are refused, with a message
// naming both. Features check with [UI.HasPack] that the UI they are given
// has their pack.
//
// # Routes
//
// Pack.Routes maps route names to paths under the site's prefix:
// {"sign_in": "/login"} is "/auth/login" with the default prefix, and
// "/account/login" under site.Config.Prefix "/account". Templates link
// them with {{route "name"}} (an unknown name fails New) and test for an
// optional one with {{if hasRoute "name"}}; {{home}} is the site's home
// page. [UI.Route] answers the same question in Go.
//
// A pack that provides one of the destinations every application has
// declares it under its well-known name as well: [RouteSignIn],
// [RouteSignOut], [RouteRegister], [RouteSettings], [RouteSudo],
// [RouteConfirm], [RouteSecondFactor], [RouteStepUp]. The layout links the
// settings page and the sign-out button only when a pack declares them,
// the error page of a 401 links the sign-in page, and the guards of the
// middleware package redirect to these routes (a guard refuses to start
// when the route it needs is missing).
//
// # Notices
//
// Pack.Notices are fixed success messages by key. A handler that
// redirects after a change adds ?notice=<key> to the target, and the page
// shows the text as its flash: an anonymous page needs no session write
// to show one, and the query cannot inject text, since an unknown key
// shows nothing.
//
// # Fill
//
// [UI.Fill] completes a Page from the request where it is empty: the
// signed-in user (from the context, see [sigra.UserFrom]), the CSRF field
// and token (from middleware.CSRF, see middleware.CSRFToken), a local
// return_to (the posted form's when the handler has already parsed the form,
// r.PostForm not nil, else the query's), the notice named by
// the query, a banner asking an unconfirmed user to confirm their
// address, and, while an admin acts as the user, the impersonation banner
// ([Page].Impersonation: the user acted as, the time left, and a stop
// button posting to [RouteStopImpersonation] when a pack declares it).
// [UI.Render] fills a copy, so the caller's Page is never
// modified.
//
// Render writes the page into a buffer first: a template that fails (or an
// unknown page name) sends nothing of it; the error is logged on the
// site's logger and the client gets a 500 error page. Responses carry
// Cache-Control "no-store" and X-Content-Type-Options "nosniff"; a HEAD
// request gets the headers without the body.
//
// # Settings
//
// The settings page is made of [Section]s that features contribute: the
// account's email and password forms, the two-factor summary, an
// application's own. The feature that serves the page (account) calls
// [UI.Settings] with them: it loads each section's data for the request in
// Order (a nil value leaves the section out; an error stops it, naming the
// section), renders the sections with the page, so that form errors and
// sticky values set on the Page show in the section that has the field,
// and returns the [SettingsData] of the "settings" page. For a JSON answer,
// [UI.SectionData] loads the sections' data by name without rendering
// anything.
//
// Pack.Nav adds entries to the navigation beside the settings pages
// ("Account", "Devices", "Two-factor authentication"): a route, a label,
// an icon of layout/icons.html and an Order. A page shows it with
//
//	{{template "settings_nav" (args "page" . "current" "route_name")}}
//
// which lists every pack's entries by Order and marks the entry of
// route_name with aria-current="page". An entry naming an unknown route
// or icon fails New.
//
// # Emails
//
// Both parts of an email receive an [*Email]: the common fields (To, Link,
// Code, ExpiresIn, IP, UserAgent, When), Brand and Subject (filled by
// RenderEmail), and Data, the email's own values of the type its pack
// declares. Security notices show When, IP and UserAgent with the
// "details" partial; {{template "footer" .}} ends the text part and
// {{template "button" (args "url" .Link "label" "...")}} is the HTML
// action button. HTML emails use inline styles: style="{{style "p"}}"
// (p, h1, muted, small, code, link).
//
// The subject is the first line of the text part, without "Subject:", on
// one line. RenderEmail removes line breaks and control characters from
// the common fields, which may come from a request (a user agent), so
// they cannot forge a line of the text part or a header; a feature keeps
// its own Data values to one line where they reach the subject.
//
// # Page templates
//
// Besides Go's builtins and the partials of layout/partials.html ("csrf",
// "hidden", "notices", "input", "checkbox", "sent", "settings_nav") and
// the icons of layout/icons.html ({{template "icon-shield"}}), page and
// section templates may call:
//
//	route "name", hasRoute "name", home    links (see Routes)
//	brand                                  the [Brand]
//	asset "sigra.css"                      the URL of an asset (an unknown name fails New)
//	icon "shield"                          the inline SVG of an icon
//	field . "name" "label" "..." ...       a [*Field] for the "input" and "checkbox" partials
//	args "k" v ...                         a map, to pass several values to a partial
//	date, day, iso                         a time.Time (UTC) for people, or for <time datetime>
//	duration, plural                       "30 days", "3 devices"
//	deviceName, isMobile, join, or2        small helpers for device lists and text
//	statusTitle, statusText                the error page's texts
//
// and the functions of the packs (Pack.Funcs). Every form posts, with the
// CSRF field and, when [Page.ReturnTo] is set, return_to: the "hidden"
// partial writes both.
//
// What route, hasRoute, home, brand, asset and icon return is fixed when
// New builds the UI, so New writes it into the escaped templates once:
// an action such as {{asset "sigra.css"}} or {{brand.ProductName}}, an
// {{if hasRoute "name"}}, and a {{template}} of such text cost nothing on
// a request, and the page's HTML is the same byte for byte. Actions that
// read the page's data, and the packs' functions, run on every request.
//
// New parses and runs every page, section and email to check it, and then
// lets them go: each is parsed again when it is first rendered (about half
// a millisecond, once; the first one rendered also parses the layouts,
// about a millisecond in all), and kept from then on, its nodes shared with those
// of the sets built before it. Template sets are trees of pointers, which
// the garbage collector marks on every cycle, so an application that
// answers in JSON keeps none, and one that serves pages keeps those it
// serves.
//
// # Slots
//
// A page shows the ways in that other packs add with
// {{template "slot:<name>" .}}: the sign-in page the slot [SlotSignIn],
// the re-authentication page [SlotSudo], the second step of a sign-in
// [SlotSecondFactor], the set-up page of a step-up [SlotStepUp]. A pack fills a slot with its file
// slots/<name>.html, rendered with the page's [*Page] (the passkey pack
// adds its buttons there); the slots of several packs show in the order
// of Config.Packs, and a slot nobody fills renders nothing. A pack's
// assets/ files are served beside the UI's, so what a slot adds can load
// its own script ({{asset "passkey.js"}}) under the
// Content-Security-Policy's script-src 'self'.
//
// # Overrides
//
// Config.Overrides is an [io/fs.FS] laid out like the built-in files, which
// [UI.Templates] lists (the UI's own and every pack's, before overrides:
// copy one to start):
//
//	layout/base.html      the document: head, header, main, footer ("base")
//	layout/partials.html  "csrf", "hidden", "notices", "input", "checkbox", ...
//	layout/icons.html     "icon-<name>" inline SVG icons
//	layout/email.html     the HTML email shell ("email", "button", "details")
//	layout/email.txt      "footer" and "details" of text emails
//	pages/<name>.html     one page (error, settings, or a pack's)
//	sections/<name>.html  one settings section
//	emails/<name>.txt     text part and subject of one email
//	emails/<name>.html    HTML part of one email
//	assets/<file>         sigra.css, theme.js, icon.svg, or any added file
//
// A file under layout/, pages/, sections/ or emails/ must replace a
// built-in one: any other name (pages/logn.html) is refused by New with the
// list of the names in that folder, so a misspelt override cannot go
// unnoticed. New pages come with a pack, not an override. Files under
// assets/ may also add assets; other folders are ignored. An overridden
// page that defines its own "title" keeps it; other pages take
// [Page.Title] when a handler sets one.
//
// # Theme and assets
//
// The stylesheet defines every colour as a CSS custom property: light by
// default, dark under <html data-theme="dark">, and dark when the system
// prefers it unless data-theme="light". The accent colours are computed
// from Brand.AccentColor at New time (text variants are darkened or
// lightened until they reach 4.5:1 contrast in each theme) and appended to
// the stylesheet, so no inline style is needed. theme.js, loaded in <head>,
// applies the choice saved in localStorage under "sigra-theme" before the
// first paint and wires the System/Light/Dark switcher in the footer (hidden
// without script) and the copy buttons.
//
// [UI.Mount] serves the assets at <prefix>/assets/ ([UI.Assets] is the
// handler itself). Pages link each file by a name that carries a hash of
// its content ("sigra.3f1c0a9b2e7d.css"), served with a one-year immutable
// cache lifetime; the plain name is served too, revalidated with its ETag.
// A new brand colour changes the stylesheet's name, so caches never serve
// the old colours.
//
// Pages contain no inline script, no style attribute and no event handler
// attribute, so they work under the Content-Security-Policy
// "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:"
// (data: images are for packs that show generated images, such as the QR
// code of the two-factor pack).
//
// # Accessibility
//
// Every page has lang="en", a skip link, header/main/footer landmarks and
// one <h1>. Every control has a label; a field error is shown under its
// field and tied to it with aria-describedby and aria-invalid; the form
// error is announced with role=alert, a summary of field errors too when
// there is no form error, and the flash with role=status. The settings
// navigation marks the current page with aria-current. Actions are buttons
// in forms, never links. Text meets WCAG 2.1 AA contrast in both themes.
package ui
