-- +goose Up
-- Identities (package oauth): accounts at OAuth and OpenID Connect
-- providers linked to users. An identity is keyed by (provider, subject),
-- the provider's own identifier, never by an address; a user has at most
-- one identity per provider. The provider's tokens are sealed (see
-- internal/seal); email is the provider's address, for display only. Rows
-- go with the user (the foreign key on DeleteUser; AnonymizeUser deletes
-- them).

CREATE TABLE sigra_identities (
    id               TEXT    NOT NULL PRIMARY KEY,
    user_id          TEXT    NOT NULL REFERENCES sigra_users (id) ON DELETE CASCADE,
    provider         TEXT    NOT NULL,
    subject          TEXT    NOT NULL,
    email            TEXT    NOT NULL DEFAULT '',
    email_verified   INTEGER NOT NULL DEFAULT 0,
    access_token     BLOB,
    refresh_token    BLOB,
    token_expires_at INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    last_used_at     INTEGER,
    UNIQUE (provider, subject),
    UNIQUE (user_id, provider)
) WITHOUT ROWID;
