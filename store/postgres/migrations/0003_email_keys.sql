-- +goose Up
-- Address keys, version 2. sigra_meta holds facts about the stored data
-- that the library, not the schema, maintains. email_key_version says
-- which version of store.NormalizeEmail (store.EmailKeyVersion) computed
-- the email_norm columns of sigra_users and sigra_email_reservations. This
-- file records version 1, the key of earlier releases (NFC, lower case);
-- DB.Migrate then recomputes the keys in Go (NFKC case folding, IDNA
-- domains) and records version 2. A host that applies these files with its
-- own tool calls DB.RekeyEmails once they are applied.

CREATE TABLE sigra_meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

INSERT INTO sigra_meta (key, value) VALUES ('email_key_version', '1');
