package postgres

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

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
// a savepoint of the transaction ctx carries (so that a failing statement,
// a conflict say, leaves the caller's transaction usable and as it was),
// or in a new READ COMMITTED transaction.
func (db *DB) atomic(ctx context.Context, fn func(tx pgx.Tx) error) error {
	var tx pgx.Tx
	var err error
	if outer, ok := db.tx(ctx); ok {
		tx, err = outer.Begin(ctx) // a savepoint
	} else {
		tx, err = db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	}
	if err != nil {
		return wrap("begin", err)
	}
	done := false
	defer func() {
		if !done {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	done = true
	return wrap("commit", tx.Commit(ctx))
}

// invalid is the error of a call refused for its arguments.
func invalid(op, format string, args ...any) error {
	return fmt.Errorf("sigra/postgres: %s: %s", op, fmt.Sprintf(format, args...))
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

const orgCols = `o.id, o.name, o.slug, coalesce(o.created_by, ''), o.created_at, o.updated_at, o.deletion_due_at,
	o.require_two_factor`

func orgDest(o *store.Org) []any {
	return []any{&o.ID, &o.Name, &o.Slug, &o.CreatedBy, ts(&o.CreatedAt), ts(&o.UpdatedAt), ts(&o.DeletionDueAt),
		&o.Policy.RequireTwoFactor}
}

// takeSlug makes slug the current slug of org in the slug namespace:
// ErrConflict if another organization holds it (current, or old and live
// at now). An expired old slug, or one of the organization's own, is
// taken over.
func takeSlug(ctx context.Context, tx pgx.Tx, op, slug, orgID string, now time.Time) error {
	if _, err := tx.Exec(ctx, `DELETE FROM sigra_org_slugs WHERE slug = $1 AND (org_id = $2 OR expires_at <= $3)`,
		slug, orgID, now); err != nil {
		return wrap(op, err)
	}
	ct, err := tx.Exec(ctx, `INSERT INTO sigra_org_slugs (slug, org_id, expires_at) VALUES ($1, $2, NULL)
		ON CONFLICT (slug) DO NOTHING`, slug, orgID)
	if err != nil {
		return wrap(op, err)
	}
	if ct.RowsAffected() == 0 {
		return conflict(op)
	}
	return nil
}

// CreateOrg implements [store.Orgs].
func (db *DB) CreateOrg(ctx context.Context, o *store.Org) error {
	const op = "create org"
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
		created = nowUTC()
	}
	if updated.IsZero() {
		updated = created
	}
	err = db.atomic(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO sigra_orgs (id, name, slug, created_by, created_at, updated_at, deletion_due_at, require_two_factor)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, id, o.Name, slug, o.CreatedBy, created, updated, tsArg(o.DeletionDueAt),
			o.Policy.RequireTwoFactor); err != nil {
			return wrap(op, err)
		}
		if err := takeSlug(ctx, tx, op, slug, id, created); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO sigra_org_members (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)`,
			id, o.CreatedBy, store.RoleOwner, created)
		return wrap(op, err)
	})
	if err != nil {
		return err
	}
	o.ID, o.Slug, o.CreatedAt, o.UpdatedAt = id, slug, created, updated
	return nil
}

// OrgByID implements [store.Orgs].
func (db *DB) OrgByID(ctx context.Context, id string) (*store.Org, error) {
	o := new(store.Org)
	err := db.q(ctx).QueryRow(ctx, `SELECT `+orgCols+` FROM sigra_orgs o WHERE o.id = $1`, id).Scan(orgDest(o)...)
	if err != nil {
		return nil, wrap("org by id", err)
	}
	return o, nil
}

// OrgBySlug implements [store.Orgs].
func (db *DB) OrgBySlug(ctx context.Context, slug string, now time.Time) (*store.Org, bool, error) {
	o := new(store.Org)
	var old bool
	err := db.q(ctx).QueryRow(ctx, `SELECT `+orgCols+`, s.expires_at IS NOT NULL
		FROM sigra_org_slugs s JOIN sigra_orgs o ON o.id = s.org_id
		WHERE s.slug = $1 AND (s.expires_at IS NULL OR s.expires_at > $2)`, strings.ToLower(slug), now).
		Scan(append(orgDest(o), &old)...)
	if err != nil {
		return nil, false, wrap("org by slug", err)
	}
	return o, old, nil
}

// UserOrgBySlug implements [store.Orgs]: one statement joins the slug,
// the organization and the user's membership.
func (db *DB) UserOrgBySlug(ctx context.Context, userID, slug string, now time.Time) (*store.UserOrg, bool, error) {
	uo := &store.UserOrg{}
	m := &uo.Membership
	var old bool
	err := db.q(ctx).QueryRow(ctx, `SELECT `+orgCols+`, s.expires_at IS NOT NULL, m.role, m.created_at
		FROM sigra_org_slugs s JOIN sigra_orgs o ON o.id = s.org_id
		JOIN sigra_org_members m ON m.org_id = o.id AND m.user_id = $1
		WHERE s.slug = $2 AND (s.expires_at IS NULL OR s.expires_at > $3)`, userID, strings.ToLower(slug), now).
		Scan(append(orgDest(&uo.Org), &old, &m.Role, ts(&m.CreatedAt))...)
	if err != nil {
		return nil, false, wrap("user org by slug", err)
	}
	m.OrgID, m.UserID = uo.Org.ID, userID
	return uo, old, nil
}

// UserOrg implements [store.Orgs]: one statement joins the organization
// and the user's membership.
func (db *DB) UserOrg(ctx context.Context, userID, id string) (*store.UserOrg, error) {
	uo := &store.UserOrg{}
	m := &uo.Membership
	err := db.q(ctx).QueryRow(ctx, `SELECT `+orgCols+`, m.role, m.created_at
		FROM sigra_orgs o JOIN sigra_org_members m ON m.org_id = o.id AND m.user_id = $1
		WHERE o.id = $2`, userID, id).
		Scan(append(orgDest(&uo.Org), &m.Role, ts(&m.CreatedAt))...)
	if err != nil {
		return nil, wrap("user org", err)
	}
	m.OrgID, m.UserID = uo.Org.ID, userID
	return uo, nil
}

// RenameOrg implements [store.Orgs]. It locks the organization's row.
func (db *DB) RenameOrg(ctx context.Context, id, name, slug string, now time.Time) error {
	const op = "rename org"
	slug, err := orgSlug(op, slug)
	if err != nil {
		return err
	}
	if name == "" {
		return invalid(op, "empty name")
	}
	return db.atomic(ctx, func(tx pgx.Tx) error {
		var cur string
		if err := tx.QueryRow(ctx, `SELECT slug FROM sigra_orgs WHERE id = $1 FOR UPDATE`, id).Scan(&cur); err != nil {
			return wrap(op, err)
		}
		if cur != slug {
			if err := takeSlug(ctx, tx, op, slug, id, now); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE sigra_org_slugs SET expires_at = $1 WHERE slug = $2 AND org_id = $3`,
				now.Add(store.SlugRedirectFor), cur, id); err != nil {
				return wrap(op, err)
			}
		}
		_, err := tx.Exec(ctx, `UPDATE sigra_orgs SET name = $1, slug = $2, updated_at = $3 WHERE id = $4`, name, slug, now, id)
		return wrap(op, err)
	})
}

// ScheduleOrgDeletion implements [store.Orgs].
func (db *DB) ScheduleOrgDeletion(ctx context.Context, id string, due, now time.Time) error {
	return db.execOne(ctx, "schedule org deletion",
		`UPDATE sigra_orgs SET deletion_due_at = $2, updated_at = $3 WHERE id = $1`, id, tsArg(due), now)
}

// SetOrgPolicy implements [store.Orgs].
func (db *DB) SetOrgPolicy(ctx context.Context, id string, p store.OrgPolicy, now time.Time) error {
	return db.execOne(ctx, "set org policy",
		`UPDATE sigra_orgs SET require_two_factor = $2, updated_at = $3 WHERE id = $1`, id, p.RequireTwoFactor, now)
}

// OrgsDueForDeletion implements [store.Orgs].
func (db *DB) OrgsDueForDeletion(ctx context.Context, now time.Time, limit int) ([]*store.Org, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.q(ctx).Query(ctx, `SELECT `+orgCols+` FROM sigra_orgs o
		WHERE o.deletion_due_at <= $1 ORDER BY o.deletion_due_at, o.id LIMIT $2`, now, limit)
	if err != nil {
		return nil, wrap("orgs due for deletion", err)
	}
	defer rows.Close()
	var list []*store.Org
	for rows.Next() {
		o := new(store.Org)
		if err := rows.Scan(orgDest(o)...); err != nil {
			return nil, wrap("orgs due for deletion", err)
		}
		list = append(list, o)
	}
	return list, wrap("orgs due for deletion", rows.Err())
}

// DeleteOrg implements [store.Orgs]: foreign keys with ON DELETE CASCADE
// remove the slugs, memberships and invitations.
func (db *DB) DeleteOrg(ctx context.Context, id string) error {
	const op = "delete org"
	return db.atomic(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE sigra_sessions SET active_org = '' WHERE active_org = $1`, id); err != nil {
			return wrap(op, err)
		}
		ct, err := tx.Exec(ctx, `DELETE FROM sigra_orgs WHERE id = $1`, id)
		if err != nil {
			return wrap(op, err)
		}
		if ct.RowsAffected() == 0 {
			return notFound(op)
		}
		return nil
	})
}

// AddMember implements [store.Memberships].
func (db *DB) AddMember(ctx context.Context, m *store.Membership) error {
	const op = "add member"
	if m.Role == "" {
		return invalid(op, "empty role")
	}
	created := m.CreatedAt
	if created.IsZero() {
		created = nowUTC()
	}
	err := db.atomic(ctx, func(tx pgx.Tx) error {
		ct, err := tx.Exec(ctx, `INSERT INTO sigra_org_members (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (org_id, user_id) DO NOTHING`, m.OrgID, m.UserID, m.Role, created)
		if err != nil {
			return wrap(op, err)
		}
		if ct.RowsAffected() == 0 {
			return conflict(op)
		}
		return nil
	})
	if err != nil {
		return err
	}
	m.CreatedAt = created
	return nil
}

// Membership implements [store.Memberships].
func (db *DB) Membership(ctx context.Context, orgID, userID string) (*store.Membership, error) {
	m := &store.Membership{OrgID: orgID, UserID: userID}
	err := db.q(ctx).QueryRow(ctx, `SELECT role, created_at FROM sigra_org_members WHERE org_id = $1 AND user_id = $2`,
		orgID, userID).Scan(&m.Role, ts(&m.CreatedAt))
	if err != nil {
		return nil, wrap("membership", err)
	}
	return m, nil
}

// guardOwner locks the organization's row (SELECT ... FOR UPDATE), so that
// changes of its owners run one at a time, then returns ErrNotFound if the
// user is not a member and ErrLastOwner if the member is the last owner
// and leaves (role "") or takes another role. Under READ COMMITTED, each
// statement after the lock sees what the changes before it committed.
func guardOwner(ctx context.Context, tx pgx.Tx, op, orgID, userID, role string) error {
	var one int
	if err := tx.QueryRow(ctx, `SELECT 1 FROM sigra_orgs WHERE id = $1 FOR UPDATE`, orgID).Scan(&one); err != nil {
		return wrap(op, err)
	}
	var cur string
	var others bool
	err := tx.QueryRow(ctx, `SELECT role, EXISTS (SELECT 1 FROM sigra_org_members
			WHERE org_id = $1 AND user_id <> $2 AND role = 'owner')
		FROM sigra_org_members WHERE org_id = $1 AND user_id = $2`, orgID, userID).Scan(&cur, &others)
	if err != nil {
		return wrap(op, err)
	}
	if cur == store.RoleOwner && role != store.RoleOwner && !others {
		return fmt.Errorf("sigra/postgres: %s: %w", op, store.ErrLastOwner)
	}
	return nil
}

// SetMemberRole implements [store.Memberships]. It locks the
// organization's row.
func (db *DB) SetMemberRole(ctx context.Context, orgID, userID, role string) error {
	const op = "set member role"
	if role == "" {
		return invalid(op, "empty role")
	}
	return db.atomic(ctx, func(tx pgx.Tx) error {
		if err := guardOwner(ctx, tx, op, orgID, userID, role); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE sigra_org_members SET role = $1 WHERE org_id = $2 AND user_id = $3`, role, orgID, userID)
		return wrap(op, err)
	})
}

// RemoveMember implements [store.Memberships]. It locks the
// organization's row.
func (db *DB) RemoveMember(ctx context.Context, orgID, userID string) error {
	const op = "remove member"
	return db.atomic(ctx, func(tx pgx.Tx) error {
		if err := guardOwner(ctx, tx, op, orgID, userID, ""); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sigra_org_members WHERE org_id = $1 AND user_id = $2`, orgID, userID); err != nil {
			return wrap(op, err)
		}
		_, err := tx.Exec(ctx, `UPDATE sigra_sessions SET active_org = '' WHERE user_id = $1 AND active_org = $2`, userID, orgID)
		return wrap(op, err)
	})
}

// memberCursor encodes the position after a membership: its CreatedAt in
// unix microseconds and its user ID.
func memberCursor(m *store.Membership) string {
	return strconv.FormatInt(m.CreatedAt.UnixMicro(), 10) + ":" + m.UserID
}

func parseMemberCursor(c string) (time.Time, string, error) {
	at, id, ok := strings.Cut(c, ":")
	n, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || id == "" {
		return time.Time{}, "", invalid("members", "malformed cursor %q", c)
	}
	return time.UnixMicro(n).UTC(), id, nil
}

// Members implements [store.Memberships].
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
	rows, err := db.q(ctx).Query(ctx, `SELECT user_id, role, created_at FROM sigra_org_members
		WHERE org_id = $1 AND ($2::timestamptz IS NULL OR (created_at, user_id) > ($2::timestamptz, $3))
		ORDER BY created_at, user_id LIMIT $4`, orgID, afterAt, afterID, limit+1)
	if err != nil {
		return nil, "", wrap("members", err)
	}
	defer rows.Close()
	var list []*store.Membership
	for rows.Next() {
		m := &store.Membership{OrgID: orgID}
		if err := rows.Scan(&m.UserID, &m.Role, ts(&m.CreatedAt)); err != nil {
			return nil, "", wrap("members", err)
		}
		list = append(list, m)
	}
	if err := rows.Err(); err != nil {
		return nil, "", wrap("members", err)
	}
	next := ""
	if len(list) > limit {
		list = list[:limit]
		next = memberCursor(list[limit-1])
	}
	return list, next, nil
}

// UserOrgs implements [store.Memberships].
func (db *DB) UserOrgs(ctx context.Context, userID string) ([]*store.UserOrg, error) {
	rows, err := db.q(ctx).Query(ctx, `SELECT `+orgCols+`, m.role, m.created_at
		FROM sigra_org_members m JOIN sigra_orgs o ON o.id = m.org_id
		WHERE m.user_id = $1 ORDER BY m.created_at, o.id`, userID)
	if err != nil {
		return nil, wrap("user orgs", err)
	}
	defer rows.Close()
	var list []*store.UserOrg
	for rows.Next() {
		uo := &store.UserOrg{}
		m := &uo.Membership
		if err := rows.Scan(append(orgDest(&uo.Org), &m.Role, ts(&m.CreatedAt))...); err != nil {
			return nil, wrap("user orgs", err)
		}
		m.OrgID, m.UserID = uo.Org.ID, userID
		list = append(list, uo)
	}
	return list, wrap("user orgs", rows.Err())
}

const invCols = `id, org_id, email, email_norm, role, digest, coalesce(invited_by, ''), created_at, expires_at,
	accepted_at, coalesce(accepted_by, ''), revoked_at`

func invDest(inv *store.Invitation) []any {
	return []any{&inv.ID, &inv.OrgID, &inv.Email, &inv.EmailKey, &inv.Role, &inv.Digest, &inv.InvitedBy,
		ts(&inv.CreatedAt), ts(&inv.ExpiresAt), ts(&inv.AcceptedAt), &inv.AcceptedBy, ts(&inv.RevokedAt)}
}

// pendingInv selects pending invitations; the time's placeholder follows.
const pendingInv = `accepted_at IS NULL AND revoked_at IS NULL AND expires_at > `

// CreateInvitation implements [store.Invitations].
func (db *DB) CreateInvitation(ctx context.Context, inv *store.Invitation) error {
	const op = "create invitation"
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
		created = nowUTC()
	}
	err := db.atomic(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM sigra_org_invitations
			WHERE org_id = $1 AND email_norm = $2 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at <= $3`,
			inv.OrgID, key, created); err != nil {
			return wrap(op, err)
		}
		_, err := tx.Exec(ctx, `INSERT INTO sigra_org_invitations (id, org_id, email, email_norm, role, digest, invited_by, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			id, inv.OrgID, inv.Email, key, inv.Role, inv.Digest, textArg(inv.InvitedBy), created, inv.ExpiresAt)
		return wrap(op, err)
	})
	if err != nil {
		return err
	}
	inv.ID, inv.CreatedAt, inv.EmailKey = id, created, key
	inv.AcceptedAt, inv.AcceptedBy, inv.RevokedAt = time.Time{}, "", time.Time{}
	return nil
}

// InvitationByDigest implements [store.Invitations].
func (db *DB) InvitationByDigest(ctx context.Context, digest []byte, now time.Time) (*store.Invitation, error) {
	inv := new(store.Invitation)
	err := db.q(ctx).QueryRow(ctx, `SELECT `+invCols+` FROM sigra_org_invitations
		WHERE digest = $1 AND `+pendingInv+`$2`, digest, now).Scan(invDest(inv)...)
	if err != nil {
		return nil, wrap("invitation by digest", err)
	}
	return inv, nil
}

// AcceptInvitation implements [store.Invitations]. Of concurrent accepts,
// the first update takes the row's lock; the others wait for it and then
// find the invitation accepted.
func (db *DB) AcceptInvitation(ctx context.Context, digest []byte, userID string, now time.Time) (*store.Invitation, error) {
	const op = "accept invitation"
	inv := new(store.Invitation)
	err := db.atomic(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `UPDATE sigra_org_invitations SET accepted_at = $1, accepted_by = $2
			WHERE digest = $3 AND `+pendingInv+`$1
				AND email_norm = (SELECT email_norm FROM sigra_users WHERE id = $2)
			RETURNING `+invCols, now, userID, digest).Scan(invDest(inv)...)
		if err != nil {
			return wrap(op, err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO sigra_org_members (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (org_id, user_id) DO NOTHING`, inv.OrgID, userID, inv.Role, now)
		return wrap(op, err)
	})
	if err != nil {
		return nil, err
	}
	return inv, nil
}

// PendingInvitations implements [store.Invitations].
func (db *DB) PendingInvitations(ctx context.Context, orgID string, now time.Time) ([]*store.Invitation, error) {
	rows, err := db.q(ctx).Query(ctx, `SELECT `+invCols+` FROM sigra_org_invitations
		WHERE org_id = $1 AND `+pendingInv+`$2 ORDER BY created_at DESC, id DESC`, orgID, now)
	if err != nil {
		return nil, wrap("pending invitations", err)
	}
	defer rows.Close()
	var list []*store.Invitation
	for rows.Next() {
		inv := new(store.Invitation)
		if err := rows.Scan(invDest(inv)...); err != nil {
			return nil, wrap("pending invitations", err)
		}
		list = append(list, inv)
	}
	return list, wrap("pending invitations", rows.Err())
}

// RevokeInvitation implements [store.Invitations].
func (db *DB) RevokeInvitation(ctx context.Context, orgID, id string, now time.Time) error {
	return db.execOne(ctx, "revoke invitation", `UPDATE sigra_org_invitations SET revoked_at = $1
		WHERE org_id = $2 AND id = $3 AND accepted_at IS NULL AND revoked_at IS NULL`, now, orgID, id)
}

// ResendInvitation implements [store.Invitations].
func (db *DB) ResendInvitation(ctx context.Context, orgID, id string, digest []byte, expires, now time.Time) error {
	const op = "resend invitation"
	switch {
	case len(digest) == 0:
		return invalid(op, "empty digest")
	case expires.IsZero():
		return invalid(op, "zero expiry")
	}
	return db.atomic(ctx, func(tx pgx.Tx) error {
		ct, err := tx.Exec(ctx, `UPDATE sigra_org_invitations SET digest = $1, expires_at = $2
			WHERE org_id = $3 AND id = $4 AND accepted_at IS NULL AND revoked_at IS NULL`, bytes.Clone(digest), expires, orgID, id)
		if err != nil {
			return wrap(op, err)
		}
		if ct.RowsAffected() == 0 {
			return notFound(op)
		}
		return nil
	})
}

// PurgeOrgSlugs deletes old slugs whose redirect ended before before; see
// [store.Orgs].
func (db *DB) PurgeOrgSlugs(ctx context.Context, before time.Time) (int, error) {
	ct, err := db.q(ctx).Exec(ctx, `DELETE FROM sigra_org_slugs WHERE expires_at IS NOT NULL AND expires_at < $1`, before)
	if err != nil {
		return 0, wrap("purge org slugs", err)
	}
	return int(ct.RowsAffected()), nil
}

// PurgeInvitations deletes invitations accepted, revoked or expired
// before before; see [store.Invitations].
func (db *DB) PurgeInvitations(ctx context.Context, before time.Time) (int, error) {
	ct, err := db.q(ctx).Exec(ctx, `DELETE FROM sigra_org_invitations
		WHERE accepted_at < $1 OR revoked_at < $1 OR expires_at < $1`, before)
	if err != nil {
		return 0, wrap("purge invitations", err)
	}
	return int(ct.RowsAffected()), nil
}
