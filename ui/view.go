package ui

import (
	"time"

	"github.com/sigra-go/sigra"
)

// DefaultCSRFField is the name of the hidden CSRF form field used when
// [Page.CSRFField] is empty. It matches the field read by justinas/nosurf.
const DefaultCSRFField = "csrf_token"

// Page is what a handler gives [UI.Render]: the parts every page shares and
// the page-specific Data. A nil *Page renders like a zero Page. Render does
// not modify the Page; it fills the empty common fields of its copy from
// the request (see [UI.Fill]).
//
// Templates receive the *Page as their dot: {{.Title}}, {{.Data.Email}}.
type Page struct {
	// Title replaces the page's own title in the document <title> when set.
	// The product name is appended.
	Title string
	// User is the signed-in user, or nil. When set, the header shows the
	// user's address and a sign-out button.
	User *sigra.User
	// CSRFField is the name of the hidden CSRF field (default
	// DefaultCSRFField); CSRFToken is its value. Every POST form carries it.
	CSRFField string
	CSRFToken string
	// Flash is a success notice, announced politely (role=status).
	Flash string
	// Error is a form-level error, announced at once (role=alert).
	Error string
	// FieldErrors maps a field name to its error message. The message is
	// shown under the field, which gets aria-invalid and aria-describedby.
	// When Error is empty, the messages are also listed in an alert at the
	// top of the page, so that a failed submission is announced.
	FieldErrors map[string]string
	// Values holds sticky values of text fields by name, so that a form
	// shown again after an error keeps what the user typed. Passwords and
	// codes are never filled from it.
	Values map[string]string
	// ReturnTo is a local path to come back to after the flow; when set,
	// every form of the page sends it as the hidden field return_to.
	ReturnTo string
	// Banner is a notice shown at the top of every page while set, such as
	// a reminder to confirm the email address.
	Banner string
	// Impersonation, set while an admin acts as the user, shows a banner
	// on every page: who is acted as, the time left, and a stop button.
	// [UI.Fill] sets it from the request's sigra.Auth.
	Impersonation *Impersonation
	// Data is the page-specific value: the type its pack declares (see
	// [Pack].Pages). Nil renders the declared zero value.
	Data any
}

// Impersonation describes an impersonation for its banner (see
// [Page].Impersonation).
type Impersonation struct {
	// User is the user the admin is acting as.
	User *sigra.User
	// ImpersonatorID is the admin's user ID.
	ImpersonatorID string
	// Ends is when the impersonation ends at the latest; Left is the time
	// until then, in words ("25 minutes").
	Ends time.Time
	Left string
	// StopPath is where the stop button posts: the route
	// [RouteStopImpersonation], or "" when no pack declares it (the banner
	// then has no button).
	StopPath string
}

// ErrorData is the Data of the "error" page. An empty Message shows a
// standard text for Status.
type ErrorData struct {
	Status  int
	Message string
}

// Email is the data of every email template. [UI.RenderEmail] fills Brand
// and Subject; the caller fills the rest as the email needs.
type Email struct {
	// Brand is filled by RenderEmail.
	Brand Brand
	// Subject is filled by RenderEmail from the text template's first line,
	// for the HTML template's <title>.
	Subject string
	// To is the recipient's address.
	To string
	// Link is the email's action link (shown as a button and as plain text).
	Link string
	// Code is a code to type in, if any.
	Code string
	// ExpiresIn tells how long Link or Code stays valid, in words: "48
	// hours", "15 minutes". In the lockout emails it tells how long the
	// lock lasts.
	ExpiresIn string
	// IP and UserAgent describe the request that caused the email.
	IP, UserAgent string
	// When is when the event happened; zero leaves it out.
	When time.Time
	// Data holds the values of one feature's email (the new address of an
	// email change, the count of recovery codes left): the type its pack
	// declares in [Pack].Emails. Nil renders the declared zero value.
	Data any
}
