-- +goose Up
-- The admin console (package admin): who is an administrator, and the
-- indexes of the console's users list and audit explorer.
--
-- An administrator's row goes with the user; granted_by becomes NULL when
-- the administrator who granted the role is deleted (NULL too when an
-- operator granted it from the command line).

CREATE TABLE sigra_admins (
    user_id    text        PRIMARY KEY REFERENCES sigra_users (id) ON DELETE CASCADE,
    granted_by text        REFERENCES sigra_users (id) ON DELETE SET NULL,
    granted_at timestamptz NOT NULL
);

CREATE INDEX sigra_admins_granted_by_idx ON sigra_admins (granted_by) WHERE granted_by IS NOT NULL;

-- The users list is ordered by email_norm in byte order (COLLATE "C"), so
-- that a prefix of the key is one range of the index whatever the
-- database's collation. Each state filter has a partial index in the same
-- order; the list's statements repeat each predicate literally so that
-- the planner picks them.
CREATE INDEX sigra_users_list_idx ON sigra_users (email_norm COLLATE "C");
CREATE INDEX sigra_users_list_unconfirmed_idx ON sigra_users (email_norm COLLATE "C") WHERE email_confirmed_at IS NULL;
CREATE INDEX sigra_users_list_disabled_idx ON sigra_users (email_norm COLLATE "C") WHERE disabled_at IS NOT NULL;
CREATE INDEX sigra_users_list_deletion_idx ON sigra_users (email_norm COLLATE "C") WHERE deletion_due_at IS NOT NULL;
CREATE INDEX sigra_users_list_locked_idx ON sigra_users (email_norm COLLATE "C") WHERE locked_until IS NOT NULL OR mfa_locked_until IS NOT NULL;

-- The audit explorer's filters by client address and by outcome.
CREATE INDEX sigra_audit_log_ip_idx ON sigra_audit_log (ip, at, id) WHERE ip <> '';
CREATE INDEX sigra_audit_log_outcome_idx ON sigra_audit_log (outcome, at, id);
