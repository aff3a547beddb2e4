// Command sigra is the operator's tool for a Sigra database: the same
// SQLite file or PostgreSQL database an application uses, while the
// application runs.
//
//	go run github.com/sigra-go/sigra/cmd/sigra -db app.db migrate status
//	sigra -db "postgres://app@db.example.com/app" users disable user@example.com
//
// The database is -db, or the environment variable SIGRA_DATABASE: a
// postgres:// or postgresql:// URL names a PostgreSQL database (its
// search_path selects the schema), anything else a SQLite file. Every
// command but "migrate up" refuses a database without Sigra's schema (a
// wrong path or DSN, a file of another application); "migrate up" creates
// the schema, in a new file or beside the application's own tables, and
// refuses a file that is not a SQLite database.
//
// Commands:
//
//	migrate up                  apply the embedded migrations (safe while the app runs)
//	migrate status              list the migrations, applied or pending
//	users disable EMAIL         disable the account and revoke its sessions
//	users enable EMAIL          enable a disabled account
//	users unlock EMAIL          clear the password and second-factor locks and attempt counters
//	users revoke-sessions EMAIL sign the account out everywhere
//	users import FILE           create accounts from a CSV or JSON Lines file (below)
//	outbox status               count the queued emails
//	outbox retry [-lease 2m]    make the emails waiting for a later attempt due now
//	                            (after the mail server came back); messages due within
//	                            the lease, which a worker may hold, are left alone, and
//	                            given-up ones cannot be retried (their bodies are erased)
//	keys reseal                 seal stored secrets again with the primary key (below)
//	hash calibrate              find Argon2id parameters for a target time on this machine
//	audit verify                check the audit log's hash chain (below)
//	audit anchor                print the chain's anchor, to keep outside the database
//	audit seal                  seal the rows not sealed yet (the application does it as it runs)
//	audit export                write the audit log as CSV or JSON Lines
//	webhooks endpoints          list the webhook endpoints and their event types
//	webhooks list               list webhook deliveries: state, attempts, last error (below)
//	webhooks replay ID          queue a delivered or dead-lettered delivery again
//
// Each change to an account is recorded in the audit log (account.disable,
// account.enable, security.unlock, session.revoke_all) with "via": "cli"
// and no actor.
//
// # Rotating the sealing keys
//
// TOTP secrets and provider tokens are stored sealed with the
// application's keys ("id:base64key[,...]", the first sealing, the others
// still opening: SIGRA_KEYS or -keys). To rotate: put a new key first and
// keep the old ones after it in the application's configuration, restart
// it (new values are sealed with the new key), then run
//
//	sigra keys reseal -keys "new:...,old:..."
//
// which reads every stored TOTP secret and provider token in batches
// (-batch) and seals each that is not under the primary key again with it,
// writing it only if the application did not change it meanwhile (a
// value it wrote is under the new key already). It prints, per kind, how
// many were re-sealed, already current, changed meanwhile, and could not
// be opened; -dry-run counts without writing. It exits 1 when some value
// could not be opened with the keys given: keep the key that sealed it.
// When it reports none left under the old key, the old key can be
// removed. Queued emails and webhook endpoints' signing secrets are
// sealed with the same keys but are not re-sealed by it: queued emails
// are sent or given up, and a webhook secret sealed with the old key
// keeps needing it until webhook.Webhooks.RotateSecret replaces it.
//
// # Importing users
//
// "users import FILE" creates accounts from another system's users, with
// their password hashes, so that they sign in with the passwords they
// have; FILE - reads standard input. The file is CSV with a header row, or
// JSON Lines (one object per line), chosen by -format csv|jsonl or else by
// the extension (.csv, .jsonl, .ndjson). Its columns, or keys, are:
//
//	email        required; refused as the sign-up form refuses it
//	confirmed    true, false, 1, 0, yes, no, or the RFC 3339 time of the confirmation
//	hash         empty for no password, else a hash package password verifies
//	created      RFC 3339; default now
//	totp_secret  base32, at least 16 bytes: the user's authenticator, already confirmed
//
// An unknown column refuses the whole CSV file, an unknown key its JSON
// line. Each hash is checked without computing (format and cost limits:
// password.Hasher.CheckHash): Argon2id and Argon2i PHC strings, bcrypt,
// Django's and Better Auth's formats. Unsalted MD5 and SHA-1 digests are
// refused unless -wrap-unsafe, which stores them wrapped in Argon2id; the
// application must then set password.Config.AllowWrapped. The users move to
// Argon2id as they sign in. TOTP secrets are sealed with the application's
// keys, -keys or SIGRA_KEYS, which a file holding secrets requires.
//
// Addresses are compared by their key (case, Unicode form and the domain's
// IDNA form folded): within the file the first record of an address wins
// and later ones are reported as duplicates; an address that already has
// an account is skipped and reported as existing, and no existing account
// is ever changed. Records are read one at a time and written in
// transactions of -batch records (default 500), each created account
// audited as auth.register with "via": "import". An interrupted import is
// resumed by running the same command again: what was imported is then
// existing. -dry-run validates everything and writes nothing. The report
// counts the records read, imported, existing, duplicates and invalid
// (with each invalid record's line and reason), and the hashes per format;
// on a terminal a progress bar (the share of the file read) is redrawn on
// standard error; elsewhere -progress prints a line after each batch. The
// exit code is 0 when every record was imported or
// existed, 1 when any was invalid or failed to write (the others are still
// imported).
//
// # The audit log
//
// The application seals its audit rows into a hash chain as it runs (see
// package audit, "Tamper evidence"). "audit verify [-from N] [-to N]
// [-anchor ANCHOR|FILE] [-max-unsealed-age 1m] [-progress]" walks the chain
// from row N to row N (default: all of it) and reports the first broken
// link: a row changed, deleted or moved after sealing, a head that is not
// the last row, or, with -anchor, rows removed from the end since the
// anchor was taken. -anchor takes an anchor or a file of anchors, one a
// line, and may be repeated. It also warns of rows left unsealed for longer
// than -max-unsealed-age. The exit code is 5 when the chain is broken.
// "audit anchor" prints the current anchor, one line: append it
// periodically to a file the database's writers cannot change. "audit
// seal" seals what is waiting, for when the application is not running.
// The three take the application's chain key with -chain-key or
// SIGRA_AUDIT_CHAIN_KEY (none: the chain is plain SHA-256).
//
// "audit export [-format csv|jsonl] [-o FILE] [-user ID] [-org ID] [-action
// ACTION] [-since TIME] [-until TIME]" writes the matching events, newest
// first, a page at a time (never the whole log in memory), to standard
// output or to a new file -o; CSV cells that a spreadsheet would run as a
// formula are defused. On a terminal the count of rows written is redrawn
// on standard error; elsewhere -progress prints a line every 10,000 rows.
// "audit verify" shows a bar of the rows checked the same way.
//
// # Webhooks
//
// "webhooks list [-dead] [-endpoint ID] [-limit 50] [-before ID]" lists
// the deliveries of package webhook, newest first: each one's state
// (queued, delivered or dead), attempts, last HTTP status and last error,
// and its endpoint; -dead keeps the dead letter (deliveries given up after
// their last attempt), -endpoint one endpoint's, and when the page is full
// the last line names the -before of the next. "webhooks replay ID" queues
// a delivered or dead delivery again, due now, with the same webhook-id
// (the receiver's idempotency key), and records webhook.replay in the
// audit log with "via": "cli"; a delivery still queued exits 1, an unknown
// one 4. The application's worker sends it. "webhooks endpoints" lists the
// endpoints, their event types and whether they are enabled.
//
// With -json, a command prints one JSON object on standard output instead
// of text; errors go to standard error either way.
//
// Exit codes:
//
//	0  done
//	1  the command failed (the database refused or broke off), or an import
//	   had invalid records
//	2  usage: an unknown command or flag, a missing argument
//	3  the database: unreachable, not a database, or without Sigra's schema
//	4  not found: no account has that address, no delivery that ID
//	5  audit verify found the audit chain broken (edited, deleted,
//	   reordered or truncated rows)
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes.
const (
	exitOK       = 0
	exitFailed   = 1
	exitUsage    = 2
	exitDatabase = 3
	exitNotFound = 4
	exitTampered = 5
)

// EnvDatabase names the environment variable that gives the database when
// -db is not set.
const EnvDatabase = "SIGRA_DATABASE"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// cliError is a failure with its exit code.
type cliError struct {
	code int
	err  error
}

func (e *cliError) Error() string { return e.err.Error() }
func (e *cliError) Unwrap() error { return e.err }

func fail(code int, format string, args ...any) error {
	return &cliError{code: code, err: fmt.Errorf(format, args...)}
}

// run runs the command line args and returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	err := dispatch(ctx, args, getenv, stdout, stderr)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "sigra:", err)
	if ce, ok := err.(*cliError); ok {
		return ce.code
	}
	return exitFailed
}
