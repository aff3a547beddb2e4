-- +goose Up
-- Refresh-token families of JWT access tokens (package jwtauth). A family
-- is bound to the session row it was exchanged from (session_id is that
-- row's public id): it is live only while that session is. Tokens are
-- stored as SHA-256 digests; used_at marks a token exchanged once.

CREATE TABLE sigra_refresh_families (
    id            text        PRIMARY KEY,
    user_id       text        NOT NULL REFERENCES sigra_users (id) ON DELETE CASCADE,
    session_id    text        NOT NULL,
    scopes        text[]      NOT NULL DEFAULT '{}',
    aal           integer     NOT NULL DEFAULT 0,
    methods       text[]      NOT NULL DEFAULT '{}',
    auth_time     timestamptz,
    client_name   text        NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    revoke_reason text        NOT NULL DEFAULT ''
);

CREATE INDEX sigra_refresh_families_user_idx ON sigra_refresh_families (user_id, created_at);
CREATE INDEX sigra_refresh_families_expires_idx ON sigra_refresh_families (expires_at);

CREATE TABLE sigra_refresh_tokens (
    digest     bytea       PRIMARY KEY,
    family_id  text        NOT NULL REFERENCES sigra_refresh_families (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

CREATE INDEX sigra_refresh_tokens_family_idx ON sigra_refresh_tokens (family_id);
