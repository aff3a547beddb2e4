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

-- SET UNLOGGED rewrites the table under an exclusive lock, which holds up
-- every hit until the migration commits: the windows that ended over an
-- hour ago are deleted first (a hit treats an ended window as a new one, so
-- deleting them changes no count; the hour allows for the application's
-- and the database's clocks to differ), to leave little else to copy.

DELETE FROM sigra_rate_limits WHERE reset_at < now() - interval '1 hour';
ALTER TABLE sigra_rate_limits SET UNLOGGED;
