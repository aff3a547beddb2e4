-- +goose Up
-- Outbox retention. A message given up on is marked by given_up_at (it was
-- a due time in year 9999 before); claims and the pending count skip it, and
-- sent or given-up rows are deleted by PurgeMessages.

ALTER TABLE sigra_outbox ADD COLUMN given_up_at INTEGER;

-- Rows given up on by earlier releases: due in year 9999 and never sent.
-- The time they were given up on is unknown; the migration's time starts
-- their retention. Their bodies will never be sent: erase them.
UPDATE sigra_outbox
SET given_up_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000, sealed = NULL, lease_until = NULL
WHERE sent_at IS NULL AND next_attempt_at >= 253370764800000;

DROP INDEX sigra_outbox_due;
CREATE INDEX sigra_outbox_due ON sigra_outbox (next_attempt_at) WHERE sent_at IS NULL AND given_up_at IS NULL;

-- PurgeMessages finds old sent and given-up rows through these.
CREATE INDEX sigra_outbox_sent ON sigra_outbox (sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX sigra_outbox_given_up ON sigra_outbox (given_up_at) WHERE given_up_at IS NOT NULL;
