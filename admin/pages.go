package admin

import (
	"embed"
	"io/fs"
	"net/url"
	"strings"
	"time"

	"github.com/sigra-go/sigra/ui"
)

//go:embed templates
var templates embed.FS

// Route paths, under the site's prefix. {id} is a user's ID, {org} an
// organization's slug (or ID), {event} an audit event's ID.
const (
	pathUsers            = "/admin/users"
	pathUser             = "/admin/users/{id}"
	pathLock             = "/admin/users/{id}/lock"
	pathUnlock           = "/admin/users/{id}/unlock"
	pathDisable          = "/admin/users/{id}/disable"
	pathEnable           = "/admin/users/{id}/enable"
	pathRevokeSession    = "/admin/users/{id}/sessions/revoke"
	pathRevokeAll        = "/admin/users/{id}/sessions/revoke-all"
	pathPasswordReset    = "/admin/users/{id}/password-reset"
	pathConfirm          = "/admin/users/{id}/confirmation"
	pathTwoFactorReset   = "/admin/users/{id}/two-factor/reset"
	pathPasskeyRemove    = "/admin/users/{id}/passkeys/remove"
	pathIdentityUnlink   = "/admin/users/{id}/identities/unlink"
	pathDeletionCancel   = "/admin/users/{id}/deletion/cancel"
	pathDeletionRun      = "/admin/users/{id}/deletion/run"
	pathGrant            = "/admin/users/{id}/admin/grant"
	pathRevoke           = "/admin/users/{id}/admin/revoke"
	pathImpersonate      = "/admin/users/{id}/impersonate"
	pathStopImperson     = "/admin/impersonation/stop"
	pathAudit            = "/admin/audit"
	pathAuditExport      = "/admin/audit/export"
	pathAuditEvent       = "/admin/audit/{event}"
	pathOrgUsers         = "/admin/orgs/{org}/users"
	pathOrgUser          = "/admin/orgs/{org}/users/{id}"
	pathOrgRevokeAll     = "/admin/orgs/{org}/users/{id}/sessions/revoke-all"
	pathOrgConfirm       = "/admin/orgs/{org}/users/{id}/confirmation"
	routeImpersonateName = "admin_impersonate"
)

// PackName is the name of the console's pack in a [ui.UI].
const PackName = "admin"

// Pages returns the console's share of the UI: its pages, emails,
// routes and notices. Give it to ui.New in Config.Packs; [New] refuses a
// UI without it. The pack adds no navigation entry: the console is
// linked only where the application chooses (see [Console.IsAdmin]).
//
// Pages (name, Data type):
//
//	admin_users        *UsersData       the users list: search, filters, pages
//	admin_user         *UserData        one user: profile, sessions, factors, organizations, timeline, actions
//	admin_audit        *AuditData       the audit explorer: filters, pages, export
//	admin_audit_event  *AuditEventData  one audit event with its seal
//	admin_webhooks     *WebhooksData    the webhook endpoints and the dead letter, with replay
//
// Emails (name, Email.Data type): admin_password_reset,
// admin_confirm, admin_two_factor_reset, admin_disabled, admin_locked
// and admin_impersonated (*NoticeMail).
//
// Routes (paths hold {id}, {org} or {event}; the page data carries the
// resolved paths of every link and form): admin_users, admin_user,
// admin_audit, admin_audit_export, admin_audit_event, admin_org_users,
// admin_org_user, admin_impersonate (the form of impersonation) and
// ui.RouteStopImpersonation (the banner's stop button).
func Pages() ui.Pack {
	files, _ := fs.Sub(templates, "templates")
	return ui.Pack{
		Name:  PackName,
		Files: files,
		Pages: map[string]any{
			"admin_users": &UsersData{}, "admin_user": &UserData{}, "admin_audit": &AuditData{}, "admin_audit_event": &AuditEventData{},
			"admin_webhooks": &WebhooksData{},
		},
		Emails: map[string]any{
			"admin_password_reset": &NoticeMail{}, "admin_confirm": &NoticeMail{}, "admin_two_factor_reset": &NoticeMail{},
			"admin_disabled": &NoticeMail{}, "admin_locked": &NoticeMail{}, "admin_impersonated": &NoticeMail{},
			"admin_enabled": &NoticeMail{}, "admin_signed_out": &NoticeMail{}, "admin_passkey_removed": &NoticeMail{},
			"admin_identity_unlinked": &NoticeMail{},
		},
		Routes: map[string]string{
			"admin_users": pathUsers, "admin_user": pathUser, "admin_audit": pathAudit, "admin_audit_export": pathAuditExport,
			"admin_audit_event": pathAuditEvent, "admin_org_users": pathOrgUsers, "admin_org_user": pathOrgUser,
			routeImpersonateName: pathImpersonate, ui.RouteStopImpersonation: pathStopImperson,
			"admin_webhooks": pathWebhooks, "admin_webhook_replay": pathWebhookReplay,
		},
		Notices: map[string]string{
			"admin_locked":             "The user's password sign-in is locked.",
			"admin_unlocked":           "The user's locks were cleared.",
			"admin_disabled":           "The account is disabled and its sessions are signed out.",
			"admin_enabled":            "The account is enabled.",
			"admin_session_revoked":    "The session was signed out.",
			"admin_sessions_revoked":   "Every session of the user was signed out.",
			"admin_reset_sent":         "The user's sessions were signed out and a password reset link was sent.",
			"admin_confirmation_sent":  "A new confirmation link was sent.",
			"admin_two_factor_reset":   "The user's two-factor authentication was reset.",
			"admin_passkey_removed":    "The passkey was removed.",
			"admin_identity_unlinked":  "The sign-in provider was unlinked.",
			"admin_deletion_cancelled": "The scheduled deletion was cancelled.",
			"admin_user_deleted":       "The account was deleted.",
			"admin_granted":            "The user is now an administrator.",
			"admin_revoked":            "The user is no longer an administrator.",
			"admin_returned":           "You stopped acting as the user and are back in your own session.",
			"admin_webhook_replayed":   "The delivery is queued again.",
		},
	}
}

// expand puts the values of the pairs ("{id}", id, ...) in place of the
// placeholders of path, escaped.
func expand(path string, pairs ...string) string {
	for i := 0; i+1 < len(pairs); i += 2 {
		path = strings.Replace(path, pairs[i], url.PathEscape(pairs[i+1]), 1)
	}
	return path
}

// Filter is the users list's query, as the page's form holds it.
type Filter struct {
	// Q is the search: a prefix of the address.
	Q string `json:"q"`
	// State is "", "unconfirmed", "locked", "disabled" or
	// "deletion_pending".
	State string `json:"state"`
	// TwoFactor and Passkeys select users with them.
	TwoFactor bool `json:"two_factor"`
	Passkeys  bool `json:"passkeys"`
	// Org is the slug or ID of an organization whose members are listed
	// (the console's own list only).
	Org string `json:"org"`
}

// UserItem is one user in the list.
type UserItem struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Confirmed bool      `json:"confirmed"`
	CreatedAt time.Time `json:"created_at"`
	// States are the account's states: "unconfirmed", "locked",
	// "disabled", "deletion_pending".
	States    []string `json:"states"`
	Admin     bool     `json:"admin"`
	TwoFactor bool     `json:"two_factor"`
	Passkeys  bool     `json:"passkeys"`
	// URL is the path of the user's detail page.
	URL string `json:"url"`
}

// OrgRef names the organization of the org lens.
type OrgRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Slug string `json:"slug"`
}

// UsersData is the Data of the "admin_users" page.
type UsersData struct {
	// Org is the organization of the org lens; nil on the console.
	Org    *OrgRef
	Filter Filter
	// States are the states the filter offers.
	States []string
	Users  []UserItem
	// Action is the path the filter form is sent to (GET).
	Action string
	// NextURL is the path of the next page; empty on the last.
	NextURL string
	// AuditURL is the path of the audit explorer; empty in the org lens.
	AuditURL string
}

// SessionItem is one live session of the user.
type SessionItem struct {
	ID         string    `json:"id"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	AAL        int       `json:"aal"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
}

// PasskeyItem is one passkey of the user.
type PasskeyItem struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

// IdentityItem is one OAuth identity linked to the user.
type IdentityItem struct {
	ID        string    `json:"id"`
	Provider  string    `json:"provider"`
	Email     string    `json:"email"`
	CreatedAt time.Time `json:"created_at"`
}

// MembershipItem is one organization of the user.
type MembershipItem struct {
	OrgID string `json:"org_id"`
	Name  string `json:"name"`
	Slug  string `json:"slug"`
	Role  string `json:"role"`
}

// EventItem is one row of the user's audit timeline or of the explorer.
type EventItem struct {
	ID        string    `json:"id"`
	At        time.Time `json:"at"`
	Action    string    `json:"action"`
	Outcome   string    `json:"outcome"`
	ActorID   string    `json:"actor_id"`
	SubjectID string    `json:"subject_id"`
	OrgID     string    `json:"org_id"`
	IP        string    `json:"ip"`
	// URL is the path of the event's detail page; empty in the org lens.
	URL string `json:"url,omitempty"`
}

// Actions are the paths of the forms the user detail shows: an empty
// path hides its form (an action that does not apply, or that the
// request's user may not take on this user).
type Actions struct {
	Lock, Unlock, Disable, Enable string
	RevokeSession, RevokeAll      string
	PasswordReset, Confirm        string
	TwoFactorReset                string
	PasskeyRemove, IdentityUnlink string
	DeletionCancel, DeletionRun   string
	Grant, Revoke                 string
	// Impersonate is the form of impersonation (with a reason); offered
	// on users who are not administrators.
	Impersonate string
}

// UserData is the Data of the "admin_user" page.
type UserData struct {
	// Org is the organization of the org lens; nil on the console.
	Org  *OrgRef
	User UserItem
	// LockedUntil, DisabledAt and DeletionDueAt are zero when not set.
	LockedUntil, DisabledAt, DeletionDueAt time.Time
	Sessions                               []SessionItem
	// RecoveryCodes and TrustedBrowsers count what the user has.
	RecoveryCodes, TrustedBrowsers int
	Passkeys                       []PasskeyItem
	Identities                     []IdentityItem
	Orgs                           []MembershipItem
	// Events is the user's latest audit events (in the org lens, those
	// of the organization).
	Events []EventItem
	// Protected: destructive actions are not offered (the user is an
	// administrator).
	Protected bool
	Actions   Actions
	// BackURL is the path of the list.
	BackURL string
}

// AuditFilter is the audit explorer's query, as its form holds it.
type AuditFilter struct {
	Actor   string `json:"actor"`
	Subject string `json:"subject"`
	Action  string `json:"action"`
	Outcome string `json:"outcome"`
	Org     string `json:"org"`
	IP      string `json:"ip"`
	// Since and Until are as typed: a date (2026-03-14), a local date
	// and time in UTC (2026-03-14T15:09) or RFC 3339.
	Since string `json:"since"`
	Until string `json:"until"`
}

// AuditData is the Data of the "admin_audit" page.
type AuditData struct {
	Filter AuditFilter
	Events []EventItem
	// NextURL is the path of the next page; empty on the last.
	NextURL string
	// CSVURL and JSONLURL export the current filter.
	CSVURL, JSONLURL string
}

// AuditEventData is the Data of the "admin_audit_event" page.
type AuditEventData struct {
	Event     EventItem
	UserAgent string
	// Impersonator is the administrator acting as the actor, if any.
	Impersonator string
	Metadata     map[string]string
	// Seq is the event's place in the audit chain (0 while unsealed);
	// Hash and PrevHash are hex.
	Seq            int64
	Hash, PrevHash string
}

// NoticeMail is the Email.Data of the console's emails to a user.
type NoticeMail struct {
	// Until is when a lock ends (admin_locked).
	Until time.Time
	// Provider is the sign-in provider unlinked (admin_identity_unlinked).
	Provider string
	// Admin is the address of the administrator who acts as the user
	// (admin_impersonated). The written reason is not sent: it may name
	// what the administrator investigates.
	Admin string
}
