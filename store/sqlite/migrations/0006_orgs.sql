-- +goose Up
-- Organizations (package org): organizations, their slugs, memberships and
-- invitations. Times are INTEGER unix milliseconds in UTC, as elsewhere.
--
-- sigra_org_slugs is the one namespace of slugs: each organization's
-- current slug (expires_at NULL, equal to sigra_orgs.slug) and the old
-- slugs that redirect to it until expires_at. Slugs are stored lower-case.

CREATE TABLE sigra_orgs (
    id              TEXT    NOT NULL PRIMARY KEY,
    name            TEXT    NOT NULL,
    slug            TEXT    NOT NULL UNIQUE,
    created_by      TEXT    REFERENCES sigra_users (id) ON DELETE SET NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    deletion_due_at INTEGER
) WITHOUT ROWID;

CREATE INDEX sigra_orgs_deletion_due ON sigra_orgs (deletion_due_at) WHERE deletion_due_at IS NOT NULL;
CREATE INDEX sigra_orgs_created_by ON sigra_orgs (created_by);

CREATE TABLE sigra_org_slugs (
    slug       TEXT    NOT NULL PRIMARY KEY,
    org_id     TEXT    NOT NULL REFERENCES sigra_orgs (id) ON DELETE CASCADE,
    expires_at INTEGER
) WITHOUT ROWID;

CREATE INDEX sigra_org_slugs_org ON sigra_org_slugs (org_id);

CREATE TABLE sigra_org_members (
    org_id     TEXT    NOT NULL REFERENCES sigra_orgs (id) ON DELETE CASCADE,
    user_id    TEXT    NOT NULL REFERENCES sigra_users (id) ON DELETE CASCADE,
    role       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, user_id)
) WITHOUT ROWID;

CREATE INDEX sigra_org_members_page ON sigra_org_members (org_id, created_at, user_id);
CREATE INDEX sigra_org_members_user ON sigra_org_members (user_id, created_at);

-- When the last owner's membership goes (only a user's deletion can do
-- that: the store refuses to remove or demote the last owner), ownership
-- passes to the longest-standing admin, else to the longest-standing
-- member; an organization left without members is scheduled for deletion
-- at once.
-- +goose StatementBegin
CREATE TRIGGER sigra_org_members_last_owner AFTER DELETE ON sigra_org_members
WHEN OLD.role = 'owner'
    AND NOT EXISTS (SELECT 1 FROM sigra_org_members WHERE org_id = OLD.org_id AND role = 'owner')
BEGIN
    UPDATE sigra_org_members SET role = 'owner'
    WHERE org_id = OLD.org_id AND user_id = (
        SELECT user_id FROM sigra_org_members WHERE org_id = OLD.org_id
        ORDER BY role <> 'admin', created_at, user_id LIMIT 1);
    UPDATE sigra_orgs
    SET deletion_due_at = COALESCE(deletion_due_at, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
        updated_at = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    WHERE id = OLD.org_id AND NOT EXISTS (SELECT 1 FROM sigra_org_members WHERE org_id = OLD.org_id);
END;
-- +goose StatementEnd

-- Invitations: only the token's digest is stored. At most one pending
-- (neither accepted nor revoked) invitation per organization and address
-- key; an expired one is deleted before the address is invited again.
CREATE TABLE sigra_org_invitations (
    id          TEXT    NOT NULL PRIMARY KEY,
    org_id      TEXT    NOT NULL REFERENCES sigra_orgs (id) ON DELETE CASCADE,
    email       TEXT    NOT NULL,
    email_norm  TEXT    NOT NULL,
    role        TEXT    NOT NULL,
    digest      BLOB    NOT NULL UNIQUE,
    invited_by  TEXT    REFERENCES sigra_users (id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    accepted_at INTEGER,
    accepted_by TEXT    REFERENCES sigra_users (id) ON DELETE SET NULL,
    revoked_at  INTEGER
) WITHOUT ROWID;

CREATE UNIQUE INDEX sigra_org_invitations_pending ON sigra_org_invitations (org_id, email_norm)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;
CREATE INDEX sigra_org_invitations_org ON sigra_org_invitations (org_id, created_at);
CREATE INDEX sigra_org_invitations_invited_by ON sigra_org_invitations (invited_by);
CREATE INDEX sigra_org_invitations_accepted_by ON sigra_org_invitations (accepted_by);

-- Sessions whose active organization is cleared when a member is removed.
CREATE INDEX sigra_sessions_active_org ON sigra_sessions (active_org) WHERE active_org <> '';
