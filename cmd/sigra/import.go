package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/kernel"
	"github.com/sigra-go/sigra/mfa"
	"github.com/sigra-go/sigra/password"
	"github.com/sigra-go/sigra/store"
)

// EnvKeys names the environment variable that gives the keys TOTP secrets
// are sealed with when -keys is not set: the application's keys, in
// mfa.Config.Keys' format ("id:base64key[,...]").
const EnvKeys = "SIGRA_KEYS"

// importColumns are the columns (CSV) and keys (JSON Lines) of an import
// file; only email is required.
var importColumns = []string{"email", "confirmed", "hash", "created", "totp_secret"}

// Bounds of the import.
const (
	maxImportLine   = 64 << 10 // bytes of one JSON line
	maxTextProblems = 20       // problems listed in the text report
	minTOTPSecret   = 16       // bytes of a TOTP secret
	maxBatch        = 10000
)

// importRecord is one record of the file, its fields as text.
type importRecord struct {
	line   int
	fields map[string]string
	err    string // the record could not be read: why
}

// recordReader reads an import file record by record; next returns io.EOF
// at the end, and an error for a file it cannot go on reading.
type recordReader interface {
	next() (importRecord, error)
}

// ---- CSV ----

type csvReader struct {
	r    *csv.Reader
	cols []string
}

func newCSVReader(in io.Reader) (*csvReader, error) {
	r := csv.NewReader(in)
	r.ReuseRecord = true
	header, err := r.Read()
	if err == io.EOF {
		return nil, errors.New("the CSV file is empty: want a header row (email, confirmed, hash, created, totp_secret)")
	}
	if err != nil {
		return nil, fmt.Errorf("the CSV header: %v", err)
	}
	cols := make([]string, len(header))
	seen := map[string]bool{}
	var unknown []string
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		h = strings.ToLower(strings.TrimSpace(h))
		cols[i] = h
		switch {
		case !slices.Contains(importColumns, h):
			unknown = append(unknown, fmt.Sprintf("%q", h))
		case seen[h]:
			return nil, fmt.Errorf("line 1: the column %q appears twice", h)
		}
		seen[h] = true
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("line 1: unknown columns %s (known: %s)", strings.Join(unknown, ", "), strings.Join(importColumns, ", "))
	}
	if !seen["email"] {
		return nil, fmt.Errorf("line 1: no email column (columns: %s; only email is required)", strings.Join(importColumns, ", "))
	}
	return &csvReader{r: r, cols: cols}, nil
}

func (c *csvReader) next() (importRecord, error) {
	row, err := c.r.Read()
	if err == io.EOF {
		return importRecord{}, io.EOF
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return importRecord{line: pe.StartLine, err: pe.Err.Error()}, nil
	}
	if err != nil {
		return importRecord{}, err
	}
	line, _ := c.r.FieldPos(0)
	rec := importRecord{line: line, fields: make(map[string]string, len(row))}
	for i, v := range row {
		rec.fields[c.cols[i]] = v
	}
	return rec, nil
}

// ---- JSON Lines ----

type jsonlReader struct {
	r    *bufio.Reader
	line int
	buf  []byte
}

func newJSONLReader(in io.Reader) *jsonlReader {
	return &jsonlReader{r: bufio.NewReaderSize(in, 64<<10)}
}

func (j *jsonlReader) next() (importRecord, error) {
	for {
		j.buf = j.buf[:0]
		tooLong := false
		for {
			chunk, isPrefix, err := j.r.ReadLine()
			if err == io.EOF && len(j.buf) == 0 && !tooLong {
				return importRecord{}, io.EOF
			}
			if err != nil && err != io.EOF {
				return importRecord{}, err
			}
			if !tooLong {
				if len(j.buf)+len(chunk) > maxImportLine {
					tooLong = true
				} else {
					j.buf = append(j.buf, chunk...)
				}
			}
			if !isPrefix || err == io.EOF {
				break
			}
		}
		j.line++
		if tooLong {
			return importRecord{line: j.line, err: fmt.Sprintf("the line is longer than %d bytes", maxImportLine)}, nil
		}
		if len(strings.TrimSpace(string(j.buf))) == 0 {
			continue // blank lines separate nothing
		}
		return j.parse(j.buf), nil
	}
}

func (j *jsonlReader) parse(b []byte) importRecord {
	rec := importRecord{line: j.line}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		rec.err = "not a JSON object: " + err.Error()
		return rec
	}
	var unknown []string
	for k := range obj {
		if !slices.Contains(importColumns, k) {
			unknown = append(unknown, fmt.Sprintf("%q", k))
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		rec.err = fmt.Sprintf("unknown keys %s (known: %s)", strings.Join(unknown, ", "), strings.Join(importColumns, ", "))
		return rec
	}
	rec.fields = make(map[string]string, len(obj))
	for k, raw := range obj {
		var s string
		switch v := strings.TrimSpace(string(raw)); {
		case v == "null":
		case k == "confirmed" && (v == "true" || v == "false"):
			s = v
		default:
			if err := json.Unmarshal(raw, &s); err != nil {
				if k == "confirmed" {
					rec.err = fmt.Sprintf("%s: want true, false or a string", k)
				} else {
					rec.err = fmt.Sprintf("%s: want a string", k)
				}
				rec.fields = nil
				return rec
			}
		}
		rec.fields[k] = s
	}
	return rec
}

// ---- validation ----

// importUser is a valid record, ready to store.
type importUser struct {
	line   int
	user   store.User
	format string // the hash's format; "" without a password
	totp   string // base32, upper case, no padding; "" without TOTP
}

// validator turns records into users.
type validator struct {
	hasher *password.Hasher
	wrap   bool // -wrap-unsafe
	keys   string
	now    time.Time
	dryRun bool
}

// validate checks rec; a refusal is the reason, for the report.
func (v *validator) validate(ctx context.Context, rec importRecord) (*importUser, string) {
	f := rec.fields
	raw := f["email"]
	if strings.TrimSpace(raw) == "" {
		return nil, "email: empty"
	}
	addr, ok := kernel.ParseEmail(raw)
	if !ok {
		return nil, fmt.Sprintf("email %q: %s", raw, kernel.EmailProblem(raw))
	}
	u := &importUser{line: rec.line, user: store.User{Email: addr, CreatedAt: v.now}}
	if s := strings.TrimSpace(f["created"]); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, fmt.Sprintf("created %q: not an RFC 3339 time such as 2024-05-01T12:00:00Z", s)
		}
		if t.After(v.now) {
			return nil, fmt.Sprintf("created %q: in the future", s)
		}
		u.user.CreatedAt = t.UTC()
	}
	switch s := strings.ToLower(strings.TrimSpace(f["confirmed"])); s {
	case "", "false", "0", "no":
	case "true", "1", "yes":
		u.user.EmailConfirmedAt = v.now
	default:
		t, err := time.Parse(time.RFC3339Nano, f["confirmed"])
		if err != nil {
			return nil, fmt.Sprintf("confirmed %q: want true, false, 1, 0, yes, no or an RFC 3339 time", f["confirmed"])
		}
		if t.After(v.now) {
			return nil, fmt.Sprintf("confirmed %q: in the future", f["confirmed"])
		}
		u.user.EmailConfirmedAt = t.UTC()
	}
	if h := f["hash"]; h != "" {
		format, err := v.hasher.CheckHash(h)
		switch {
		case err == nil:
			u.user.PasswordHash, u.format = h, format
		case errors.Is(err, password.ErrUnsafeHash) && v.wrap:
			u.format = "sigra-wrap"
			u.user.PasswordHash = "(wrapped when written)"
			if !v.dryRun {
				w, err := v.hasher.Wrap(ctx, h)
				if err != nil {
					return nil, fmt.Sprintf("hash: wrap: %v", err)
				}
				u.user.PasswordHash = w
			}
		case errors.Is(err, password.ErrUnsafeHash):
			return nil, "hash: an unsalted MD5 or SHA-1 digest, unsafe to store as it is: import it wrapped with -wrap-unsafe"
		default:
			return nil, fmt.Sprintf("hash: %v", trimErr(err))
		}
	}
	if s := f["totp_secret"]; strings.TrimSpace(s) != "" {
		secret, problem := normalizeTOTP(s)
		if problem != "" {
			return nil, "totp_secret: " + problem
		}
		if v.keys == "" {
			return nil, fmt.Sprintf("totp_secret: sealing it needs the application's keys (-keys or %s)", EnvKeys)
		}
		u.totp = secret
	}
	return u, ""
}

// trimErr drops the package prefix of a password error for the report.
func trimErr(err error) string {
	return strings.TrimPrefix(err.Error(), "sigra/password: ")
}

// normalizeTOTP reads a base32 TOTP secret (either case, spaces and padding
// allowed) and returns it in upper case without padding, as the mfa package
// stores secrets.
func normalizeTOTP(s string) (string, string) {
	s = strings.ToUpper(strings.Join(strings.Fields(s), ""))
	s = strings.TrimRight(s, "=")
	b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
	if err != nil {
		return "", "not valid base32 (A-Z and 2-7)"
	}
	if len(b) < minTOTPSecret {
		return "", fmt.Sprintf("%d bytes, want at least %d (%d base32 characters)", len(b), minTOTPSecret, (minTOTPSecret*8+4)/5)
	}
	return s, ""
}

// ---- the command ----

// importProblem is a record that was not imported (invalid, or its write
// failed), or a duplicate.
type importProblem struct {
	Line   int    `json:"line"`
	Email  string `json:"email,omitempty"`
	Reason string `json:"reason"`
}

// importReport is the outcome of users import.
type importReport struct {
	Format     string          `json:"format"`
	DryRun     bool            `json:"dry_run"`
	Read       int             `json:"read"`
	Imported   int             `json:"imported"`
	Existing   int             `json:"existing"`
	Duplicates int             `json:"duplicates"`
	Invalid    int             `json:"invalid"`
	Failed     int             `json:"failed"`
	TOTP       int             `json:"totp"`
	Hashes     map[string]int  `json:"hashes"`
	Wrapped    bool            `json:"allow_wrapped_required"`
	Problems   []importProblem `json:"invalid_records"`
	Duplicated []importProblem `json:"duplicate_records"`
	Stopped    string          `json:"stopped,omitempty"`
}

const importUsage = `usage: sigra users import [flags] FILE
  FILE is a CSV file with a header row, or JSON Lines; - reads standard input.
`

func (e *env) importUsers(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("users import", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, importUsage); fs.PrintDefaults() }
	format := fs.String("format", "", "csv or jsonl (default: from the file's extension .csv, .jsonl or .ndjson; required for -)")
	dryRun := fs.Bool("dry-run", false, "validate everything and report, write nothing")
	wrapUnsafe := fs.Bool("wrap-unsafe", false, "import unsalted MD5 and SHA-1 digests wrapped in Argon2id (the application must set password.Config.AllowWrapped)")
	batch := fs.Int("batch", 500, "records per transaction")
	keys := fs.String("keys", e.getenv(EnvKeys), "the application's keys that seal TOTP secrets (default $"+EnvKeys+")")
	progress := fs.Bool("progress", false, "print progress on standard error after each batch (the default when it is a terminal)")
	// Flags may come before or after FILE.
	var files []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if err == flag.ErrHelp {
				return nil
			}
			return fail(exitUsage, "%v", err)
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(files) != 1 || files[0] == "" {
		return fail(exitUsage, "users import takes one FILE (or - for standard input), got %d", len(files))
	}
	file := files[0]
	if *batch < 1 || *batch > maxBatch {
		return fail(exitUsage, "-batch %d: want 1 to %d", *batch, maxBatch)
	}
	switch {
	case *format != "":
	case file == "-":
		return fail(exitUsage, "reading standard input needs -format csv or -format jsonl")
	default:
		switch strings.ToLower(filepath.Ext(file)) {
		case ".csv":
			*format = "csv"
		case ".jsonl", ".ndjson":
			*format = "jsonl"
		default:
			return fail(exitUsage, "cannot tell the format of %q from its extension: give -format csv or -format jsonl", file)
		}
	}
	if *format != "csv" && *format != "jsonl" {
		return fail(exitUsage, "-format %q: want csv or jsonl", *format)
	}
	if *keys != "" {
		if _, err := mfa.SealSecret(*keys, "check", "check"); err != nil {
			return fail(exitUsage, "-keys: %v", err)
		}
	}
	hasher, err := password.New(password.Config{AllowWrapped: *wrapUnsafe})
	if err != nil {
		return err
	}
	var in io.Reader = e.stdin
	var size int64 // the file's size, 0 when unknown (standard input)
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return fail(exitUsage, "open the import file: %v", err)
		}
		defer f.Close()
		in = f
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			size = st.Size()
		}
	}
	read := &countingReader{r: in}
	in = read
	d, err := open(ctx, e.target, false)
	if err != nil {
		return err
	}
	defer d.close()
	log, err := audit.New(audit.Config{Store: d, Now: e.now})
	if err != nil {
		return err
	}

	var rr recordReader
	if *format == "csv" {
		c, err := newCSVReader(in)
		if err != nil {
			return fail(exitFailed, "nothing imported: %v", err)
		}
		rr = c
	} else {
		rr = newJSONLReader(in)
	}

	im := &importer{
		env: e, db: d, log: log, dryRun: *dryRun,
		meter: newMeter(e.stderr, *progress, isTerminal(e.stderr), "import", "bytes", size),
		read:  read,
		v:     &validator{hasher: hasher, wrap: *wrapUnsafe, keys: *keys, now: e.now(), dryRun: *dryRun},
		seen:  map[[16]byte]int{},
		rep:   importReport{Format: *format, DryRun: *dryRun, Hashes: map[string]int{}, Problems: []importProblem{}, Duplicated: []importProblem{}},
	}
	runErr := im.run(ctx, rr, *batch)
	im.meter.done()
	rep := &im.rep
	slices.SortStableFunc(rep.Problems, func(a, b importProblem) int { return a.Line - b.Line })
	if runErr != nil {
		rep.Stopped = runErr.Error()
	}
	if err := e.print(rep, im.text()); err != nil {
		return err
	}
	switch {
	case runErr != nil && ctx.Err() != nil:
		return fail(exitFailed, "interrupted after %d records; run the same import again to resume (imported accounts are skipped as existing)", rep.Read)
	case runErr != nil:
		return fail(exitFailed, "stopped after %d records: %v; run the same import again to resume", rep.Read, runErr)
	case rep.Invalid+rep.Failed > 0:
		verb := "were not imported"
		if *dryRun {
			verb = "would not be imported"
		}
		return fail(exitFailed, "%d records %s (%d invalid, %d failed to write)", rep.Invalid+rep.Failed, verb, rep.Invalid, rep.Failed)
	}
	return nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// importer is one run of users import.
type importer struct {
	*env
	db     *database
	log    *audit.Logger
	dryRun bool
	// meter shows the progress after each batch, in bytes of the file
	// read through read.
	meter   *meter
	read    *countingReader
	v       *validator
	seen    map[[16]byte]int // the key's digest of each valid address, and its line
	pending []*importUser
	rep     importReport
}

func (im *importer) run(ctx context.Context, rr recordReader, batch int) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := rr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read the import file: %w", err)
		}
		im.rep.Read++
		if rec.err != "" {
			im.invalid(rec.line, "", rec.err)
			continue
		}
		u, reason := im.v.validate(ctx, rec)
		if reason != "" {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			im.invalid(rec.line, rec.fields["email"], reason)
			continue
		}
		sum := sha256.Sum256([]byte(store.NormalizeEmail(u.user.Email)))
		var key [16]byte
		copy(key[:], sum[:])
		if first, ok := im.seen[key]; ok {
			im.rep.Duplicates++
			im.rep.Duplicated = append(im.rep.Duplicated, importProblem{Line: rec.line, Email: u.user.Email, Reason: fmt.Sprintf("the same address as line %d", first)})
			continue
		}
		im.seen[key] = rec.line
		im.pending = append(im.pending, u)
		if len(im.pending) >= batch {
			if err := im.flush(ctx); err != nil {
				return err
			}
		}
	}
	return im.flush(ctx)
}

func (im *importer) invalid(line int, email, reason string) {
	if !utf8.ValidString(email) {
		email = strings.ToValidUTF8(email, "\uFFFD")
	}
	if len(email) > 256 {
		email = email[:256]
	}
	im.rep.Invalid++
	im.rep.Problems = append(im.rep.Problems, importProblem{Line: line, Email: email, Reason: reason})
}

// outcome of one user's write.
type outcome int

const (
	outcomeImported outcome = iota
	outcomeExisting
)

// flush writes the pending users in one transaction (or, in a dry run,
// only looks them up). If the transaction fails, each user is written in
// its own, so that one refused record (an address reserved by another
// account's pending email change) does not hold back the others; any
// other failure stops the import.
func (im *importer) flush(ctx context.Context) error {
	batch := im.pending
	im.pending = im.pending[:0]
	if len(batch) == 0 {
		return nil
	}
	outcomes := make([]outcome, len(batch))
	err := im.writeAll(ctx, batch, outcomes)
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	if err == nil {
		for i, u := range batch {
			im.count(u, outcomes[i])
		}
	} else {
		// One at a time: a failure is that record's alone.
		for _, u := range batch {
			var o [1]outcome
			if err := im.writeAll(ctx, []*importUser{u}, o[:]); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if !errors.Is(err, store.ErrConflict) {
					// Not this record's fault (the database refused or
					// broke off): stop, to be resumed.
					return fmt.Errorf("write line %d: %w", u.line, err)
				}
				im.rep.Failed++
				im.rep.Problems = append(im.rep.Problems, importProblem{Line: u.line, Email: u.user.Email,
					Reason: "write: the address is reserved by another account's pending email change"})
				continue
			}
			im.count(u, o[0])
		}
	}
	im.meter.update(im.read.n.Load(), fmt.Sprintf("%d read, %d imported, %d existing, %d duplicates, %d invalid",
		im.rep.Read, im.rep.Imported, im.rep.Existing, im.rep.Duplicates, im.rep.Invalid+im.rep.Failed))
	return nil
}

func (im *importer) count(u *importUser, o outcome) {
	if o == outcomeExisting {
		im.rep.Existing++
		return
	}
	im.rep.Imported++
	if u.format != "" {
		im.rep.Hashes[u.format]++
		if u.format == "sigra-wrap" {
			im.rep.Wrapped = true
		}
	}
	if u.totp != "" {
		im.rep.TOTP++
	}
}

// writeAll creates the users of batch that do not exist yet, in one
// transaction, and records each outcome; a dry run only looks them up.
func (im *importer) writeAll(ctx context.Context, batch []*importUser, outcomes []outcome) error {
	if im.dryRun {
		for i, u := range batch {
			o, err := im.exists(ctx, u)
			if err != nil {
				return err
			}
			outcomes[i] = o
		}
		return nil
	}
	return im.db.InTx(ctx, func(ctx context.Context) error {
		for i, u := range batch {
			o, err := im.exists(ctx, u)
			if err != nil {
				return err
			}
			outcomes[i] = o
			if o == outcomeExisting {
				continue
			}
			nu := u.user // a copy: a rolled-back attempt leaves u as it was
			if err := im.db.CreateUser(ctx, &nu); err != nil {
				return err
			}
			if u.totp != "" {
				sealed, err := mfa.SealSecret(im.v.keys, nu.ID, u.totp)
				if err != nil {
					return err
				}
				if err := im.db.SavePendingTOTP(ctx, &store.TOTPSecret{UserID: nu.ID, Sealed: sealed, CreatedAt: im.v.now}); err != nil {
					return err
				}
				// Confirmed with a step before those a challenge accepts
				// now, so the user's current code signs in.
				if err := im.db.UseTOTPStep(ctx, nu.ID, im.v.now.Unix()/mfa.Period-2, true, im.v.now); err != nil {
					return err
				}
			}
			if err := im.log.Record(ctx, audit.Event{Action: audit.ActionRegister, SubjectID: nu.ID, Outcome: audit.OutcomeSuccess,
				Metadata: map[string]string{"via": "import"}}); err != nil {
				return err
			}
		}
		return nil
	})
}

func (im *importer) exists(ctx context.Context, u *importUser) (outcome, error) {
	_, err := im.db.UserByEmail(ctx, u.user.Email)
	switch {
	case err == nil:
		return outcomeExisting, nil
	case errors.Is(err, store.ErrNotFound):
		return outcomeImported, nil
	}
	return 0, fmt.Errorf("look up %s: %w", u.user.Email, err)
}

// text is the report for people.
func (im *importer) text() string {
	r := &im.rep
	var b strings.Builder
	verb := "imported"
	if r.DryRun {
		b.WriteString("dry run: nothing written\n")
		verb = "would import"
	}
	fmt.Fprintf(&b, "%d records read (%s): %s %d, %d existing (skipped), %d duplicates, %d invalid", r.Read, r.Format, verb, r.Imported, r.Existing, r.Duplicates, r.Invalid)
	if r.Failed > 0 {
		fmt.Fprintf(&b, ", %d failed to write", r.Failed)
	}
	b.WriteString("\n")
	if len(r.Hashes) > 0 {
		formats := make([]string, 0, len(r.Hashes))
		for f := range r.Hashes {
			formats = append(formats, f)
		}
		slices.Sort(formats)
		b.WriteString("password hashes:")
		for _, f := range formats {
			fmt.Fprintf(&b, " %s %d;", f, r.Hashes[f])
		}
		b.WriteString("\n")
	}
	if r.TOTP > 0 {
		fmt.Fprintf(&b, "TOTP secrets: %d\n", r.TOTP)
	}
	list := func(title string, ps []importProblem) {
		if len(ps) == 0 {
			return
		}
		b.WriteString(title + ":\n")
		for i, p := range ps {
			if i == maxTextProblems {
				fmt.Fprintf(&b, "  ... and %d more (-json lists them all)\n", len(ps)-i)
				break
			}
			fmt.Fprintf(&b, "  line %d: %s\n", p.Line, p.Reason)
		}
	}
	if r.Stopped != "" {
		fmt.Fprintf(&b, "stopped before the end of the file (%s): the records read since the last batch were not written\n", r.Stopped)
	}
	list("not imported", r.Problems)
	list("duplicates (the first of each address wins)", r.Duplicated)
	if r.Wrapped {
		b.WriteString("note: unsafe digests were stored wrapped in Argon2id: the application must set password.Config.AllowWrapped to verify them\n")
	}
	return b.String()
}
