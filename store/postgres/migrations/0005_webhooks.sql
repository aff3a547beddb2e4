-- +goose Up
-- Webhooks (package webhook): endpoints subscribed to event types, with
-- their signing secrets sealed (the current one and, during a rotation's
-- overlap, the one it replaced), and the queue of deliveries, one per event
-- and endpoint. A delivery's id is its webhook-id. A claim takes due rows
-- with FOR UPDATE SKIP LOCKED and moves next_attempt_at to the end of its
-- lease.

CREATE TABLE sigra_webhook_endpoints (
    id                    text        PRIMARY KEY,
    url                   text        NOT NULL,
    event_types           text[]      NOT NULL,
    secret                bytea       NOT NULL,
    secret_key_id         text        NOT NULL,
    secret_created_at     timestamptz NOT NULL,
    old_secret            bytea,
    old_secret_key_id     text,
    old_secret_created_at timestamptz,
    old_secret_expires_at timestamptz,
    enabled               boolean     NOT NULL DEFAULT true,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL
);

CREATE TABLE sigra_webhook_deliveries (
    id              text        PRIMARY KEY,
    endpoint_id     text        NOT NULL REFERENCES sigra_webhook_endpoints (id) ON DELETE CASCADE,
    event_type      text        NOT NULL,
    payload         bytea       NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_status     integer     NOT NULL DEFAULT 0,
    last_error      text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    delivered_at    timestamptz,
    dead_at         timestamptz
);

CREATE INDEX sigra_webhook_deliveries_due_idx ON sigra_webhook_deliveries (next_attempt_at, created_at, id)
    WHERE delivered_at IS NULL AND dead_at IS NULL;
CREATE INDEX sigra_webhook_deliveries_endpoint_idx ON sigra_webhook_deliveries (endpoint_id);
