package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sigra-go/sigra/store"
)

// Compile-time proof that DB implements the organization interfaces.
var (
	_ store.Orgs        = (*DB)(nil)
	_ store.Memberships = (*DB)(nil)
	_ store.Invitations = (*DB)(nil)
)

// maxMembersPage is the largest page of Members.
const maxMembersPage = 100

// atomic runs fn so that all its statements take effect or none does: in
// a savepoint of the transaction ctx carries (so a failure leaves the
// caller's transaction as it was), or in a new transaction on the writer.
// The single writer connection makes every check fn reads before it
// writes hold until it ends.
func (db *DB) atomic(ctx context.Context, fn func(q querier) error) error {
	tx := db.tx(ctx)
	if tx == nil {
		return db.begin(ctx, func(tx *sql.Tx) error { return fn(tx) })
	}
	if _, err := tx.ExecContext(ctx, `SAVEPOINT sigra_orgs`); err != nil {
		return wrap("savepoint", err)
	}
	if err := fn(tx); err != nil {
		_, _ = tx.ExecContext(ctx, `ROLLBACK TO sigra_orgs`)
		_, _ = tx.ExecContext(ctx, `RELEASE sigra_orgs`)
		return err
	}
	_, err := tx.ExecContext(ctx, `RELEASE sigra_orgs`)
	return wrap("release savepoint", err)
}

// invalid is the error of a call refused for its arguments.
func invalid(op, format string, args ...any) error {
	return fmt.Errorf("sigra/sqlite: %s: %s", op, fmt.Sprintf(format, args...))
}

// orgSlug returns the stored (lower-case) form of slug, or an error for an
// empty slug or one with spaces around it.
func orgSlug(op, slug string) (string, error) {
	s := strings.ToLower(slug)
	if s == "" || strings.TrimSpace(s) != s {
		return "", invalid(op, "invalid slug %q", slug)
	}
	return s, nil
}

const orgCols = `o.id, o.name, o.slug, o.created_by, o.created_at, o.updated_at, o.deletion_due_at, o.require_two_factor`

func orgDest(o *store.Org) []any {
	return []any{&o.ID, &o.Name, &o.Slug, strDest{&o.CreatedBy}, timeDest{&o.CreatedAt}, timeDest{&o.UpdatedAt}, timeDest{&o.DeletionDueAt},
		boolDest{&o.Policy.RequireTwoFactor}}
}

// takeSlug makes slug the current slug of org in the slug namespace:
// ErrConflict if another organization holds it (current, or old and live
// at now). An expired old slug, or one of the organization's own, is
// taken over.
func takeSlug(ctx context.Context, q querier, op, slug, orgID string, now time.Time) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM sigra_org_slugs WHERE slug = ?1 AND (org_id = ?2 OR expires_at <= ?3)`,
		slug, orgID, ms(now)); err != nil {
		return wrap(op, err)
	}
	_, err := q.ExecContext(ctx, `INSERT INTO sigra_org_slugs (slug, org_id, expires_at) VALUES (?, ?, NULL)`, slug, orgID)
	return wrap(op, err)
}

// CreateOrg inserts o and its owner's membership; see [store.Orgs].
func (db *DB) CreateOrg(ctx context.Context, o *store.Org) error {
	const op = "CreateOrg"
	slug, err := orgSlug(op, o.Slug)
	if err != nil {
		return err
	}
	if o.Name == "" {
		return invalid(op, "empty name")
	}
	if o.CreatedBy == "" {
		return invalid(op, "empty CreatedBy")
	}
	id, created, updated := o.ID, o.CreatedAt, o.UpdatedAt
	if id == "" {
		id = store.NewID()
	}
	if created.IsZero() {
		created = clock()
	}
	if updated.IsZero() {
		updated = created
	}
	err = db.atomic(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `INSERT INTO sigra_orgs (id, name, slug, created_by, created_at, updated_at, deletion_due_at, require_two_factor)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, o.Name, slug, o.CreatedBy, ms(created), ms(updated), ms(o.DeletionDueAt),
			o.Policy.RequireTwoFactor); err != nil {
			return wrap(op, err)
		}
		if err := takeSlug(ctx, q, op, slug, id, created); err != nil {
			return err
		}
		_, err := q.ExecContext(ctx, `INSERT INTO sigra_org_members (org_id, user_id, role, created_at) VALUES (?, ?, ?, ?)`,
			id, o.CreatedBy, store.RoleOwner, ms(created))
		return wrap(op, err)
	})
	if err != nil {
		return err
	}
	o.ID, o.Slug, o.CreatedAt, o.UpdatedAt = id, slug, created, updated
	return nil
}

// OrgByID returns the organization with id; see [store.Orgs].
func (db *DB) OrgByID(ctx context.Context, id string) (*store.Org, error) {
	o := new(store.Org)
	err := db.r(ctx).QueryRowContext(ctx, `SELECT `+orgCols+` FROM sigra_orgs o WHERE o.id = ?`, id).Scan(orgDest(o)...)
	if err != nil {
		return nil, wrap("OrgByID", err)
	}
	return o, nil
}

// OrgBySlug returns the organization slug names at now, current or old;
// see [store.Orgs].
func (db *DB) OrgBySlug(ctx context.Context, slug string, now time.Time) (*store.Org, bool, error) {
	o := new(store.Org)
	var old bool
	err := db.r(ctx).QueryRowContext(ctx, `SELECT `+orgCols+`, s.expires_at IS NOT NULL
		FROM sigra_org_slugs s JOIN sigra_orgs o ON o.id = s.org_id
		WHERE s.slug = ? AND (s.expires_at IS NULL OR s.expires_at > ?)`, strings.ToLower(slug), ms(now)).
		Scan(append(orgDest(o), boolDest{&old})...)
	if err != nil {
		return nil, false, wrap("OrgBySlug", err)
	}
	return o, old, nil
}

// UserOrgBySlug returns the organization slug names at now with the
// user's membership of it, in one statement; see [store.Orgs].
func (db *DB) UserOrgBySlug(ctx context.Context, userID, slug string, now time.Time) (*store.UserOrg, bool, error) {
	uo := &store.UserOrg{}
	m := &uo.Membership
	var old bool
	err := db.r(ctx).QueryRowContext(ctx, `SELECT `+orgCols+`, s.expires_at IS NOT NULL, m.role, m.created_at
		FROM sigra_org_slugs s JOIN sigra_orgs o ON o.id = s.org_id
		JOIN sigra_org_members m ON m.org_id = o.id AND m.user_id = ?
		WHERE s.slug = ? AND (s.expires_at IS NULL OR s.expires_at > ?)`, userID, strings.ToLower(slug), ms(now)).
		Scan(append(orgDest(&uo.Org), boolDest{&old}, &m.Role, timeDest{&m.CreatedAt})...)
	if err != nil {
		return nil, false, wrap("UserOrgBySlug", err)
	}
	m.OrgID, m.UserID = uo.Org.ID, userID
	return uo, old, nil
}

// UserOrg returns the organization with id with the user's membership of
// it, in one statement; see [store.Orgs].
func (db *DB) UserOrg(ctx context.Context, userID, id string) (*store.UserOrg, error) {
	uo := &store.UserOrg{}
	m := &uo.Membership
	err := db.r(ctx).QueryRowContext(ctx, `SELECT `+orgCols+`, m.role, m.created_at
		FROM sigra_orgs o JOIN sigra_org_members m ON m.org_id = o.id AND m.user_id = ?
		WHERE o.id = ?`, userID, id).
		Scan(append(orgDest(&uo.Org), &m.Role, timeDest{&m.CreatedAt})...)
	if err != nil {
		return nil, wrap("UserOrg", err)
	}
	m.OrgID, m.UserID = uo.Org.ID, userID
	return uo, nil
}

// RenameOrg sets the organization's name and slug, keeping the old slug as
// a redirect; see [store.Orgs].
func (db *DB) RenameOrg(ctx context.Context, id, name, slug string, now time.Time) error {
	const op = "RenameOrg"
	slug, err := orgSlug(op, slug)
	if err != nil {
		return err
	}
	if name == "" {
		return invalid(op, "empty name")
	}
	return db.atomic(ctx, func(q querier) error {
		var cur string
		if err := q.QueryRowContext(ctx, `SELECT slug FROM sigra_orgs WHERE id = ?`, id).Scan(&cur); err != nil {
			return wrap(op, err)
		}
		if cur != slug {
			if err := takeSlug(ctx, q, op, slug, id, now); err != nil {
				return err
			}
			if _, err := q.ExecContext(ctx, `UPDATE sigra_org_slugs SET expires_at = ? WHERE slug = ? AND org_id = ?`,
				ms(now.Add(store.SlugRedirectFor)), cur, id); err != nil {
				return wrap(op, err)
			}
		}
		_, err := q.ExecContext(ctx, `UPDATE sigra_orgs SET name = ?, slug = ?, updated_at = ? WHERE id = ?`, name, slug, ms(now), id)
		return wrap(op, err)
	})
}

// ScheduleOrgDeletion sets or cancels the organization's deletion; see
// [store.Orgs].
func (db *DB) ScheduleOrgDeletion(ctx context.Context, id string, due, now time.Time) error {
	return op("ScheduleOrgDeletion").one(db.exec(ctx,
		`UPDATE sigra_orgs SET deletion_due_at = ?, updated_at = ? WHERE id = ?`, ms(due), ms(now), id))
}

// SetOrgPolicy sets the organization's policy; see [store.Orgs].
func (db *DB) SetOrgPolicy(ctx context.Context, id string, p store.OrgPolicy, now time.Time) error {
	return op("SetOrgPolicy").one(db.exec(ctx,
		`UPDATE sigra_orgs SET require_two_factor = ?, updated_at = ? WHERE id = ?`, p.RequireTwoFactor, ms(now), id))
}

// OrgsDueForDeletion returns up to limit organizations due for deletion at
// now, oldest due first.
func (db *DB) OrgsDueForDeletion(ctx context.Context, now time.Time, limit int) ([]*store.Org, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.r(ctx).QueryContext(ctx, `SELECT `+orgCols+` FROM sigra_orgs o
		WHERE o.deletion_due_at <= ? ORDER BY o.deletion_due_at, o.id LIMIT ?`, ms(now), limit)
	if err != nil {
		return nil, wrap("OrgsDueForDeletion", err)
	}
	defer rows.Close()
	var list []*store.Org
	for rows.Next() {
		o := new(store.Org)
		if err := rows.Scan(orgDest(o)...); err != nil {
			return nil, wrap("OrgsDueForDeletion", err)
		}
		list = append(list, o)
	}
	return list, wrap("OrgsDueForDeletion", rows.Err())
}

// DeleteOrg removes the organization and what belongs to it (foreign
// keys), and clears it as the active organization of sessions; see
// [store.Orgs].
func (db *DB) DeleteOrg(ctx context.Context, id string) error {
	return db.atomic(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `UPDATE sigra_sessions SET active_org = '' WHERE active_org = ?`, id); err != nil {
			return wrap("DeleteOrg", err)
		}
		return op("DeleteOrg").one(q.ExecContext(ctx, `DELETE FROM sigra_orgs WHERE id = ?`, id))
	})
}

// AddMember inserts a membership; see [store.Memberships].
func (db *DB) AddMember(ctx context.Context, m *store.Membership) error {
	if m.Role == "" {
		return invalid("AddMember", "empty role")
	}
	created := m.CreatedAt
	if created.IsZero() {
		created = clock()
	}
	if _, err := db.exec(ctx, `INSERT INTO sigra_org_members (org_id, user_id, role, created_at) VALUES (?, ?, ?, ?)`,
		m.OrgID, m.UserID, m.Role, ms(created)); err != nil {
		return wrap("AddMember", err)
	}
	m.CreatedAt = created
	return nil
}

// Membership returns the user's membership of the organization; see
// [store.Memberships].
func (db *DB) Membership(ctx context.Context, orgID, userID string) (*store.Membership, error) {
	m := &store.Membership{OrgID: orgID, UserID: userID}
	err := db.r(ctx).QueryRowContext(ctx, `SELECT role, created_at FROM sigra_org_members WHERE org_id = ? AND user_id = ?`,
		orgID, userID).Scan(&m.Role, timeDest{&m.CreatedAt})
	if err != nil {
		return nil, wrap("Membership", err)
	}
	return m, nil
}

// guardOwner returns the member's role, ErrNotFound if the user is not a
// member, and ErrLastOwner if the member is the organization's last owner
// and leaves (role "") or takes another role. It runs inside atomic: the
// single writer keeps what it read true until the change is made.
func guardOwner(ctx context.Context, q querier, op, orgID, userID, role string) error {
	var cur string
	var others bool
	err := q.QueryRowContext(ctx, `SELECT role, EXISTS (SELECT 1 FROM sigra_org_members
			WHERE org_id = ?1 AND user_id <> ?2 AND role = 'owner')
		FROM sigra_org_members WHERE org_id = ?1 AND user_id = ?2`, orgID, userID).Scan(&cur, boolDest{&others})
	if err != nil {
		return wrap(op, err)
	}
	if cur == store.RoleOwner && role != store.RoleOwner && !others {
		return fmt.Errorf("sigra/sqlite: %s: %w", op, store.ErrLastOwner)
	}
	return nil
}

// SetMemberRole changes a member's role, refusing to demote the last
// owner; see [store.Memberships].
func (db *DB) SetMemberRole(ctx context.Context, orgID, userID, role string) error {
	const op = "SetMemberRole"
	if role == "" {
		return invalid(op, "empty role")
	}
	return db.atomic(ctx, func(q querier) error {
		if err := guardOwner(ctx, q, op, orgID, userID, role); err != nil {
			return err
		}
		_, err := q.ExecContext(ctx, `UPDATE sigra_org_members SET role = ? WHERE org_id = ? AND user_id = ?`, role, orgID, userID)
		return wrap(op, err)
	})
}

// RemoveMember removes a member, refusing to remove the last owner, and
// clears the organization as the active one of the user's sessions; see
// [store.Memberships].
func (db *DB) RemoveMember(ctx context.Context, orgID, userID string) error {
	const op = "RemoveMember"
	return db.atomic(ctx, func(q querier) error {
		if err := guardOwner(ctx, q, op, orgID, userID, ""); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM sigra_org_members WHERE org_id = ? AND user_id = ?`, orgID, userID); err != nil {
			return wrap(op, err)
		}
		_, err := q.ExecContext(ctx, `UPDATE sigra_sessions SET active_org = '' WHERE user_id = ? AND active_org = ?`, userID, orgID)
		return wrap(op, err)
	})
}

// memberCursor encodes the position after a membership: its CreatedAt in
// unix milliseconds and its user ID.
func memberCursor(m *store.Membership) string {
	return strconv.FormatInt(m.CreatedAt.UnixMilli(), 10) + ":" + m.UserID
}

func parseMemberCursor(c string) (int64, string, error) {
	at, id, ok := strings.Cut(c, ":")
	n, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || id == "" {
		return 0, "", invalid("Members", "malformed cursor %q", c)
	}
	return n, id, nil
}

// Members returns one page of the organization's members, oldest first;
// see [store.Memberships].
func (db *DB) Members(ctx context.Context, orgID, after string, limit int) ([]*store.Membership, string, error) {
	if limit <= 0 || limit > maxMembersPage {
		limit = maxMembersPage
	}
	var afterAt any
	afterID := ""
	if after != "" {
		at, id, err := parseMemberCursor(after)
		if err != nil {
			return nil, "", err
		}
		afterAt, afterID = at, id
	}
	rows, err := db.r(ctx).QueryContext(ctx, `SELECT user_id, role, created_at FROM sigra_org_members
		WHERE org_id = ?1 AND (?2 IS NULL OR (created_at, user_id) > (?2, ?3))
		ORDER BY created_at, user_id LIMIT ?4`, orgID, afterAt, afterID, limit+1)
	if err != nil {
		return nil, "", wrap("Members", err)
	}
	defer rows.Close()
	var list []*store.Membership
	for rows.Next() {
		m := &store.Membership{OrgID: orgID}
		if err := rows.Scan(&m.UserID, &m.Role, timeDest{&m.CreatedAt}); err != nil {
			return nil, "", wrap("Members", err)
		}
		list = append(list, m)
	}
	if err := rows.Err(); err != nil {
		return nil, "", wrap("Members", err)
	}
	next := ""
	if len(list) > limit {
		list = list[:limit]
		next = memberCursor(list[limit-1])
	}
	return list, next, nil
}

// UserOrgs returns the user's organizations with the user's memberships,
// in the order the user joined them; see [store.Memberships].
func (db *DB) UserOrgs(ctx context.Context, userID string) ([]*store.UserOrg, error) {
	rows, err := db.r(ctx).QueryContext(ctx, `SELECT `+orgCols+`, m.role, m.created_at
		FROM sigra_org_members m JOIN sigra_orgs o ON o.id = m.org_id
		WHERE m.user_id = ? ORDER BY m.created_at, o.id`, userID)
	if err != nil {
		return nil, wrap("UserOrgs", err)
	}
	defer rows.Close()
	var list []*store.UserOrg
	for rows.Next() {
		uo := &store.UserOrg{}
		m := &uo.Membership
		if err := rows.Scan(append(orgDest(&uo.Org), &m.Role, timeDest{&m.CreatedAt})...); err != nil {
			return nil, wrap("UserOrgs", err)
		}
		m.OrgID, m.UserID = uo.Org.ID, userID
		list = append(list, uo)
	}
	return list, wrap("UserOrgs", rows.Err())
}

const invCols = `id, org_id, email, email_norm, role, digest, invited_by, created_at, expires_at, accepted_at, accepted_by, revoked_at`

func invDest(inv *store.Invitation) []any {
	return []any{&inv.ID, &inv.OrgID, &inv.Email, &inv.EmailKey, &inv.Role, &inv.Digest, strDest{&inv.InvitedBy},
		timeDest{&inv.CreatedAt}, timeDest{&inv.ExpiresAt}, timeDest{&inv.AcceptedAt}, strDest{&inv.AcceptedBy}, timeDest{&inv.RevokedAt}}
}

// pendingInv selects pending invitations: ?now is the time.
const pendingInv = `accepted_at IS NULL AND revoked_at IS NULL AND expires_at > `

// CreateInvitation inserts inv; see [store.Invitations].
func (db *DB) CreateInvitation(ctx context.Context, inv *store.Invitation) error {
	const op = "CreateInvitation"
	switch {
	case strings.TrimSpace(inv.Email) == "":
		return invalid(op, "empty address")
	case inv.Role == "":
		return invalid(op, "empty role")
	case len(inv.Digest) == 0:
		return invalid(op, "empty digest")
	case inv.ExpiresAt.IsZero():
		return invalid(op, "zero expiry")
	}
	id, created, key := inv.ID, inv.CreatedAt, store.NormalizeEmail(inv.Email)
	if id == "" {
		id = store.NewID()
	}
	if created.IsZero() {
		created = clock()
	}
	err := db.atomic(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `DELETE FROM sigra_org_invitations
			WHERE org_id = ? AND email_norm = ? AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at <= ?`,
			inv.OrgID, key, ms(created)); err != nil {
			return wrap(op, err)
		}
		_, err := q.ExecContext(ctx, `INSERT INTO sigra_org_invitations (`+invCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL)`,
			id, inv.OrgID, inv.Email, key, inv.Role, inv.Digest, nullStr(inv.InvitedBy), ms(created), ms(inv.ExpiresAt))
		return wrap(op, err)
	})
	if err != nil {
		return err
	}
	inv.ID, inv.CreatedAt, inv.EmailKey = id, created, key
	inv.AcceptedAt, inv.AcceptedBy, inv.RevokedAt = time.Time{}, "", time.Time{}
	return nil
}

// InvitationByDigest returns the pending invitation with digest; see
// [store.Invitations].
func (db *DB) InvitationByDigest(ctx context.Context, digest []byte, now time.Time) (*store.Invitation, error) {
	inv := new(store.Invitation)
	err := db.r(ctx).QueryRowContext(ctx, `SELECT `+invCols+` FROM sigra_org_invitations
		WHERE digest = ? AND `+pendingInv+`?`, digest, ms(now)).Scan(invDest(inv)...)
	if err != nil {
		return nil, wrap("InvitationByDigest", err)
	}
	return inv, nil
}

// AcceptInvitation uses the pending invitation with digest for the user
// whose address it was sent to and makes the user a member; see
// [store.Invitations].
func (db *DB) AcceptInvitation(ctx context.Context, digest []byte, userID string, now time.Time) (*store.Invitation, error) {
	const op = "AcceptInvitation"
	inv := new(store.Invitation)
	err := db.atomic(ctx, func(q querier) error {
		err := q.QueryRowContext(ctx, `UPDATE sigra_org_invitations SET accepted_at = ?1, accepted_by = ?2
			WHERE digest = ?3 AND `+pendingInv+`?1
				AND email_norm = (SELECT email_norm FROM sigra_users WHERE id = ?2)
			RETURNING `+invCols, ms(now), userID, digest).Scan(invDest(inv)...)
		if err != nil {
			return wrap(op, err)
		}
		_, err = q.ExecContext(ctx, `INSERT INTO sigra_org_members (org_id, user_id, role, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (org_id, user_id) DO NOTHING`, inv.OrgID, userID, inv.Role, ms(now))
		return wrap(op, err)
	})
	if err != nil {
		return nil, err
	}
	return inv, nil
}

// PendingInvitations returns the organization's pending invitations,
// newest first; see [store.Invitations].
func (db *DB) PendingInvitations(ctx context.Context, orgID string, now time.Time) ([]*store.Invitation, error) {
	rows, err := db.r(ctx).QueryContext(ctx, `SELECT `+invCols+` FROM sigra_org_invitations
		WHERE org_id = ? AND `+pendingInv+`? ORDER BY created_at DESC, id DESC`, orgID, ms(now))
	if err != nil {
		return nil, wrap("PendingInvitations", err)
	}
	defer rows.Close()
	var list []*store.Invitation
	for rows.Next() {
		inv := new(store.Invitation)
		if err := rows.Scan(invDest(inv)...); err != nil {
			return nil, wrap("PendingInvitations", err)
		}
		list = append(list, inv)
	}
	return list, wrap("PendingInvitations", rows.Err())
}

// RevokeInvitation revokes the organization's open invitation with id; see
// [store.Invitations].
func (db *DB) RevokeInvitation(ctx context.Context, orgID, id string, now time.Time) error {
	return op("RevokeInvitation").one(db.exec(ctx, `UPDATE sigra_org_invitations SET revoked_at = ?
		WHERE org_id = ? AND id = ? AND accepted_at IS NULL AND revoked_at IS NULL`, ms(now), orgID, id))
}

// ResendInvitation replaces the digest and expiry of the organization's
// open invitation with id; see [store.Invitations].
func (db *DB) ResendInvitation(ctx context.Context, orgID, id string, digest []byte, expires, now time.Time) error {
	const name = "ResendInvitation"
	switch {
	case len(digest) == 0:
		return invalid(name, "empty digest")
	case expires.IsZero():
		return invalid(name, "zero expiry")
	}
	return db.atomic(ctx, func(q querier) error {
		return op(name).one(q.ExecContext(ctx, `UPDATE sigra_org_invitations SET digest = ?, expires_at = ?
			WHERE org_id = ? AND id = ? AND accepted_at IS NULL AND revoked_at IS NULL`, bytes.Clone(digest), ms(expires), orgID, id))
	})
}

// PurgeOrgSlugs deletes old slugs whose redirect ended before before; see
// [store.Orgs].
func (db *DB) PurgeOrgSlugs(ctx context.Context, before time.Time) (int, error) {
	return op("PurgeOrgSlugs").count(db.exec(ctx,
		`DELETE FROM sigra_org_slugs WHERE expires_at IS NOT NULL AND expires_at < ?`, ms(before)))
}

// PurgeInvitations deletes invitations accepted, revoked or expired
// before before; see [store.Invitations].
func (db *DB) PurgeInvitations(ctx context.Context, before time.Time) (int, error) {
	b := ms(before)
	return op("PurgeInvitations").count(db.exec(ctx,
		`DELETE FROM sigra_org_invitations WHERE accepted_at < ?1 OR revoked_at < ?1 OR expires_at < ?1`, b))
}
