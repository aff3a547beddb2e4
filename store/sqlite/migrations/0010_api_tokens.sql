-- +goose Up
-- API tokens (package apitoken): personal access tokens, service accounts
-- and their secrets, and the access tokens service accounts get for them.
-- Times are INTEGER unix milliseconds in UTC, as elsewhere; scopes are
-- one space-separated TEXT. Only digests of tokens and secrets are stored.
--
-- A service account belongs to an organization (org_id), or to the
-- application (org_id NULL). A token belongs to a user (a personal access
-- token) or to a service account, never both; it goes with its owner.

CREATE TABLE sigra_service_accounts (
    id         TEXT    NOT NULL PRIMARY KEY,
    org_id     TEXT    REFERENCES sigra_orgs (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    scopes     TEXT    NOT NULL,
    created_by TEXT    REFERENCES sigra_users (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX sigra_service_accounts_org ON sigra_service_accounts (org_id, created_at);
CREATE INDEX sigra_service_accounts_created_by ON sigra_service_accounts (created_by);

CREATE TABLE sigra_service_account_secrets (
    digest             BLOB    NOT NULL PRIMARY KEY,
    service_account_id TEXT    NOT NULL REFERENCES sigra_service_accounts (id) ON DELETE CASCADE,
    created_at         INTEGER NOT NULL,
    expires_at         INTEGER
) WITHOUT ROWID;

CREATE INDEX sigra_service_account_secrets_account ON sigra_service_account_secrets (service_account_id);

CREATE TABLE sigra_api_tokens (
    id                 TEXT    NOT NULL PRIMARY KEY,
    digest             BLOB    NOT NULL UNIQUE,
    user_id            TEXT    REFERENCES sigra_users (id) ON DELETE CASCADE,
    service_account_id TEXT    REFERENCES sigra_service_accounts (id) ON DELETE CASCADE,
    name               TEXT    NOT NULL,
    scopes             TEXT    NOT NULL,
    created_at         INTEGER NOT NULL,
    expires_at         INTEGER,
    last_used_at       INTEGER,
    revoked_at         INTEGER,
    CHECK ((user_id IS NULL) <> (service_account_id IS NULL))
) WITHOUT ROWID;

CREATE INDEX sigra_api_tokens_user ON sigra_api_tokens (user_id, created_at) WHERE user_id IS NOT NULL;
CREATE INDEX sigra_api_tokens_account ON sigra_api_tokens (service_account_id) WHERE service_account_id IS NOT NULL;
CREATE INDEX sigra_api_tokens_expires ON sigra_api_tokens (expires_at) WHERE expires_at IS NOT NULL;

-- Disabling a user (and anonymizing one, which disables) revokes the
-- user's tokens in the statement that disables: whichever code path
-- disables, a token cannot outlive it.
-- +goose StatementBegin
CREATE TRIGGER sigra_api_tokens_user_disabled AFTER UPDATE OF disabled_at ON sigra_users
WHEN NEW.disabled_at IS NOT NULL
BEGIN
    UPDATE sigra_api_tokens SET revoked_at = NEW.updated_at
    WHERE user_id = NEW.id AND revoked_at IS NULL;
END;
-- +goose StatementEnd
