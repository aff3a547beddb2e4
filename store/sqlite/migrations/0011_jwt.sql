-- +goose Up
-- Refresh-token families of JWT access tokens (package jwtauth). A family
-- is bound to the session row it was exchanged from (session_id is that
-- row's public id): it is live only while that session is. Tokens are
-- stored as SHA-256 digests; used_at marks a token exchanged once. Times
-- are INTEGER unix milliseconds in UTC, as elsewhere.

CREATE TABLE sigra_refresh_families (
    id            TEXT    NOT NULL PRIMARY KEY,
    user_id       TEXT    NOT NULL REFERENCES sigra_users (id) ON DELETE CASCADE,
    session_id    TEXT    NOT NULL,
    scopes        TEXT    NOT NULL DEFAULT '',
    aal           INTEGER NOT NULL DEFAULT 0,
    methods       TEXT    NOT NULL DEFAULT '',
    auth_time     INTEGER,
    client_name   TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    revoked_at    INTEGER,
    revoke_reason TEXT    NOT NULL DEFAULT ''
) WITHOUT ROWID;

CREATE INDEX sigra_refresh_families_user ON sigra_refresh_families (user_id, created_at);
CREATE INDEX sigra_refresh_families_expires ON sigra_refresh_families (expires_at);

CREATE TABLE sigra_refresh_tokens (
    digest     BLOB    NOT NULL PRIMARY KEY,
    family_id  TEXT    NOT NULL REFERENCES sigra_refresh_families (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) WITHOUT ROWID;

CREATE INDEX sigra_refresh_tokens_family ON sigra_refresh_tokens (family_id);

