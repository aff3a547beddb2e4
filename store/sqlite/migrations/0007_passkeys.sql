-- +goose Up
-- Passkeys (package passkey): each user's WebAuthn user handle (random,
-- stable, never the address) and the WebAuthn credentials registered to
-- users. A credential ID belongs to one user per relying party. transports
-- is a JSON array of strings. Rows go with the user (the foreign keys on
-- DeleteUser; AnonymizeUser deletes them). A removal that would leave a
-- user with no way to sign in is refused inside the removal's transaction
-- (the store's single writer serializes it with every other change).

CREATE TABLE sigra_passkey_users (
    user_id    TEXT    PRIMARY KEY REFERENCES sigra_users (id) ON DELETE CASCADE,
    handle     BLOB    NOT NULL UNIQUE
) WITHOUT ROWID;

CREATE TABLE sigra_passkeys (
    id                 TEXT    PRIMARY KEY,
    user_id            TEXT    NOT NULL REFERENCES sigra_users (id) ON DELETE CASCADE,
    rp_id              TEXT    NOT NULL,
    credential_id      BLOB    NOT NULL,
    public_key         BLOB    NOT NULL,
    attestation_type   TEXT    NOT NULL DEFAULT '',
    attestation_format TEXT    NOT NULL DEFAULT '',
    aaguid             BLOB    NOT NULL,
    transports         TEXT    NOT NULL DEFAULT '[]',
    attachment         TEXT    NOT NULL DEFAULT '',
    sign_count         INTEGER NOT NULL DEFAULT 0,
    user_verified      INTEGER NOT NULL DEFAULT 0,
    backup_eligible    INTEGER NOT NULL DEFAULT 0,
    backup_state       INTEGER NOT NULL DEFAULT 0,
    name               TEXT    NOT NULL,
    created_at         INTEGER NOT NULL,
    last_used_at       INTEGER,
    UNIQUE (rp_id, credential_id)
);

CREATE INDEX sigra_passkeys_user ON sigra_passkeys (user_id, rp_id, created_at);
