package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/store"
)

// EnvAuditChainKey names the environment variable that gives the audit
// chain's key when -chain-key is not set.
const EnvAuditChainKey = "SIGRA_AUDIT_CHAIN_KEY"

// exportProgressEvery is how many rows audit export writes between two
// progress lines.
const exportProgressEvery = 10000

func (e *env) audit(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fail(exitUsage, "audit takes verify, anchor, seal or export")
	}
	switch args[0] {
	case "verify":
		return e.auditVerify(ctx, args[1:])
	case "anchor":
		return e.auditAnchor(ctx, args[1:])
	case "seal":
		return e.auditSeal(ctx, args[1:])
	case "export":
		return e.auditExport(ctx, args[1:])
	default:
		return fail(exitUsage, "unknown audit command %q (verify, anchor, seal, export)", args[0])
	}
}

// chainFlags adds -chain-key to fs and returns a function building the
// chain on d from it.
func (e *env) chainFlags(fs *flag.FlagSet) func(ctx context.Context, d *database, maxAge time.Duration) (*audit.Chain, error) {
	key := fs.String("chain-key", e.getenv(EnvAuditChainKey), "the audit chain's key, base64 (default $"+EnvAuditChainKey+"; none: plain SHA-256)")
	return func(ctx context.Context, d *database, maxAge time.Duration) (*audit.Chain, error) {
		if err := requireChain(ctx, d); err != nil {
			return nil, err
		}
		var k []byte
		if *key != "" {
			var err error
			if k, err = audit.ParseChainKey(*key); err != nil {
				return nil, fail(exitUsage, "-chain-key: %v", err)
			}
		}
		return audit.NewChain(audit.ChainConfig{Store: d, Key: k, MaxUnsealedAge: maxAge, Now: e.now})
	}
}

// requireChain fails with exitDatabase when the database lacks the audit
// chain's migration (a database of an older build not migrated since).
func requireChain(ctx context.Context, d *database) error {
	ms, err := d.MigrationStatus(ctx)
	if err != nil {
		return fail(exitDatabase, "read the migrations: %v", err)
	}
	for _, m := range ms {
		if m.Name == "audit_chain" && m.AppliedAt.IsZero() {
			return fail(exitDatabase, "the %s database has no audit chain yet: run \"sigra migrate up\" (migration %04d_%s)", d.kind, m.Version, m.Name)
		}
	}
	return nil
}

// parseFlags parses a subcommand's flags, refusing arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return fail(exitUsage, "%v", err)
	}
	if fs.NArg() > 0 {
		return fail(exitUsage, "%s takes no arguments, got %q", fs.Name(), fs.Args())
	}
	return nil
}

// ---- audit verify ----

// verifyJSON is the -json output of audit verify.
type verifyJSON struct {
	OK bool `json:"ok"`
	*audit.Report
}

func (e *env) auditVerify(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	chain := e.chainFlags(fs)
	from := fs.Int64("from", 0, "the first sequence number to check (default 1)")
	to := fs.Int64("to", 0, "the last sequence number to check (default the head)")
	maxAge := fs.Duration("max-unsealed-age", audit.DefaultMaxUnsealedAge, "report rows unsealed for longer than this")
	progress := fs.Bool("progress", false, "print progress on standard error (the default when it is a terminal)")
	var anchors []audit.Anchor
	fs.Func("anchor", "an anchor printed by \"audit anchor\", or a file of them, one a line (repeatable)", func(v string) error {
		as, err := readAnchors(v)
		anchors = append(anchors, as...)
		return err
	})
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *from < 0 || *to < 0 || (*to != 0 && *to < *from) {
		return fail(exitUsage, "-from %d -to %d: want 1 <= from <= to", *from, *to)
	}
	if *maxAge <= 0 {
		return fail(exitUsage, "-max-unsealed-age %v: want a positive duration", *maxAge)
	}
	d, err := open(ctx, e.target, false)
	if err != nil {
		return err
	}
	defer d.close()
	c, err := chain(ctx, d, *maxAge)
	if err != nil {
		return err
	}
	opt := audit.VerifyOptions{From: *from, To: *to, Anchors: anchors}
	var total int64
	if tty := isTerminal(e.stderr); tty {
		last := *to
		if last == 0 {
			if a, err := c.Anchor(ctx); err == nil {
				last = a.Seq
			}
		}
		total = last - max(*from, 1) + 1
	}
	m := newMeter(e.stderr, *progress, isTerminal(e.stderr), "verify", "rows", max(total, 0))
	opt.Progress = func(checked, seq int64) {
		m.update(checked, fmt.Sprintf("%d rows checked (up to seq %d)", checked, seq))
	}
	r, err := c.Verify(ctx, opt)
	m.done()
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	var b strings.Builder
	switch {
	case r.To < r.From:
		fmt.Fprintf(&b, "no sealed rows to check (the head is at %d)\n", r.Head.Seq)
	default:
		fmt.Fprintf(&b, "checked %d rows of %d..%d (the head is at %d)\n", r.Checked, r.From, r.To, r.Head.Seq)
	}
	if r.Anchors > 0 {
		fmt.Fprintf(&b, "checked against %d anchors\n", r.Anchors)
	}
	if r.Broken != nil {
		fmt.Fprintf(&b, "BROKEN at seq %d (%s): %s\n", r.Broken.Seq, r.Broken.Reason, r.Broken.Detail)
	} else {
		b.WriteString("the chain is intact\n")
	}
	if r.Unsealed > 0 {
		fmt.Fprintf(&b, "warning: %d rows are still unsealed since before %s: is the application's sealer running?\n",
			r.Unsealed, r.UnsealedBefore.Format(time.RFC3339))
	}
	if err := e.print(verifyJSON{OK: r.OK(), Report: r}, b.String()); err != nil {
		return err
	}
	if !r.OK() {
		return fail(exitTampered, "the audit chain is broken at seq %d (%s)", r.Broken.Seq, r.Broken.Reason)
	}
	return nil
}

// readAnchors reads the value of -anchor: an anchor, or the name of a file
// holding anchors one a line (blank lines and lines starting with # are
// skipped).
func readAnchors(v string) ([]audit.Anchor, error) {
	if a, err := audit.ParseAnchor(v); err == nil {
		return []audit.Anchor{a}, nil
	}
	if strings.HasPrefix(strings.TrimSpace(v), "sigra-audit-anchor/") {
		_, err := audit.ParseAnchor(v)
		return nil, err
	}
	f, err := os.Open(v)
	if err != nil {
		return nil, fmt.Errorf("neither an anchor nor a file of anchors: %w", err)
	}
	defer f.Close()
	var as []audit.Anchor
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		a, err := audit.ParseAnchor(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", v, n, err)
		}
		as = append(as, a)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", v, err)
	}
	if len(as) == 0 {
		return nil, fmt.Errorf("%s holds no anchor", v)
	}
	return as, nil
}

// ---- audit anchor ----

func (e *env) auditAnchor(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("audit anchor", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	chain := e.chainFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	d, err := open(ctx, e.target, false)
	if err != nil {
		return err
	}
	defer d.close()
	c, err := chain(ctx, d, 0)
	if err != nil {
		return err
	}
	a, err := c.Anchor(ctx)
	if err != nil {
		return fmt.Errorf("audit anchor: %w", err)
	}
	if a.Seq == 0 {
		return fail(exitFailed, "no audit row is sealed yet: nothing to anchor (is the application's sealer running? \"sigra audit seal\" seals now)")
	}
	return e.print(map[string]any{"anchor": a, "seq": a.Seq, "hash": fmt.Sprintf("%x", a.Hash), "at": a.At}, a.String()+"\n")
}

// ---- audit seal ----

func (e *env) auditSeal(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("audit seal", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	chain := e.chainFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	d, err := open(ctx, e.target, false)
	if err != nil {
		return err
	}
	defer d.close()
	c, err := chain(ctx, d, 0)
	if err != nil {
		return err
	}
	total := 0
	for {
		n, err := c.Seal(ctx)
		if err != nil {
			return fmt.Errorf("audit seal: %w", err)
		}
		if n == 0 {
			break
		}
		total += n
	}
	a, err := c.Anchor(ctx)
	if err != nil {
		return fmt.Errorf("audit seal: %w", err)
	}
	return e.print(map[string]any{"sealed": total, "head": a.Seq}, fmt.Sprintf("sealed %d rows; the head is at %d\n", total, a.Seq))
}

// ---- audit export ----

func (e *env) auditExport(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("audit export", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	format := fs.String("format", "csv", "csv or jsonl")
	out := fs.String("o", "", "write to this file instead of standard output")
	user := fs.String("user", "", "only events whose actor or subject is this user ID")
	org := fs.String("org", "", "only events of this organization ID")
	action := fs.String("action", "", "only events of this action")
	since := fs.String("since", "", "only events at or after this RFC 3339 time")
	until := fs.String("until", "", "only events before this RFC 3339 time")
	progress := fs.Bool("progress", false, "print progress on standard error (the default when it is a terminal)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *format != "csv" && *format != "jsonl" {
		return fail(exitUsage, "-format %q: want csv or jsonl", *format)
	}
	q := store.AuditQuery{UserID: *user, OrgID: *org, Action: *action}
	for _, t := range []struct {
		name, v string
		dst     *time.Time
	}{{"since", *since, &q.Since}, {"until", *until, &q.Until}} {
		if t.v == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339Nano, t.v)
		if err != nil {
			return fail(exitUsage, "-%s %q: want an RFC 3339 time such as 2026-03-14T15:09:26Z", t.name, t.v)
		}
		*t.dst = v.UTC()
	}
	d, err := open(ctx, e.target, false)
	if err != nil {
		return err
	}
	defer d.close()
	log, err := audit.New(audit.Config{Store: d})
	if err != nil {
		return err
	}
	// Check the filters before creating the output file.
	if _, _, err := log.Query(ctx, store.AuditQuery{UserID: q.UserID, OrgID: q.OrgID, Action: q.Action, Since: q.Since, Until: q.Until, Limit: 1}); err != nil {
		if errors.Is(err, audit.ErrInvalidQuery) {
			return fail(exitUsage, "%v", err)
		}
		return fmt.Errorf("audit export: %w", err)
	}

	var w io.Writer = e.stdout
	var file *os.File
	if *out != "" && *out != "-" {
		if file, err = os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
			return fail(exitFailed, "audit export: %v", err)
		}
		defer file.Close()
		w = file
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	m := newMeter(e.stderr, *progress, isTerminal(e.stderr), "export", "rows", 0)
	var csvw *audit.CSVWriter
	if *format == "csv" {
		csvw = audit.NewCSVWriter(bw)
	}
	rows := 0
	for {
		page, next, err := log.Query(ctx, q)
		if err != nil {
			return fmt.Errorf("audit export: after %d rows: %w", rows, err)
		}
		if csvw != nil {
			err = csvw.Write(page...)
		} else {
			err = audit.WriteJSONLines(bw, page)
		}
		if err != nil {
			return fmt.Errorf("audit export: %w", err)
		}
		before := rows
		rows += len(page)
		if m.tty || rows/exportProgressEvery > before/exportProgressEvery {
			m.update(int64(rows), fmt.Sprintf("%d rows exported", rows))
		}
		if next == "" {
			break
		}
		q.After = next
	}
	m.done()
	if csvw != nil {
		if err := csvw.Flush(); err != nil {
			return fmt.Errorf("audit export: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	if file == nil {
		return nil
	}
	if err := file.Close(); err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	return e.print(map[string]any{"rows": rows, "file": *out, "format": *format},
		fmt.Sprintf("exported %d rows to %s\n", rows, *out))
}
