package admin

import (
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"unicode/utf8"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/kernel"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/ui"
)

// Page titles.
const (
	titleUsers = "Users"
	titleAudit = "Audit log"
)

// maxSearch bounds the search and the other text of a query string.
const maxSearch = 254

// timelineSize is how many events the user detail shows.
const timelineSize = 20

// usersPath is the path of the list: the console's, or the org lens's.
func (c *Console) usersPath(l *lensOrg) string {
	if l != nil {
		return c.k.Path(expand(pathOrgUsers, "{org}", l.org.Slug))
	}
	return c.k.Path(pathUsers)
}

// userPath is the path of a user's detail page.
func (c *Console) userPath(l *lensOrg, id string) string {
	if l != nil {
		return c.k.Path(expand(pathOrgUser, "{org}", l.org.Slug, "{id}", id))
	}
	return c.k.Path(expand(pathUser, "{id}", id))
}

func orgRef(l *lensOrg) *OrgRef {
	if l == nil {
		return nil
	}
	return &OrgRef{ID: l.org.ID, Name: l.org.Name, Slug: l.org.Slug}
}

// item is the list form of a user.
func (c *Console) item(l *lensOrg, u *store.User, admin, twoFactor, passkeys bool) UserItem {
	now := c.k.Now()
	var states []string
	if u.EmailConfirmedAt.IsZero() {
		states = append(states, string(store.UserUnconfirmed))
	}
	if u.LockedUntil.After(now) || u.MFALockedUntil.After(now) {
		states = append(states, string(store.UserLocked))
	}
	if !u.DisabledAt.IsZero() {
		states = append(states, string(store.UserDisabled))
	}
	if !u.DeletionDueAt.IsZero() {
		states = append(states, string(store.UserDeletionPending))
	}
	if states == nil {
		states = []string{}
	}
	return UserItem{
		ID: u.ID, Email: u.Email, Confirmed: !u.EmailConfirmedAt.IsZero(), CreatedAt: u.CreatedAt, States: states,
		Admin: admin, TwoFactor: twoFactor, Passkeys: passkeys, URL: c.userPath(l, u.ID),
	}
}

func stateNames() []string {
	out := make([]string, 0, len(store.UserStates))
	for _, s := range store.UserStates {
		out = append(out, string(s))
	}
	return out
}

// readFilter reads the list's query string; fields holds the refused
// parameters.
func readFilter(q url.Values) (f Filter, after string, fields map[string]string) {
	fields = map[string]string{}
	text := func(name string) string {
		v := trimmed(q.Get(name))
		if len(v) > maxSearch || !utf8.ValidString(v) {
			fields[name] = "This is too long or not valid text."
			return ""
		}
		return v
	}
	flag := func(name string) bool {
		switch q.Get(name) {
		case "", "0", "false", "off":
			return false
		case "1", "true", "on":
			return true
		}
		fields[name] = "Use true or false."
		return false
	}
	f = Filter{Q: text("q"), State: text("state"), TwoFactor: flag("two_factor"), Passkeys: flag("passkeys"), Org: text("org")}
	if f.State != "" && !slices.Contains(store.UserStates, store.UserState(f.State)) {
		fields["state"] = "Choose one of the states listed."
	}
	// A cursor holds an address key (up to 254 bytes), encoded.
	after = trimmed(q.Get("after"))
	if len(after) > 4*maxSearch {
		fields["after"] = "This page link is not valid. Start from the first page."
		after = ""
	}
	return f, after, fields
}

func (c *Console) usersData(r *http.Request, f Filter) *UsersData {
	l := lensFrom(r.Context())
	d := &UsersData{Org: orgRef(l), Filter: f, States: stateNames(), Users: []UserItem{}, Action: c.usersPath(l)}
	if l == nil {
		d.AuditURL = c.k.Path(pathAudit)
	}
	return d
}

// usersPage serves the users list, on the console (every user) or in the
// org lens (the organization's members).
func (c *Console) usersPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	l := lensFrom(ctx)
	f, after, fields := readFilter(r.URL.Query())
	refuse := func(fields map[string]string) {
		c.k.FormError(w, r, http.StatusBadRequest, "admin_users", kernel.Built(withValues(c.k.Page(r, titleUsers, c.usersData(r, f)), f.values())),
			"invalid_input", "Check the highlighted fields.", fields)
	}
	if len(fields) > 0 {
		refuse(fields)
		return
	}
	q := store.UserQuery{EmailPrefix: f.Q, State: store.UserState(f.State), TwoFactor: f.TwoFactor, Passkeys: f.Passkeys,
		Now: c.k.Now(), After: after, Limit: c.cfg.PageSize}
	switch {
	case l != nil:
		q.OrgID = l.org.ID
	case f.Org != "":
		o, _, err := c.st.OrgBySlug(ctx, f.Org, c.k.Now())
		if errors.Is(err, store.ErrNotFound) {
			o, err = c.st.OrgByID(ctx, f.Org)
		}
		if errors.Is(err, store.ErrNotFound) {
			refuse(map[string]string{"org": "There is no such organization."})
			return
		}
		if err != nil {
			c.k.Error(w, r, err)
			return
		}
		q.OrgID = o.ID
	}
	rows, next, err := c.st.ListUsers(ctx, q)
	if errors.Is(err, store.ErrNotFound) && after != "" {
		refuse(map[string]string{"after": "This page link is not valid. Start from the first page."})
		return
	}
	if err != nil {
		c.k.Error(w, r, err)
		return
	}
	d := c.usersData(r, f)
	for _, row := range rows {
		d.Users = append(d.Users, c.item(l, &row.User, row.Admin, row.TwoFactor, row.Passkeys))
	}
	if next != "" {
		v := filterValues(f, l == nil)
		v.Set("after", next)
		d.NextURL = d.Action + "?" + v.Encode()
	}
	c.k.Render(w, r, http.StatusOK, "admin_users", withValues(c.k.Page(r, titleUsers, d), f.values()), map[string]any{"users": d.Users, "next": next, "filter": f})
}

// values are the text fields of f, by name.
func (f Filter) values() map[string]string { return map[string]string{"q": f.Q, "org": f.Org} }

// filterValues is the query string of f.
func filterValues(f Filter, withOrg bool) url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("q", f.Q)
	set("state", f.State)
	if f.TwoFactor {
		v.Set("two_factor", "1")
	}
	if f.Passkeys {
		v.Set("passkeys", "1")
	}
	if withOrg {
		set("org", f.Org)
	}
	return v
}

// search turns a posted filter form into the GET of the list (or of
// the audit explorer) that it describes: the filter's address is its
// query string, so a page of results can be bookmarked and shared.
// Nothing changes on the server.
func (c *Console) search(w http.ResponseWriter, r *http.Request) {
	in, err := kernel.ReadInput(r)
	if err != nil {
		c.k.BadInput(w, r)
		return
	}
	// Only the filter's own fields go into the address: never the form's
	// CSRF token, nor anything else a form might carry.
	v := url.Values{}
	for _, k := range filterFields {
		if s := in[k]; s != "" {
			v.Set(k, s)
		}
	}
	target := r.URL.Path
	if len(v) > 0 {
		target += "?" + v.Encode()
	}
	kernel.Redirect(w, r, target, nil)
}

// filterFields are the fields of the filter forms (the users list's and
// the audit explorer's).
var filterFields = []string{"q", "state", "two_factor", "passkeys", "org", "actor", "subject", "action", "outcome", "ip", "since", "until"}

// withValues gives the page the filter's values, which the page's fields
// show as typed.
func withValues(p *ui.Page, values map[string]string) *ui.Page {
	p.Values = map[string]string{}
	for k, v := range values {
		if v != "" {
			p.Values[k] = v
		}
	}
	return p
}

// userPage serves one user's detail.
func (c *Console) userPage(w http.ResponseWriter, r *http.Request) {
	u, ok := c.target(w, r)
	if !ok {
		return
	}
	d, err := c.userData(r, u)
	if err != nil {
		c.k.Error(w, r, err)
		return
	}
	c.k.Render(w, r, http.StatusOK, "admin_user", c.k.Page(r, u.Email, d), d)
}

// userData gathers what the detail shows of u, and the actions the
// request's user may take.
func (c *Console) userData(r *http.Request, u *store.User) (*UserData, error) {
	ctx := r.Context()
	l := lensFrom(ctx)
	now := c.k.Now()
	isAdmin, err := c.st.IsAdmin(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	totp, err := c.st.TOTPByUser(ctx, u.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	twoFactor := totp != nil && !totp.ConfirmedAt.IsZero()
	d := &UserData{
		Org: orgRef(l), Sessions: []SessionItem{}, Passkeys: []PasskeyItem{}, Identities: []IdentityItem{}, Orgs: []MembershipItem{}, Events: []EventItem{},
		DisabledAt: u.DisabledAt, DeletionDueAt: u.DeletionDueAt, BackURL: c.usersPath(l),
	}
	if u.LockedUntil.After(now) {
		d.LockedUntil = u.LockedUntil
	}
	if u.MFALockedUntil.After(d.LockedUntil) {
		d.LockedUntil = u.MFALockedUntil
	}
	sessions, err := c.st.UserSessions(ctx, u.ID, now)
	if err != nil {
		return nil, err
	}
	for _, s := range sessions {
		d.Sessions = append(d.Sessions, SessionItem{ID: s.ID, IP: s.IP, UserAgent: s.UserAgent, AAL: s.AAL, CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt})
	}
	uos, err := c.st.UserOrgs(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	for _, uo := range uos {
		if l != nil && uo.Org.ID != l.org.ID {
			continue // the lens shows its own organization only
		}
		d.Orgs = append(d.Orgs, MembershipItem{OrgID: uo.Org.ID, Name: uo.Org.Name, Slug: uo.Org.Slug, Role: uo.Membership.Role})
	}
	q := store.AuditSearch{UserID: u.ID, Limit: timelineSize}
	if l != nil {
		q.OrgID = l.org.ID
	}
	events, _, err := c.st.SearchAudit(ctx, q)
	if err != nil {
		return nil, err
	}
	for _, e := range events {
		d.Events = append(d.Events, c.eventItem(e, l == nil))
	}
	d.Protected, err = c.protected(ctx, u)
	if err != nil {
		return nil, err
	}
	hasPasskeys := false
	if l == nil {
		if d.RecoveryCodes, err = c.st.CountRecoveryCodes(ctx, u.ID); err != nil {
			return nil, err
		}
		browsers, err := c.st.TrustedBrowsersByUser(ctx, u.ID, now)
		if err != nil {
			return nil, err
		}
		d.TrustedBrowsers = len(browsers)
		if c.cfg.PasskeyRPID != "" {
			keys, err := c.st.PasskeysByUser(ctx, u.ID, c.cfg.PasskeyRPID)
			if err != nil {
				return nil, err
			}
			for _, p := range keys {
				d.Passkeys = append(d.Passkeys, PasskeyItem{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt, LastUsedAt: p.LastUsedAt})
			}
			hasPasskeys = len(keys) > 0
		}
		ids, err := c.st.UserIdentities(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			d.Identities = append(d.Identities, IdentityItem{ID: id.ID, Provider: id.Provider, Email: id.Email, CreatedAt: id.CreatedAt})
		}
	}
	d.User = c.item(l, u, isAdmin, twoFactor, hasPasskeys)
	d.Actions = c.actionsFor(r, u, d, isAdmin, twoFactor)
	return d, nil
}

// actionsFor returns the paths of the actions that apply to u and that
// the request's user may take.
func (c *Console) actionsFor(r *http.Request, u *store.User, d *UserData, isAdmin, twoFactor bool) Actions {
	l := lensFrom(r.Context())
	var a Actions
	unconfirmed := u.EmailConfirmedAt.IsZero() && u.DisabledAt.IsZero()
	if l != nil {
		p := func(path string) string { return c.k.Path(expand(path, "{org}", l.org.Slug, "{id}", u.ID)) }
		if !d.Protected && len(d.Sessions) > 0 {
			a.RevokeAll = p(pathOrgRevokeAll)
		}
		if unconfirmed {
			a.Confirm = p(pathOrgConfirm)
		}
		return a
	}
	p := func(path string) string { return c.k.Path(expand(path, "{id}", u.ID)) }
	if unconfirmed {
		a.Confirm = p(pathConfirm)
	}
	if !d.LockedUntil.IsZero() {
		a.Unlock = p(pathUnlock)
	}
	if !u.DisabledAt.IsZero() {
		a.Enable = p(pathEnable)
	}
	if !u.DeletionDueAt.IsZero() {
		a.DeletionCancel = p(pathDeletionCancel)
	}
	me := sigra.UserFrom(r.Context())
	if isAdmin {
		if me == nil || me.ID != u.ID {
			a.Revoke = p(pathRevoke)
		}
	} else {
		a.Grant = p(pathGrant)
		if u.DisabledAt.IsZero() && u.DeletionDueAt.IsZero() {
			a.Impersonate = p(pathImpersonate)
		}
	}
	if d.Protected {
		return a
	}
	if d.LockedUntil.IsZero() && u.DisabledAt.IsZero() {
		a.Lock = p(pathLock)
	}
	if u.DisabledAt.IsZero() {
		a.Disable = p(pathDisable)
		a.PasswordReset = p(pathPasswordReset)
	}
	if len(d.Sessions) > 0 {
		a.RevokeSession, a.RevokeAll = p(pathRevokeSession), p(pathRevokeAll)
	}
	if twoFactor || d.RecoveryCodes > 0 || d.TrustedBrowsers > 0 {
		a.TwoFactorReset = p(pathTwoFactorReset)
	}
	if len(d.Passkeys) > 0 {
		a.PasskeyRemove = p(pathPasskeyRemove)
	}
	if len(d.Identities) > 0 {
		a.IdentityUnlink = p(pathIdentityUnlink)
	}
	if !u.DeletionDueAt.IsZero() {
		a.DeletionRun = p(pathDeletionRun)
	}
	return a
}

// eventItem is the list form of an audit event; link adds the path of
// its detail page.
func (c *Console) eventItem(e *store.AuditEvent, link bool) EventItem {
	it := EventItem{ID: e.ID, At: e.At, Action: e.Action, Outcome: e.Outcome, ActorID: e.ActorID, SubjectID: e.SubjectID, OrgID: e.OrgID, IP: e.IP}
	if link {
		it.URL = c.k.Path(expand(pathAuditEvent, "{event}", e.ID))
	}
	return it
}

// hexOf is b in hex, "" for none.
func hexOf(b []byte) string { return hex.EncodeToString(b) }
