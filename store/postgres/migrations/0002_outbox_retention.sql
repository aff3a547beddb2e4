-- +goose Up
-- Outbox retention. A message given up on is marked by given_up_at (it was
-- a due time in year 9999 before); claims and the pending count skip it, and
-- sent or given-up rows are deleted by PurgeMessages.

ALTER TABLE sigra_outbox ADD COLUMN given_up_at timestamptz;

-- Rows given up on by earlier releases: due in year 9999 and never sent.
-- The time they were given up on is unknown; the migration's time starts
-- their retention. Their bodies will never be sent: erase them.
UPDATE sigra_outbox
SET given_up_at = now(), sealed = ''::bytea
WHERE sent_at IS NULL AND next_attempt_at >= '9999-01-01 00:00:00+00';

DROP INDEX sigra_outbox_due_idx;
CREATE INDEX sigra_outbox_due_idx ON sigra_outbox (next_attempt_at, created_at, id)
    WHERE sent_at IS NULL AND given_up_at IS NULL;

-- PurgeMessages finds old sent and given-up rows through these.
CREATE INDEX sigra_outbox_sent_idx ON sigra_outbox (sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX sigra_outbox_given_up_idx ON sigra_outbox (given_up_at) WHERE given_up_at IS NOT NULL;
