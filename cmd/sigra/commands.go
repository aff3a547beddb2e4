package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/kernel"
	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/mfa"
	"github.com/sigra-go/sigra/store"
)

// env is what every command gets: the global options and the outputs.
type env struct {
	target string
	json   bool
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	now    func() time.Time
}

// print writes v as JSON with -json, else text.
func (e *env) print(v any, text string) error {
	if e.json {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	_, err := io.WriteString(e.stdout, text)
	return err
}

const usage = `usage: sigra [-db DATABASE] [-json] COMMAND [ARGS]

  migrate up                  apply the embedded migrations
  migrate status              list the migrations, applied or pending
  users disable EMAIL         disable the account and revoke its sessions
  users enable EMAIL          enable a disabled account
  users unlock EMAIL          clear the account's locks and attempt counters
  users revoke-sessions EMAIL sign the account out everywhere
  users create-admin [-password-stdin] EMAIL
                              make EMAIL an administrator of the admin console; with no account,
                              create it, confirmed, with the password from standard input or a
                              generated one (printed once)
  users grant-admin EMAIL     make an existing account an administrator
  users revoke-admin EMAIL    remove an account's administrator role
  users import [-format csv|jsonl] [-dry-run] [-wrap-unsafe] [-keys KEYS] [-batch 500] [-progress] FILE
                              create accounts from a CSV or JSON Lines file (- for standard input)
  outbox status               count the queued emails
  outbox retry [-lease 2m]    make the emails waiting for a later attempt due now
  keys reseal [-keys KEYS] [-batch 500] [-dry-run]
                              seal the stored TOTP secrets and provider tokens again with the
                              primary key (the first of KEYS, default $SIGRA_KEYS), after a rotation
  hash calibrate [-target 250ms] [-memory 19MiB] [-max-memory 512MiB] [-threads 1]
                              find Argon2id parameters for this machine
  audit verify [-from N] [-to N] [-anchor ANCHOR|FILE] [-chain-key KEY] [-max-unsealed-age 1m] [-progress]
                              check the audit log's hash chain (exit 5 when broken)
  audit anchor [-chain-key KEY]
                              print the chain's anchor, to keep outside the database
  audit seal [-chain-key KEY] seal the audit rows not sealed yet
  audit export [-format csv|jsonl] [-o FILE] [-user ID] [-org ID] [-action A] [-since T] [-until T] [-progress]
                              write the audit log, newest first
  webhooks endpoints          list the webhook endpoints and their event types
  webhooks list [-dead] [-endpoint ID] [-limit 50] [-before ID]
                              list webhook deliveries, newest first: state, attempts, last error
  webhooks replay ID          queue a delivered or dead-lettered delivery again (same webhook-id)

DATABASE is a SQLite file or a postgres:// URL (default $SIGRA_DATABASE).
`

// dispatch parses the global flags and runs the command.
func dispatch(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	e := &env{stdin: os.Stdin, stdout: stdout, stderr: stderr, getenv: getenv, now: func() time.Time { return time.Now().UTC() }}
	fs := flag.NewFlagSet("sigra", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	fs.StringVar(&e.target, "db", getenv(EnvDatabase), "the database: a SQLite file or a postgres:// URL")
	fs.BoolVar(&e.json, "json", false, "print JSON instead of text")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return nil
		}
		return fail(exitUsage, "%v", err)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return fail(exitUsage, "no command")
	}
	switch cmd, sub := rest[0], rest[1:]; cmd {
	case "migrate":
		return e.migrate(ctx, sub)
	case "users":
		return e.users(ctx, sub)
	case "outbox":
		return e.outbox(ctx, sub)
	case "hash":
		return e.hash(ctx, sub)
	case "audit":
		return e.audit(ctx, sub)
	case "keys":
		return e.keys(ctx, sub)
	case "webhooks":
		return e.webhooks(ctx, sub)
	default:
		fs.Usage()
		return fail(exitUsage, "unknown command %q", cmd)
	}
}

// one returns the single argument of a subcommand.
func one(what string, args []string) (string, error) {
	if len(args) != 1 || args[0] == "" {
		return "", fail(exitUsage, "%s takes one argument, got %d", what, len(args))
	}
	return args[0], nil
}

// ---- migrate ----

type migrationJSON struct {
	Version   int        `json:"version"`
	Name      string     `json:"name"`
	Applied   bool       `json:"applied"`
	AppliedAt *time.Time `json:"applied_at,omitempty"`
	Unknown   bool       `json:"unknown,omitempty"`
}

func (e *env) migrate(ctx context.Context, args []string) error {
	if len(args) != 1 || (args[0] != "up" && args[0] != "status") {
		return fail(exitUsage, "migrate takes up or status")
	}
	up := args[0] == "up"
	d, err := open(ctx, e.target, up)
	if err != nil {
		return err
	}
	defer d.close()
	before, err := d.MigrationStatus(ctx)
	if err != nil {
		return fmt.Errorf("read the migrations: %w", err)
	}
	if !up {
		return e.printMigrations(before)
	}
	if err := d.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	after, err := d.MigrationStatus(ctx)
	if err != nil {
		return fmt.Errorf("read the migrations: %w", err)
	}
	var applied []string
	for i, m := range after {
		if !m.AppliedAt.IsZero() && (i >= len(before) || before[i].AppliedAt.IsZero()) {
			applied = append(applied, fmt.Sprintf("%04d_%s", m.Version, m.Name))
		}
	}
	text := "nothing to apply: the schema is up to date\n"
	if len(applied) > 0 {
		text = "applied " + strings.Join(applied, ", ") + "\n"
	}
	return e.print(map[string]any{"applied": nonNil(applied)}, text)
}

func (e *env) printMigrations(ms []store.MigrationState) error {
	out := make([]migrationJSON, len(ms))
	var b strings.Builder
	for i, m := range ms {
		out[i] = migrationJSON{Version: m.Version, Name: m.Name, Applied: !m.AppliedAt.IsZero(), Unknown: m.Unknown}
		state := "pending"
		if !m.AppliedAt.IsZero() {
			at := m.AppliedAt
			out[i].AppliedAt = &at
			state = "applied " + at.Format(time.RFC3339)
		}
		if m.Unknown {
			state += " (not in this build: applied by a newer one)"
		}
		fmt.Fprintf(&b, "%04d_%-24s %s\n", m.Version, m.Name, state)
	}
	return e.print(map[string]any{"migrations": out}, b.String())
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ---- users ----

func (e *env) users(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fail(exitUsage, "users takes disable, enable, unlock or revoke-sessions and an address, or import and a file")
	}
	action, rest := args[0], args[1:]
	switch action {
	case "disable", "enable", "unlock", "revoke-sessions":
	case "import":
		return e.importUsers(ctx, rest)
	case "create-admin":
		return e.createAdmin(ctx, rest)
	case "grant-admin", "revoke-admin":
		return e.grantAdmin(ctx, rest, action == "grant-admin")
	default:
		return fail(exitUsage, "unknown users command %q (disable, enable, unlock, revoke-sessions, import, create-admin, grant-admin, revoke-admin)", action)
	}
	email, err := one("users "+action, rest)
	if err != nil {
		return err
	}
	d, err := open(ctx, e.target, false)
	if err != nil {
		return err
	}
	defer d.close()
	u, err := d.userByEmail(ctx, email)
	if err != nil {
		return err
	}
	log, err := audit.New(audit.Config{Store: d, Now: e.now})
	if err != nil {
		return err
	}
	now := e.now()
	via := map[string]string{"via": "cli"}
	record := func(ctx context.Context, action string, meta map[string]string) error {
		return log.Record(ctx, audit.Event{Action: action, SubjectID: u.ID, Outcome: audit.OutcomeSuccess, Metadata: meta})
	}
	var text string
	result := map[string]any{"user": u.ID, "email": u.Email, "action": action}
	err = d.InTx(ctx, func(ctx context.Context) error {
		switch action {
		case "disable":
			if !u.DisabledAt.IsZero() {
				text = fmt.Sprintf("%s was already disabled (since %s)\n", u.Email, u.DisabledAt.Format(time.RFC3339))
				result["changed"] = false
				return nil
			}
			if err := d.SetDisabled(ctx, u.ID, now, now); err != nil {
				return err
			}
			text = fmt.Sprintf("disabled %s and revoked its sessions\n", u.Email)
			result["changed"] = true
			return record(ctx, audit.ActionUserDisable, via)
		case "enable":
			if u.DisabledAt.IsZero() {
				text = fmt.Sprintf("%s was not disabled\n", u.Email)
				result["changed"] = false
				return nil
			}
			if err := d.SetDisabled(ctx, u.ID, time.Time{}, now); err != nil {
				return err
			}
			text = fmt.Sprintf("enabled %s\n", u.Email)
			result["changed"] = true
			return record(ctx, audit.ActionUserEnable, via)
		case "unlock":
			for _, l := range []store.Lock{store.LockPassword, store.LockMFA} {
				if err := d.ClearFailures(ctx, u.ID, l, now); err != nil {
					return err
				}
			}
			for _, key := range append([]string{kernel.PasswordKey(u.Email)}, mfa.LimiterKeys(u.ID)...) {
				if err := d.ResetLimit(ctx, key); err != nil {
					return err
				}
			}
			text = fmt.Sprintf("cleared the locks and attempt counters of %s\n", u.Email)
			result["changed"] = true
			return record(ctx, audit.ActionUnlock, via)
		default: // revoke-sessions
			n, err := d.RevokeUserSessions(ctx, u.ID, nil, now)
			if err != nil {
				return err
			}
			text = fmt.Sprintf("revoked %d sessions of %s\n", n, u.Email)
			result["revoked"], result["changed"] = n, n > 0
			return record(ctx, audit.ActionSessionRevokeAll, map[string]string{"via": "cli", "revoked": fmt.Sprint(n)})
		}
	})
	if err != nil {
		return fmt.Errorf("users %s %s: %w", action, email, err)
	}
	return e.print(result, text)
}

// ---- outbox ----

func (e *env) outbox(ctx context.Context, args []string) error {
	if len(args) >= 1 && args[0] == "retry" {
		return e.outboxRetry(ctx, args[1:])
	}
	if len(args) != 1 || args[0] != "status" {
		return fail(exitUsage, "outbox takes status or retry")
	}
	d, err := open(ctx, e.target, false)
	if err != nil {
		return err
	}
	defer d.close()
	n, err := d.PendingMessages(ctx)
	if err != nil {
		return fmt.Errorf("count the queued emails: %w", err)
	}
	return e.print(map[string]any{"pending": n}, fmt.Sprintf("%d emails queued (not yet sent, not given up)\n", n))
}

// outboxRetry makes the queued emails that wait for a later attempt due
// now, so the application's outbox worker sends them at its next poll
// (after the mail server came back). Messages due within -lease, which a
// worker may hold, are left alone. Given-up messages cannot be retried:
// their bodies were erased.
func (e *env) outboxRetry(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("outbox retry", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	lease := fs.Duration("lease", mail.DefaultLease, "the application's outbox lease (mail.OutboxConfig.Lease): messages due within it are left to the workers")
	if err := fs.Parse(args); err != nil {
		return fail(exitUsage, "%v", err)
	}
	if fs.NArg() > 0 {
		return fail(exitUsage, "outbox retry takes no arguments, got %q", fs.Args())
	}
	if *lease <= 0 {
		return fail(exitUsage, "-lease %v: want a positive duration", *lease)
	}
	d, err := open(ctx, e.target, false)
	if err != nil {
		return err
	}
	defer d.close()
	now := e.now()
	n, err := d.RetryMessages(ctx, now, now.Add(*lease))
	if err != nil {
		return fmt.Errorf("retry the queued emails: %w", err)
	}
	return e.print(map[string]any{"retried": n}, fmt.Sprintf("%d queued emails made due now (the application's outbox sends them at its next poll)\n", n))
}

// ---- hash ----

func (e *env) hash(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "calibrate" {
		return fail(exitUsage, "hash takes calibrate")
	}
	fs := flag.NewFlagSet("hash calibrate", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	target := fs.Duration("target", 250*time.Millisecond, "the time one hash should take")
	memory := fs.String("memory", "19MiB", "the memory of one hash (KiB, MiB or GiB)")
	maxMemory := fs.String("max-memory", "512MiB", "the most memory the hashing pool may use at once")
	threads := fs.Uint("threads", 1, "the parallelism of one hash")
	if err := fs.Parse(args[1:]); err != nil {
		return fail(exitUsage, "%v", err)
	}
	if fs.NArg() > 0 {
		return fail(exitUsage, "hash calibrate takes no arguments, got %q", fs.Args())
	}
	mem, err := parseSize(*memory)
	if err != nil {
		return fail(exitUsage, "-memory: %v", err)
	}
	maxMem, err := parseSize(*maxMemory)
	if err != nil {
		return fail(exitUsage, "-max-memory: %v", err)
	}
	switch {
	case *target < time.Millisecond || *target > time.Minute:
		return fail(exitUsage, "-target %v: want between 1ms and 1m", *target)
	case *threads < 1 || *threads > 255:
		return fail(exitUsage, "-threads %d: want 1 to 255", *threads)
	case uint(mem) < 8**threads:
		return fail(exitUsage, "-memory: Argon2id needs at least 8 KiB per thread")
	case maxMem < mem:
		return fail(exitUsage, "-max-memory %s is less than one hash's -memory %s", *maxMemory, *memory)
	}
	c, err := calibrate(ctx, *target, mem, uint8(*threads))
	if err != nil {
		return err
	}
	pool := min(int(maxMem/mem), max(1, runtime.GOMAXPROCS(0)))
	res := map[string]any{
		"memory_kib": c.memory, "time": c.time, "threads": c.threads,
		"measured_ms": float64(c.took.Microseconds()) / 1000, "pool_size": pool,
		"peak_memory_kib": uint64(pool) * uint64(c.memory),
	}
	text := fmt.Sprintf(`Argon2id on this machine (%d CPUs):
  password.Params{Memory: %d, Time: %d, Threads: %d}   one hash: %v (target %v)
  password.Config{PoolSize: %d}                          peak memory %s of the %s allowed
`, runtime.GOMAXPROCS(0), c.memory, c.time, c.threads, c.took.Round(time.Millisecond), *target,
		pool, formatSize(uint64(pool)*uint64(c.memory)), *maxMemory)
	return e.print(res, text)
}

// parseSize reads a memory size: a number of KiB, or a number with KiB,
// MiB or GiB. It returns KiB.
func parseSize(s string) (uint32, error) {
	units := []struct {
		suffix string
		kib    uint64
	}{{"GiB", 1 << 20}, {"MiB", 1 << 10}, {"KiB", 1}}
	mult := uint64(1)
	num := s
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = n, u.kib
			break
		}
	}
	var n uint64
	if _, err := fmt.Sscanf(num, "%d", &n); err != nil || fmt.Sprint(n) != num || n == 0 {
		return 0, fmt.Errorf("%q is not a size such as 19MiB, 1GiB or 65536 (KiB)", s)
	}
	kib := n * mult
	if kib > 1<<32-1 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return uint32(kib), nil
}

// formatSize writes a KiB count in the largest whole unit.
func formatSize(kib uint64) string {
	switch {
	case kib%(1<<20) == 0:
		return fmt.Sprintf("%dGiB", kib>>20)
	case kib%(1<<10) == 0:
		return fmt.Sprintf("%dMiB", kib>>10)
	}
	return fmt.Sprintf("%dKiB", kib)
}
