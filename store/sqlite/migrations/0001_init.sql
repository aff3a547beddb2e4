-- +goose Up
-- Initial schema of Sigra for Go on SQLite.
--
-- Times are INTEGER unix milliseconds in UTC; NULL is the zero time.
-- Addresses are unique on email_norm, computed by the library
-- (store.NormalizeEmail: NFC, trimmed, Unicode lower case), never by SQLite's
-- ASCII-only lower(). Secrets are stored only as SHA-256 digests (BLOB) or
-- sealed (BLOB).

CREATE TABLE sigra_users (
    id                 TEXT    NOT NULL PRIMARY KEY,
    email              TEXT    NOT NULL,
    email_norm         TEXT    NOT NULL UNIQUE,
    password_hash      TEXT    NOT NULL DEFAULT '',
    email_confirmed_at INTEGER,
    failed_logins      INTEGER NOT NULL DEFAULT 0,
    locked_until       INTEGER,
    failed_mfa         INTEGER NOT NULL DEFAULT 0,
    mfa_locked_until   INTEGER,
    disabled_at        INTEGER,
    deletion_due_at    INTEGER,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX sigra_users_deletion_due ON sigra_users (deletion_due_at) WHERE deletion_due_at IS NOT NULL;

-- A pending change of address: at most one per user. email_norm is unique
-- among reservations; expired ones are cleared before a new one is taken.
CREATE TABLE sigra_email_reservations (
    user_id    TEXT    NOT NULL PRIMARY KEY REFERENCES sigra_users (id) ON DELETE CASCADE,
    email      TEXT    NOT NULL,
    email_norm TEXT    NOT NULL UNIQUE,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Browser sessions, keyed by the digest of the cookie token. A revoked row
-- is a tombstone: revoked_at is never cleared.
CREATE TABLE sigra_sessions (
    digest       BLOB    NOT NULL PRIMARY KEY,
    id           TEXT    NOT NULL UNIQUE,
    data         BLOB    NOT NULL,
    user_id      TEXT    REFERENCES sigra_users (id) ON DELETE CASCADE,
    state        TEXT    NOT NULL,
    aal          INTEGER NOT NULL DEFAULT 0,
    methods      TEXT    NOT NULL DEFAULT '',
    auth_time    INTEGER,
    sudo_time    INTEGER,
    active_org   TEXT    NOT NULL DEFAULT '',
    impersonator TEXT    NOT NULL DEFAULT '',
    remember     INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER,
    expires_at   INTEGER,
    revoked_at   INTEGER,
    ip           TEXT    NOT NULL DEFAULT '',
    user_agent   TEXT    NOT NULL DEFAULT ''
) WITHOUT ROWID;

CREATE INDEX sigra_sessions_user ON sigra_sessions (user_id, last_seen_at) WHERE user_id IS NOT NULL;
CREATE INDEX sigra_sessions_expires ON sigra_sessions (expires_at);
CREATE INDEX sigra_sessions_revoked ON sigra_sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- Single-use emailed tokens and codes.
CREATE TABLE sigra_tokens (
    purpose    TEXT    NOT NULL,
    digest     BLOB    NOT NULL,
    user_id    TEXT    REFERENCES sigra_users (id) ON DELETE CASCADE,
    sent_to    TEXT    NOT NULL DEFAULT '',
    data       TEXT    NOT NULL DEFAULT '',
    attempts   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER,
    expires_at INTEGER,
    PRIMARY KEY (purpose, digest)
) WITHOUT ROWID;

CREATE INDEX sigra_tokens_user ON sigra_tokens (user_id, purpose);
CREATE INDEX sigra_tokens_expires ON sigra_tokens (expires_at);

-- Fixed-window rate-limit counters.
CREATE TABLE sigra_rate_limits (
    key      TEXT    NOT NULL PRIMARY KEY,
    count    INTEGER NOT NULL,
    reset_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX sigra_limits_reset ON sigra_rate_limits (reset_at);

-- Outgoing email. lease_until is set while a worker holds the message.
CREATE TABLE sigra_outbox (
    id              TEXT    NOT NULL PRIMARY KEY,
    recipient       TEXT    NOT NULL,
    sealed          BLOB,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);

CREATE INDEX sigra_outbox_due ON sigra_outbox (next_attempt_at) WHERE sent_at IS NULL;

-- Append-only audit log. Paged newest first on (at, id).
CREATE TABLE sigra_audit_log (
    id              TEXT    NOT NULL PRIMARY KEY,
    at              INTEGER NOT NULL,
    action          TEXT    NOT NULL,
    actor_id        TEXT    NOT NULL DEFAULT '',
    subject_id      TEXT    NOT NULL DEFAULT '',
    impersonator_id TEXT    NOT NULL DEFAULT '',
    ip              TEXT    NOT NULL DEFAULT '',
    user_agent      TEXT    NOT NULL DEFAULT '',
    outcome         TEXT    NOT NULL DEFAULT '',
    metadata        TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX sigra_audit_at ON sigra_audit_log (at, id);
CREATE INDEX sigra_audit_actor ON sigra_audit_log (actor_id, at, id);
CREATE INDEX sigra_audit_subject ON sigra_audit_log (subject_id, at, id);
CREATE INDEX sigra_audit_action ON sigra_audit_log (action, at, id);

-- TOTP authenticators: one per user, pending until confirmed_at is set.
CREATE TABLE sigra_totp_secrets (
    user_id      TEXT    NOT NULL PRIMARY KEY REFERENCES sigra_users (id) ON DELETE CASCADE,
    sealed       BLOB    NOT NULL,
    confirmed_at INTEGER,
    last_step    INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE sigra_recovery_codes (
    user_id    TEXT    NOT NULL REFERENCES sigra_users (id) ON DELETE CASCADE,
    digest     BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER,
    PRIMARY KEY (user_id, digest)
) WITHOUT ROWID;

CREATE TABLE sigra_trusted_browsers (
    id         TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES sigra_users (id) ON DELETE CASCADE,
    digest     BLOB    NOT NULL,
    user_agent TEXT    NOT NULL DEFAULT '',
    ip         TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    expires_at INTEGER
) WITHOUT ROWID;

CREATE INDEX sigra_trusted_browsers_user ON sigra_trusted_browsers (user_id, digest);
