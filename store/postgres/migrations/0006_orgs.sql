-- +goose Up
-- Organizations (package org): organizations, their slugs, memberships and
-- invitations.
--
-- sigra_org_slugs is the one namespace of slugs: each organization's
-- current slug (expires_at NULL, equal to sigra_orgs.slug) and the old
-- slugs that redirect to it until expires_at. Slugs are stored lower-case.
-- Changes that could leave an organization without an owner lock its
-- sigra_orgs row (SELECT ... FOR UPDATE) first.

CREATE TABLE sigra_orgs (
    id              text        PRIMARY KEY,
    name            text        NOT NULL,
    slug            text        NOT NULL UNIQUE,
    created_by      text        REFERENCES sigra_users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    deletion_due_at timestamptz
);

CREATE INDEX sigra_orgs_deletion_due_idx ON sigra_orgs (deletion_due_at) WHERE deletion_due_at IS NOT NULL;
CREATE INDEX sigra_orgs_created_by_idx ON sigra_orgs (created_by);

CREATE TABLE sigra_org_slugs (
    slug       text        PRIMARY KEY,
    org_id     text        NOT NULL REFERENCES sigra_orgs (id) ON DELETE CASCADE,
    expires_at timestamptz
);

CREATE INDEX sigra_org_slugs_org_idx ON sigra_org_slugs (org_id);

CREATE TABLE sigra_org_members (
    org_id     text        NOT NULL REFERENCES sigra_orgs (id) ON DELETE CASCADE,
    user_id    text        NOT NULL REFERENCES sigra_users (id) ON DELETE CASCADE,
    role       text        NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, user_id)
);

CREATE INDEX sigra_org_members_page_idx ON sigra_org_members (org_id, created_at, user_id);
CREATE INDEX sigra_org_members_user_idx ON sigra_org_members (user_id, created_at);

-- When the last owner's membership goes (only a user's deletion can do
-- that: the store refuses to remove or demote the last owner), ownership
-- passes to the longest-standing admin, else to the longest-standing
-- member; an organization left without members is scheduled for deletion
-- at once.
-- +goose StatementBegin
CREATE FUNCTION sigra_org_members_last_owner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.role <> 'owner' THEN
        RETURN NULL;
    END IF;
    -- Wait for a demotion in flight, then look at the owners it left.
    PERFORM 1 FROM sigra_orgs WHERE id = OLD.org_id FOR UPDATE;
    IF EXISTS (SELECT 1 FROM sigra_org_members WHERE org_id = OLD.org_id AND role = 'owner') THEN
        RETURN NULL;
    END IF;
    UPDATE sigra_org_members SET role = 'owner'
    WHERE org_id = OLD.org_id AND user_id = (
        SELECT user_id FROM sigra_org_members WHERE org_id = OLD.org_id
        ORDER BY role <> 'admin', created_at, user_id LIMIT 1);
    IF NOT FOUND THEN
        UPDATE sigra_orgs
        SET deletion_due_at = coalesce(deletion_due_at, statement_timestamp()), updated_at = statement_timestamp()
        WHERE id = OLD.org_id;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER sigra_org_members_last_owner AFTER DELETE ON sigra_org_members
    FOR EACH ROW EXECUTE FUNCTION sigra_org_members_last_owner();

-- Invitations: only the token's digest is stored. At most one pending
-- (neither accepted nor revoked) invitation per organization and address
-- key; an expired one is deleted before the address is invited again.
CREATE TABLE sigra_org_invitations (
    id          text        PRIMARY KEY,
    org_id      text        NOT NULL REFERENCES sigra_orgs (id) ON DELETE CASCADE,
    email       text        NOT NULL,
    email_norm  text        NOT NULL,
    role        text        NOT NULL,
    digest      bytea       NOT NULL UNIQUE,
    invited_by  text        REFERENCES sigra_users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    accepted_at timestamptz,
    accepted_by text        REFERENCES sigra_users (id) ON DELETE SET NULL,
    revoked_at  timestamptz
);

CREATE UNIQUE INDEX sigra_org_invitations_pending_idx ON sigra_org_invitations (org_id, email_norm)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;
CREATE INDEX sigra_org_invitations_org_idx ON sigra_org_invitations (org_id, created_at);
CREATE INDEX sigra_org_invitations_invited_by_idx ON sigra_org_invitations (invited_by);
CREATE INDEX sigra_org_invitations_accepted_by_idx ON sigra_org_invitations (accepted_by);

-- Sessions whose active organization is cleared when a member is removed.
CREATE INDEX sigra_sessions_active_org_idx ON sigra_sessions (active_org) WHERE active_org <> '';
