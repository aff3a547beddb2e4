-- +goose Up
-- The admin console (package admin): who is an administrator, and the
-- indexes of the console's users list and audit explorer. Times are
-- INTEGER unix milliseconds in UTC, as elsewhere.
--
-- An administrator's row goes with the user; granted_by becomes NULL when
-- the administrator who granted the role is deleted (NULL too when an
-- operator granted it from the command line).

CREATE TABLE sigra_admins (
    user_id    TEXT    NOT NULL PRIMARY KEY REFERENCES sigra_users (id) ON DELETE CASCADE,
    granted_by TEXT    REFERENCES sigra_users (id) ON DELETE SET NULL,
    granted_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX sigra_admins_granted_by ON sigra_admins (granted_by) WHERE granted_by IS NOT NULL;

-- The users list is ordered by email_norm (the unique index of 0001 serves
-- the unfiltered list and the prefix search). Each state filter has a
-- partial index in the same order, so a page of a rare state is a short
-- index walk; the list's statements repeat each predicate literally so
-- that the planner picks them.
CREATE INDEX sigra_users_list_unconfirmed ON sigra_users (email_norm) WHERE email_confirmed_at IS NULL;
CREATE INDEX sigra_users_list_disabled ON sigra_users (email_norm) WHERE disabled_at IS NOT NULL;
CREATE INDEX sigra_users_list_deletion ON sigra_users (email_norm) WHERE deletion_due_at IS NOT NULL;
CREATE INDEX sigra_users_list_locked ON sigra_users (email_norm) WHERE locked_until IS NOT NULL OR mfa_locked_until IS NOT NULL;

-- The audit explorer's filters by client address and by outcome.
CREATE INDEX sigra_audit_ip ON sigra_audit_log (ip, at, id) WHERE ip <> '';
CREATE INDEX sigra_audit_outcome ON sigra_audit_log (outcome, at, id);
