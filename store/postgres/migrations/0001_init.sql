-- +goose Up
-- Sigra for Go: initial schema. Tables are unqualified so that they land in
-- the first schema of the connection's search_path, and prefixed with
-- sigra_ so that they can share a schema with the application's own tables.
-- Times are timestamptz (UTC, microseconds); a zero time is NULL where the
-- column is optional. Secrets are stored only as SHA-256 digests (bytea) or
-- sealed.

CREATE TABLE sigra_users (
    id                 text        PRIMARY KEY,
    email              text        NOT NULL,
    -- email_norm is store.NormalizeEmail(email), computed by the library:
    -- uniqueness is Unicode-aware, not PostgreSQL's lower().
    email_norm         text        NOT NULL,
    password_hash      text        NOT NULL DEFAULT '',
    email_confirmed_at timestamptz,
    failed_logins      integer     NOT NULL DEFAULT 0,
    locked_until       timestamptz,
    failed_mfa         integer     NOT NULL DEFAULT 0,
    mfa_locked_until   timestamptz,
    disabled_at        timestamptz,
    deletion_due_at    timestamptz,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    CONSTRAINT sigra_users_email_norm_key UNIQUE (email_norm)
);

CREATE INDEX sigra_users_deletion_due_idx ON sigra_users (deletion_due_at, id)
    WHERE deletion_due_at IS NOT NULL;

-- A pending change of address: at most one per user. Expired rows are
-- ignored by every query and replaced by the user's next reservation.
CREATE TABLE sigra_email_reservations (
    user_id    text        PRIMARY KEY REFERENCES sigra_users (id) ON DELETE CASCADE,
    email      text        NOT NULL,
    email_norm text        NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE INDEX sigra_email_reservations_email_idx ON sigra_email_reservations (email_norm, expires_at);

-- Browser sessions, keyed by the digest of the cookie token. Revocation
-- sets revoked_at and leaves the row as a tombstone until it is purged.
-- last_seen_at is not indexed, so touching a session can be a HOT update.
CREATE TABLE sigra_sessions (
    digest       bytea       PRIMARY KEY,
    id           text        NOT NULL,
    data         bytea       NOT NULL,
    user_id      text        REFERENCES sigra_users (id) ON DELETE CASCADE,
    state        text        NOT NULL,
    aal          integer     NOT NULL DEFAULT 0,
    methods      text[]      NOT NULL DEFAULT '{}',
    auth_time    timestamptz,
    sudo_time    timestamptz,
    active_org   text        NOT NULL DEFAULT '',
    impersonator text        NOT NULL DEFAULT '',
    remember     boolean     NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    ip           text        NOT NULL DEFAULT '',
    user_agent   text        NOT NULL DEFAULT '',
    CONSTRAINT sigra_sessions_id_key UNIQUE (id)
) WITH (fillfactor = 90);

CREATE INDEX sigra_sessions_user_idx ON sigra_sessions (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX sigra_sessions_expires_idx ON sigra_sessions (expires_at);
CREATE INDEX sigra_sessions_revoked_idx ON sigra_sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- Single-use emailed tokens and codes.
CREATE TABLE sigra_tokens (
    purpose    text        NOT NULL,
    digest     bytea       NOT NULL,
    user_id    text        REFERENCES sigra_users (id) ON DELETE CASCADE,
    sent_to    text        NOT NULL DEFAULT '',
    data       text        NOT NULL DEFAULT '',
    attempts   integer     NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (purpose, digest)
);

CREATE INDEX sigra_tokens_user_idx ON sigra_tokens (user_id, purpose);
CREATE INDEX sigra_tokens_expires_idx ON sigra_tokens (expires_at);

-- Fixed-window rate-limit counters shared by every instance.
CREATE TABLE sigra_rate_limits (
    key      text        PRIMARY KEY,
    count    bigint      NOT NULL,
    reset_at timestamptz NOT NULL
);

CREATE INDEX sigra_rate_limits_reset_idx ON sigra_rate_limits (reset_at);

-- Durable email queue. A claimed message's next_attempt_at is its lease end.
CREATE TABLE sigra_outbox (
    id              text        PRIMARY KEY,
    to_addr         text        NOT NULL,
    sealed          bytea       NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    sent_at         timestamptz
);

CREATE INDEX sigra_outbox_due_idx ON sigra_outbox (next_attempt_at, created_at, id)
    WHERE sent_at IS NULL;

-- Append-only audit log. Rows outlive the users they mention.
CREATE TABLE sigra_audit_log (
    id              text        PRIMARY KEY,
    at              timestamptz NOT NULL,
    action          text        NOT NULL,
    actor_id        text        NOT NULL DEFAULT '',
    subject_id      text        NOT NULL DEFAULT '',
    impersonator_id text        NOT NULL DEFAULT '',
    ip              text        NOT NULL DEFAULT '',
    user_agent      text        NOT NULL DEFAULT '',
    outcome         text        NOT NULL DEFAULT '',
    metadata        jsonb
);

CREATE INDEX sigra_audit_log_at_idx ON sigra_audit_log (at, id);
CREATE INDEX sigra_audit_log_actor_idx ON sigra_audit_log (actor_id, at, id);
CREATE INDEX sigra_audit_log_subject_idx ON sigra_audit_log (subject_id, at, id);
CREATE INDEX sigra_audit_log_action_idx ON sigra_audit_log (action, at, id);

-- TOTP authenticators: one per user, pending until confirmed.
CREATE TABLE sigra_totp_secrets (
    user_id      text        PRIMARY KEY REFERENCES sigra_users (id) ON DELETE CASCADE,
    sealed       bytea       NOT NULL,
    confirmed_at timestamptz,
    last_step    bigint      NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL
);

CREATE TABLE sigra_recovery_codes (
    user_id    text        NOT NULL REFERENCES sigra_users (id) ON DELETE CASCADE,
    digest     bytea       NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, digest)
);

CREATE TABLE sigra_trusted_browsers (
    id         text        PRIMARY KEY,
    user_id    text        NOT NULL REFERENCES sigra_users (id) ON DELETE CASCADE,
    digest     bytea       NOT NULL,
    user_agent text        NOT NULL DEFAULT '',
    ip         text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    CONSTRAINT sigra_trusted_browsers_digest_key UNIQUE (user_id, digest)
);
