-- +goose Up
-- Organization policy and the organization of audit events (package org).
--
-- sigra_orgs.require_two_factor: members who signed in with one factor
-- add a second before they reach the organization (0 or 1).
-- sigra_audit_log.org_id: the organization an event happened in, '' when
-- none; the partial index serves one organization's events, newest first.

ALTER TABLE sigra_orgs ADD COLUMN require_two_factor INTEGER NOT NULL DEFAULT 0;

ALTER TABLE sigra_audit_log ADD COLUMN org_id TEXT NOT NULL DEFAULT '';

CREATE INDEX sigra_audit_org ON sigra_audit_log (org_id, at, id) WHERE org_id <> '';
