// Package ui renders the pages and emails of Sigra's account and two-factor
// flows: embedded html/template pages that share one layout, text and HTML
// emails, a stylesheet with light, dark and system themes, and the brand
// (product name, logo, accent colour, support link).
//
// Handlers fill a [Page] and call [UI.Render]; mailers call
// [UI.RenderEmail]. The application mounts [UI.Assets] where
// Config.AssetsPath says:
//
//	u, err := ui.New(ui.Config{Brand: ui.Brand{ProductName: "Acme", AccentColor: "#0f766e"}})
//	if err != nil { ... }
//	mux.Handle("GET /auth/assets/", u.Assets())
//
// A UI is immutable after [New] and safe for concurrent use.
//
// # Pages
//
// Each page is named after its file, pages/<name>.html, and takes the Data
// type given here (a value or a pointer; nil means the zero value). Every
// form posts, with the CSRF field and, when [Page.ReturnTo] is set,
// return_to; the field names are those the handlers read.
//
//	register            RegisterData         POST Links.Register: email, password
//	register_done       SentData
//	login               LoginData            POST Links.Login: email, password, remember=1
//	confirm             ConfirmData          POST Links.Confirm: token, or code; POST Links.ConfirmResend
//	forgot              nil                  POST Links.Forgot: email
//	forgot_sent         SentData
//	reset               ResetData            POST Links.Reset: token, password
//	reset_expired       nil
//	magic               nil                  POST Links.Magic: email
//	magic_sent          SentData
//	magic_confirm       TokenData            POST Links.MagicVerify: token
//	link_expired        nil
//	sudo                SudoData             POST Links.Sudo: password, or code
//	settings            SettingsData         POST Links.Email: email; Links.Password: current_password, password;
//	                                         Links.EmailCancel; Links.ConfirmResend; Links.DeleteCancel
//	sessions            SessionsData         POST Links.SessionRevoke: id; Links.SessionsRevokeOthers
//	delete              DeleteData           POST Links.Delete: confirm_email
//	delete_scheduled    DeleteScheduledData  POST Links.DeleteCancel (when signed in)
//	email_confirm       EmailChangeData      POST Links.EmailConfirm: token
//	error               ErrorData
//	mfa_setup           MFASetupData         POST Links.MFASetup: code
//	mfa_challenge       MFAChallengeData     POST Links.MFAChallenge: code, trust=1;
//	                                         recovery: POST Links.MFARecovery: recovery_code, trust=1
//	mfa_recovery_codes  RecoveryCodesData
//	mfa                 MFAData              POST Links.MFARegenerate: code; Links.MFADisable: code;
//	                                         Links.MFATrustedRevoke: id; Links.MFATrustedRevokeAll
//
// A form whose link is empty posts to the current URL; a link whose URL is
// empty is left out. Email fields carry autocomplete "username" on the
// sign-in forms (login, magic, forgot) and "email" on register and email
// change; password fields "current-password" or "new-password"; code fields
// "one-time-code" with inputmode "numeric".
//
// # Emails
//
// Each email has a text part, emails/<name>.txt (text/template, first line
// "Subject: ..."), and an HTML part, emails/<name>.html (html/template,
// defining "content" inside layout/email.html). Both receive an [*Email]:
//
//	confirm                     Link, Code, ExpiresIn
//	register_exists             Link (sign in)
//	reset                       Link, ExpiresIn
//	password_reset_done         Link (reset again)
//	magic_link                  Link, ExpiresIn, optional Code
//	email_change_confirm        Link, NewEmail, ExpiresIn (sent to the new address)
//	email_change_notice         NewEmail, Link (sent to the old address)
//	password_changed            Link (reset)
//	deletion_scheduled          DueAt, Link (sign in to cancel)
//	account_deleted
//	lockout                     ExpiresIn (lock time), Link (reset)
//	mfa_enabled, mfa_disabled, recovery_codes_regenerated   Link (reset)
//	recovery_code_used          Remaining, Link (reset)
//	mfa_lockout                 ExpiresIn (lock time), Link (reset)
//
// Security notices show When, IP and UserAgent when set. RenderEmail removes
// line breaks and control characters from the caller's strings, so a user
// agent cannot forge lines of the text part or a header.
//
// # Overrides
//
// Config.Overrides is an [io/fs.FS] laid out like the embedded files:
//
//	layout/base.html      the document: head, header, main, footer ("base")
//	layout/partials.html  "csrf", "hidden", "notices", "input", "checkbox", ...
//	layout/icons.html     "icon-<name>" inline SVG icons
//	layout/email.html     the HTML email shell ("email", "button", "details")
//	layout/email.txt      "footer" and "details" of text emails
//	pages/<name>.html     one page
//	emails/<name>.txt     text part and subject of one email
//	emails/<name>.html    HTML part of one email
//	assets/<file>         sigra.css, theme.js, icon.svg, or any added file
//
// A file at the path of an embedded one replaces it; a new page or email
// adds one (an application's own "home" page gets the same layout). A page
// file defines "content" with exactly one <h1>, usually "title", and
// "width" ("wide" for a settings-like layout; the default is a centred
// card). Dot is the [*Page]. Besides the partials, page templates may call:
//
//	brand                the [Brand]
//	asset "sigra.css"    the URL of an asset (an unknown name fails New)
//	field . "name" ...   a [*Field] for the "input" and "checkbox" partials
//	args "k" v ...       a map, to pass several values to a partial
//	date, day, iso       format a time.Time (UTC) for people or for <time datetime>
//	duration, plural     "30 days", "3 devices"
//	passwordHint, trustLabel, group4, compact, deviceName, statusTitle, statusText
//
// New parses everything and renders each built-in page and every email
// once with empty data, so a syntax error, an unknown field or function,
// or markup html/template cannot escape safely makes New fail with
// [ErrTemplate] rather than a request.
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
// Pages contain no inline script, no style attribute and no event handler
// attribute, so they work under the Content-Security-Policy
// "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:"
// (the data: images are the QR codes of mfa_setup).
//
// # Accessibility
//
// Every page has lang="en", a skip link, header/main/footer landmarks and
// one <h1>. Every control has a label; a field error is shown under its
// field and tied to it with aria-describedby and aria-invalid; the form
// error is announced with role=alert and the flash with role=status.
// Actions are buttons in forms, never links. Text meets WCAG 2.1 AA
// contrast in both themes.
package ui
