-- +goose Up
-- Passkeys (package passkey): each user's WebAuthn user handle (random,
-- stable, never the address) and the WebAuthn credentials registered to
-- users. A credential ID belongs to one user per relying party. Rows go
-- with the user (the foreign keys on DeleteUser; AnonymizeUser deletes
-- them). A removal that would leave a user with no way to sign in locks the
-- user's sigra_users row (SELECT ... FOR UPDATE) before counting the
-- user's other ways to sign in, so concurrent removals take turns.

CREATE TABLE sigra_passkey_users (
    user_id    text        PRIMARY KEY REFERENCES sigra_users (id) ON DELETE CASCADE,
    handle     bytea       NOT NULL UNIQUE
);

CREATE TABLE sigra_passkeys (
    id                 text        PRIMARY KEY,
    user_id            text        NOT NULL REFERENCES sigra_users (id) ON DELETE CASCADE,
    rp_id              text        NOT NULL,
    credential_id      bytea       NOT NULL,
    public_key         bytea       NOT NULL,
    attestation_type   text        NOT NULL DEFAULT '',
    attestation_format text        NOT NULL DEFAULT '',
    aaguid             bytea       NOT NULL,
    transports         text[]      NOT NULL DEFAULT '{}',
    attachment         text        NOT NULL DEFAULT '',
    sign_count         bigint      NOT NULL DEFAULT 0,
    user_verified      boolean     NOT NULL DEFAULT false,
    backup_eligible    boolean     NOT NULL DEFAULT false,
    backup_state       boolean     NOT NULL DEFAULT false,
    name               text        NOT NULL,
    created_at         timestamptz NOT NULL,
    last_used_at       timestamptz,
    UNIQUE (rp_id, credential_id)
);

CREATE INDEX sigra_passkeys_user_idx ON sigra_passkeys (user_id, rp_id, created_at);
