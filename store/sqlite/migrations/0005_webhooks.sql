-- +goose Up
-- Webhooks (package webhook): endpoints subscribed to event types, with
-- their signing secrets sealed (the current one and, during a rotation's
-- overlap, the one it replaced), and the queue of deliveries, one per event
-- and endpoint. A delivery's id is its webhook-id. event_types is a JSON
-- array of strings. A claim moves next_attempt_at to the end of its lease.

CREATE TABLE sigra_webhook_endpoints (
    id                    TEXT    PRIMARY KEY,
    url                   TEXT    NOT NULL,
    event_types           TEXT    NOT NULL,
    secret                BLOB    NOT NULL,
    secret_key_id         TEXT    NOT NULL,
    secret_created_at     INTEGER NOT NULL,
    old_secret            BLOB,
    old_secret_key_id     TEXT,
    old_secret_created_at INTEGER,
    old_secret_expires_at INTEGER,
    enabled               INTEGER NOT NULL DEFAULT 1,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);

CREATE TABLE sigra_webhook_deliveries (
    id              TEXT    PRIMARY KEY,
    endpoint_id     TEXT    NOT NULL REFERENCES sigra_webhook_endpoints (id) ON DELETE CASCADE,
    event_type      TEXT    NOT NULL,
    payload         BLOB    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER,
    dead_at         INTEGER
);

CREATE INDEX sigra_webhook_deliveries_due ON sigra_webhook_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND dead_at IS NULL;
CREATE INDEX sigra_webhook_deliveries_endpoint ON sigra_webhook_deliveries (endpoint_id);
