-- +goose Up
-- The tamper-evident audit chain (package audit: Chain).
--
-- sigra_audit_log.seq: the row's place in the chain from 1, NULL while the
-- row is not sealed; prev_hash and hash: the previous row's hash and the
-- row's own (HMAC-SHA256 or SHA-256), NULL while unsealed.
-- sigra_audit_chain_head: one row, the last sealed seq and hash; a sealer
-- moves it only from the head it computed its seals from.

ALTER TABLE sigra_audit_log ADD COLUMN seq INTEGER;
ALTER TABLE sigra_audit_log ADD COLUMN prev_hash BLOB;
ALTER TABLE sigra_audit_log ADD COLUMN hash BLOB;

CREATE UNIQUE INDEX sigra_audit_seq ON sigra_audit_log (seq) WHERE seq IS NOT NULL;
CREATE INDEX sigra_audit_unsealed ON sigra_audit_log (at, id) WHERE seq IS NULL;

CREATE TABLE sigra_audit_chain_head (
    id        INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    seq       INTEGER NOT NULL,
    hash      BLOB    NOT NULL,
    sealed_at INTEGER NOT NULL
);

INSERT INTO sigra_audit_chain_head (id, seq, hash, sealed_at) VALUES (1, 0, x'', 0);
