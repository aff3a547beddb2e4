-- +goose Up
-- API tokens (package apitoken): personal access tokens, service accounts
-- and their secrets, and the access tokens service accounts get for them.
-- Scopes are one space-separated text. Only digests of tokens and secrets
-- are stored.
--
-- A service account belongs to an organization (org_id), or to the
-- application (org_id NULL). A token belongs to a user (a personal access
-- token) or to a service account, never both; it goes with its owner.

CREATE TABLE sigra_service_accounts (
    id         text        PRIMARY KEY,
    org_id     text        REFERENCES sigra_orgs (id) ON DELETE CASCADE,
    name       text        NOT NULL,
    scopes     text        NOT NULL,
    created_by text        REFERENCES sigra_users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL
);

CREATE INDEX sigra_service_accounts_org_idx ON sigra_service_accounts (org_id, created_at);
CREATE INDEX sigra_service_accounts_created_by_idx ON sigra_service_accounts (created_by);

CREATE TABLE sigra_service_account_secrets (
    digest             bytea       PRIMARY KEY,
    service_account_id text        NOT NULL REFERENCES sigra_service_accounts (id) ON DELETE CASCADE,
    created_at         timestamptz NOT NULL,
    expires_at         timestamptz
);

CREATE INDEX sigra_service_account_secrets_account_idx ON sigra_service_account_secrets (service_account_id);

CREATE TABLE sigra_api_tokens (
    id                 text        PRIMARY KEY,
    digest             bytea       NOT NULL UNIQUE,
    user_id            text        REFERENCES sigra_users (id) ON DELETE CASCADE,
    service_account_id text        REFERENCES sigra_service_accounts (id) ON DELETE CASCADE,
    name               text        NOT NULL,
    scopes             text        NOT NULL,
    created_at         timestamptz NOT NULL,
    expires_at         timestamptz,
    last_used_at       timestamptz,
    revoked_at         timestamptz,
    CHECK ((user_id IS NULL) <> (service_account_id IS NULL))
);

CREATE INDEX sigra_api_tokens_user_idx ON sigra_api_tokens (user_id, created_at) WHERE user_id IS NOT NULL;
CREATE INDEX sigra_api_tokens_account_idx ON sigra_api_tokens (service_account_id) WHERE service_account_id IS NOT NULL;
CREATE INDEX sigra_api_tokens_expires_idx ON sigra_api_tokens (expires_at) WHERE expires_at IS NOT NULL;

-- Disabling a user (and anonymizing one, which disables) revokes the
-- user's tokens in the statement that disables: whichever code path
-- disables, a token cannot outlive it.
-- +goose StatementBegin
CREATE FUNCTION sigra_api_tokens_user_disabled() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sigra_api_tokens SET revoked_at = NEW.updated_at
    WHERE user_id = NEW.id AND revoked_at IS NULL;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER sigra_api_tokens_user_disabled AFTER UPDATE OF disabled_at ON sigra_users
    FOR EACH ROW WHEN (NEW.disabled_at IS NOT NULL) EXECUTE FUNCTION sigra_api_tokens_user_disabled();
