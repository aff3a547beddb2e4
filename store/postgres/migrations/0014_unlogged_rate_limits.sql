-- +goose Up
-- The rate limits' counters, and the lockout's attempt places kept among
-- them, are state that a crash of the database may lose: UNLOGGED keeps
-- them out of the write-ahead log, so that a hit, a refund or a release
-- commits without waiting for a WAL flush. Nothing else changes: a commit
-- is visible to every other connection as before, and concurrent hits
-- still serialize on the key's row.
--
-- The price, by PostgreSQL's definition of an unlogged table: after a crash
-- of the database server (not of the application) the table comes back
-- empty, and so it is on a standby promoted by a failover (unlogged tables
-- are not replicated). Every window then starts again, and each account may
-- be admitted its window's attempts once more. The failure counts and the
-- locks on sigra_users stay logged: an account that was locked stays locked,
-- and the failures after the crash still lock it.

ALTER TABLE sigra_rate_limits SET UNLOGGED;
