-- +goose Up
-- The devices each user signs in from, for new-device alerts: per user, an
-- opaque fingerprint chosen by the library (a digest of the network, browser
-- and operating system, never the raw address) and when it was last seen at
-- a sign-in. last_seen_at is NULL for a device the user reported as not
-- theirs (store.SignIns.ForgetDevice). Rows go with the user (the foreign
-- key on DeleteUser; AnonymizeUser deletes them); a user's stale devices are
-- deleted at that user's next sign-in, through the primary key.

CREATE TABLE sigra_signins (
    user_id      TEXT    NOT NULL REFERENCES sigra_users (id) ON DELETE CASCADE,
    fingerprint  TEXT    NOT NULL,
    last_seen_at INTEGER,
    PRIMARY KEY (user_id, fingerprint)
) WITHOUT ROWID;
