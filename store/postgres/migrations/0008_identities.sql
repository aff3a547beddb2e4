-- +goose Up
-- Identities (package oauth): accounts at OAuth and OpenID Connect
-- providers linked to users. An identity is keyed by (provider, subject),
-- the provider's own identifier, never by an address; a user has at most
-- one identity per provider. The provider's tokens are sealed (see
-- internal/seal); email is the provider's address, for display only. Rows
-- go with the user (the foreign key on DeleteUser; AnonymizeUser deletes
-- them).

CREATE TABLE sigra_identities (
    id               text        PRIMARY KEY,
    user_id          text        NOT NULL REFERENCES sigra_users (id) ON DELETE CASCADE,
    provider         text        NOT NULL,
    subject          text        NOT NULL,
    email            text        NOT NULL DEFAULT '',
    email_verified   boolean     NOT NULL DEFAULT false,
    access_token     bytea,
    refresh_token    bytea,
    token_expires_at timestamptz,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    last_used_at     timestamptz,
    CONSTRAINT sigra_identities_subject_key UNIQUE (provider, subject),
    CONSTRAINT sigra_identities_user_provider_key UNIQUE (user_id, provider)
);
