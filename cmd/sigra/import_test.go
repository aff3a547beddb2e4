package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/mfa"
	"github.com/sigra-go/sigra/password"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/ui"
)

// testKeys are sealing keys in mfa.Config.Keys' format.
var testKeys = "k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))

// interopFixture is a hash of password/testdata/interop.tsv.
type interopFixture struct {
	expect, password, hash string
}

func readInterop(t *testing.T) []interopFixture {
	t.Helper()
	b, err := os.ReadFile("../../password/testdata/interop.tsv")
	if err != nil {
		t.Fatal(err)
	}
	var out []interopFixture
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			t.Fatalf("interop.tsv: %q: want 4 fields", line)
		}
		out = append(out, interopFixture{f[1], f[2], f[3]})
	}
	return out
}

// writeFile writes a file in a temporary directory and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// report decodes a -json import report.
func report(t *testing.T, r result) importReport {
	t.Helper()
	var rep importReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("the -json report: %v: %q (stderr %q)", err, r.stdout, r.stderr)
	}
	return rep
}

func (rep importReport) want(t *testing.T, what string, read, imported, existing, duplicates, invalid int) {
	t.Helper()
	if rep.Read != read || rep.Imported != imported || rep.Existing != existing || rep.Duplicates != duplicates || rep.Invalid != invalid || rep.Failed != 0 {
		t.Fatalf("%s: got read %d imported %d existing %d duplicates %d invalid %d failed %d, want %d %d %d %d %d 0\nproblems: %+v",
			what, rep.Read, rep.Imported, rep.Existing, rep.Duplicates, rep.Invalid, rep.Failed, read, imported, existing, duplicates, invalid, rep.Problems)
	}
}

// openDB opens the backend's database with everything the commands use.
func openDB(t *testing.T, target string) *database {
	t.Helper()
	d, err := open(context.Background(), target, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.close)
	return d
}

func TestImport(t *testing.T) {
	t.Parallel()
	for name, mk := range map[string]func(*testing.T) backend{"sqlite": sqliteBackend, "postgres": postgresBackend} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := mk(t)
			env := []string{EnvDatabase + "=" + b.target}
			runCLI(t, env, "migrate", "up").want(t, "migrate up", exitOK)
			d := openDB(t, b.target)
			t.Run("foreign hashes", func(t *testing.T) { importForeign(t, d, env) })
			t.Run("jsonl and totp", func(t *testing.T) { importJSONL(t, d, env) })
			t.Run("invalid records", func(t *testing.T) { importInvalid(t, d, env) })
			t.Run("resume", func(t *testing.T) { importResume(t, d, env) })
		})
	}
}

// importForeign imports every verifiable hash of interop.tsv from CSV,
// then checks each with the password package; the unsafe digests are
// refused, then imported wrapped.
func importForeign(t *testing.T, d *database, env []string) {
	ctx := context.Background()
	var csv, unsafe strings.Builder
	csv.WriteString("email,confirmed,hash,created\n")
	unsafe.WriteString("email,hash\n")
	type want struct{ email, password, hash string }
	var good, wrapped []want
	formats := map[string]bool{}
	checker, err := password.New(password.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for i, fx := range readInterop(t) {
		email := fmt.Sprintf("foreign%d@example.com", i)
		switch fx.expect {
		case "current", "rehash":
			fmt.Fprintf(&csv, "%s,true,%q,2021-03-04T05:06:07Z\n", email, fx.hash)
			good = append(good, want{email, fx.password, fx.hash})
			f, err := checker.CheckHash(fx.hash)
			if err != nil {
				t.Fatal(err)
			}
			formats[f] = true
		case "unsafe":
			fmt.Fprintf(&unsafe, "%s,%s\n", email, fx.hash)
			wrapped = append(wrapped, want{email, fx.password, fx.hash})
		}
	}
	file := writeFile(t, "users.csv", csv.String())
	r := runCLI(t, env, "-json", "users", "import", file)
	r.want(t, "import foreign hashes", exitOK)
	rep := report(t, r)
	rep.want(t, "import foreign hashes", len(good), len(good), 0, 0, 0)
	total := 0
	for f, n := range rep.Hashes {
		if !formats[f] {
			t.Errorf("report counts a format %q no fixture has", f)
		}
		total += n
	}
	if total != len(good) || len(rep.Hashes) != len(formats) {
		t.Errorf("hash formats: got %v, want %d hashes in the formats %v", rep.Hashes, len(good), formats)
	}
	verified := map[string]bool{}
	for _, w := range good {
		u, err := d.UserByEmail(ctx, w.email)
		if err != nil {
			t.Fatalf("%s: %v", w.email, err)
		}
		if u.PasswordHash != w.hash || u.EmailConfirmedAt.IsZero() || !u.CreatedAt.Equal(time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)) {
			t.Errorf("%s: got hash %q confirmed %v created %v, want the fixture's hash, confirmed, created 2021-03-04T05:06:07Z", w.email, u.PasswordHash, u.EmailConfirmedAt, u.CreatedAt)
		}
		// The stored hash is the fixture's, byte for byte; one of each
		// format is verified too (the password package verifies them all).
		if f, _ := checker.CheckHash(u.PasswordHash); !verified[f] {
			verified[f] = true
			if ok, _, err := checker.Verify(ctx, w.password, u.PasswordHash); !ok || err != nil {
				t.Errorf("%s: Verify: got (%v, %v), want the password to match", w.email, ok, err)
			}
		}
		evs, _, err := d.QueryAudit(ctx, store.AuditQuery{Action: audit.ActionRegister, UserID: u.ID, Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 || evs[0].ActorID != "" || evs[0].Metadata["via"] != "import" {
			t.Errorf("%s: got audit %+v, want one auth.register with via import and no actor", w.email, evs)
		}
	}

	// Unsalted digests: refused, nothing stored; then wrapped.
	file = writeFile(t, "unsafe.csv", unsafe.String())
	r = runCLI(t, env, "-json", "users", "import", file)
	r.want(t, "import unsafe", exitFailed)
	rep = report(t, r)
	rep.want(t, "import unsafe", len(wrapped), 0, 0, 0, len(wrapped))
	for i, p := range rep.Problems {
		if p.Line != i+2 || !strings.Contains(p.Reason, "-wrap-unsafe") {
			t.Errorf("problem %d: got %+v, want line %d and a reason naming -wrap-unsafe", i, p, i+2)
		}
	}
	for _, w := range wrapped {
		if _, err := d.UserByEmail(ctx, w.email); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s: a refused record was stored (%v)", w.email, err)
		}
	}
	r = runCLI(t, env, "users", "import", "-wrap-unsafe", file)
	r.want(t, "import -wrap-unsafe", exitOK, fmt.Sprintf("imported %d", len(wrapped)), "password.Config.AllowWrapped")
	unwrapping, err := password.New(password.Config{AllowWrapped: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range wrapped {
		u, err := d.UserByEmail(ctx, w.email)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(u.PasswordHash, "$sigra-wrap$") || strings.Contains(u.PasswordHash, w.hash) {
			t.Errorf("%s: got hash %q, want a wrapped hash without the digest", w.email, u.PasswordHash)
		}
		if ok, rehash, err := unwrapping.Verify(ctx, w.password, u.PasswordHash); !ok || !rehash || err != nil {
			t.Errorf("%s: Verify: got (%v, %v, %v), want (true, true, nil)", w.email, ok, rehash, err)
		}
	}
}

// importJSONL imports JSON Lines with confirmation times and TOTP
// secrets, first as a dry run.
func importJSONL(t *testing.T, d *database, env []string) {
	ctx := context.Background()
	const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" // 20 bytes
	lines := []string{
		`{"email": "totp@example.com", "confirmed": true, "totp_secret": "jbsw y3dp ehpk 3pxp jbsw y3dp ehpk 3pxp"}`,
		``,
		`{"email": "later@example.com", "confirmed": "2022-01-02T03:04:05Z", "created": "2021-01-01T00:00:00Z", "hash": null}`,
		`{"email": "plain@example.com"}`,
	}
	file := writeFile(t, "users.ndjson", strings.Join(lines, "\n")+"\n")

	withKeys := append([]string{EnvKeys + "=" + testKeys}, env...)
	r := runCLI(t, withKeys, "-json", "users", "import", "-dry-run", file)
	r.want(t, "dry run", exitOK)
	rep := report(t, r)
	rep.want(t, "dry run", 3, 3, 0, 0, 0)
	if !rep.DryRun {
		t.Error("dry run: the report does not say so")
	}
	for _, e := range []string{"totp@example.com", "later@example.com", "plain@example.com"} {
		if _, err := d.UserByEmail(ctx, e); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("dry run stored %s (%v)", e, err)
		}
	}

	// Without keys, the record with a TOTP secret is refused.
	r = runCLI(t, env, "-json", "users", "import", "-dry-run", file)
	r.want(t, "dry run without keys", exitFailed)
	if rep := report(t, r); rep.Invalid != 1 || rep.Problems[0].Line != 1 || !strings.Contains(rep.Problems[0].Reason, EnvKeys) {
		t.Errorf("dry run without keys: got %+v, want line 1 refused for want of keys", rep.Problems)
	}

	r = runCLI(t, withKeys, "users", "import", file)
	r.want(t, "import jsonl", exitOK, "imported 3", "TOTP secrets: 1")
	u, err := d.UserByEmail(ctx, "totp@example.com")
	if err != nil {
		t.Fatal(err)
	}
	s, err := d.TOTPByUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s.ConfirmedAt.IsZero() {
		t.Error("the imported TOTP secret is not confirmed")
	}
	if got, err := mfa.OpenSecret(testKeys, u.ID, s.Sealed); got != secret || err != nil {
		t.Errorf("OpenSecret: got (%q, %v), want %q", got, err, secret)
	}
	// The current step is still free: the user's current code will sign in.
	now := time.Now()
	if err := d.UseTOTPStep(ctx, u.ID, now.Unix()/mfa.Period, false, now); err != nil {
		t.Errorf("UseTOTPStep at the current step: %v", err)
	}
	later, err := d.UserByEmail(ctx, "later@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !later.EmailConfirmedAt.Equal(time.Date(2022, 1, 2, 3, 4, 5, 0, time.UTC)) || later.PasswordHash != "" {
		t.Errorf("later@example.com: got confirmed %v hash %q, want 2022-01-02T03:04:05Z and no password", later.EmailConfirmedAt, later.PasswordHash)
	}
	if p, err := d.UserByEmail(ctx, "plain@example.com"); err != nil || !p.EmailConfirmedAt.IsZero() {
		t.Errorf("plain@example.com: got %+v (%v), want unconfirmed", p, err)
	}

	// The same file again: every account exists, none is changed.
	r = runCLI(t, withKeys, "-json", "users", "import", file)
	r.want(t, "import jsonl again", exitOK)
	report(t, r).want(t, "import jsonl again", 3, 0, 3, 0, 0)
}

// importInvalid imports a file of bad records beside good ones: the good
// ones are stored, the bad ones reported with their lines, and nothing of
// them stored.
func importInvalid(t *testing.T, d *database, env []string) {
	ctx := context.Background()
	file := writeFile(t, "bad.csv", strings.Join([]string{
		"Email,hash,confirmed,created,totp_secret",
		"good1@example.com,,,,",
		"not-an-address,,,,",
		"badhash@example.com,$2b$10$tooshort,,,",
		"badtime@example.com,,,yesterday,",
		"badconfirm@example.com,,maybe,,",
		"base32@example.com,,,,not base32!",
		"short@example.com,,,,JBSWY3DPEHPK3PXP",
		"future@example.com,,,2999-01-01T00:00:00Z,",
		"GOOD1@EXAMPLE.COM,,,,",
		"good2@example.com,,,,",
		"plain@example.com,,,,",
		"a,b",
	}, "\n")+"\n")
	r := runCLI(t, env, "-json", "users", "import", file)
	r.want(t, "import bad", exitFailed)
	rep := report(t, r)
	rep.want(t, "import bad", 12, 2, 1, 1, 8)
	wantLines := map[int]string{3: "valid email", 4: "hash", 5: "created", 6: "confirmed", 7: "base32", 8: "at least 16", 9: "future", 13: "number of fields"}
	for _, p := range rep.Problems {
		if w, ok := wantLines[p.Line]; !ok || !strings.Contains(p.Reason, w) {
			t.Errorf("line %d: got %q, want a reason with %q", p.Line, p.Reason, w)
		}
	}
	if len(rep.Duplicated) != 1 || rep.Duplicated[0].Line != 10 || !strings.Contains(rep.Duplicated[0].Reason, "line 2") {
		t.Errorf("duplicates: got %+v, want line 10, the same as line 2", rep.Duplicated)
	}
	for _, e := range []string{"badhash@example.com", "badtime@example.com", "badconfirm@example.com", "base32@example.com", "short@example.com", "future@example.com"} {
		if _, err := d.UserByEmail(ctx, e); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: an invalid record was stored (%v)", e, err)
		}
	}
	// An address reserved by another account's pending email change is
	// refused by the store: that record fails, the rest of its batch is
	// written.
	owner, err := d.UserByEmail(ctx, "plain@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.ReserveEmail(ctx, owner.ID, "reserved@example.com", time.Now().Add(time.Hour), time.Now()); err != nil {
		t.Fatal(err)
	}
	file2 := writeFile(t, "reserved.csv", "email\nbefore@example.com\nreserved@example.com\nafter@example.com\n")
	r = runCLI(t, env, "-json", "users", "import", file2)
	r.want(t, "import a reserved address", exitFailed)
	rep = report(t, r)
	if rep.Imported != 2 || rep.Failed != 1 || len(rep.Problems) != 1 || rep.Problems[0].Line != 3 || !strings.Contains(rep.Problems[0].Reason, "reserved") {
		t.Errorf("import a reserved address: got imported %d failed %d problems %+v, want 2, 1 and line 3 reserved", rep.Imported, rep.Failed, rep.Problems)
	}
	if _, err := d.UserByEmail(ctx, "reserved@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the reserved address was given an account (%v)", err)
	}

	// The text report lists them with their lines.
	r = runCLI(t, env, "users", "import", file)
	r.want(t, "import bad, text", exitFailed, "line 3: email", "line 10: the same address as line 2", "1 duplicates", "3 existing")

	// A CSV file with unknown columns is refused whole.
	file = writeFile(t, "cols.csv", "email,password,role\nnew@example.com,x,admin\n")
	r = runCLI(t, env, "users", "import", file)
	r.want(t, "unknown columns", exitFailed)
	if !strings.Contains(r.stderr, `unknown columns "password", "role"`) {
		t.Errorf("unknown columns: stderr %q does not name them", r.stderr)
	}
	if _, err := d.UserByEmail(ctx, "new@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused file stored a record (%v)", err)
	}
	// A JSON line with an unknown key or a wrong type is refused alone.
	file = writeFile(t, "keys.jsonl", `{"email": "k1@example.com", "role": "admin"}`+"\n"+`{"email": "k2@example.com", "confirmed": 5}`+"\nnot json\n"+`{"email": "k3@example.com"}`+"\n")
	r = runCLI(t, env, "-json", "users", "import", file)
	r.want(t, "unknown keys", exitFailed)
	rep = report(t, r)
	rep.want(t, "unknown keys", 4, 1, 0, 0, 3)
	if !strings.Contains(rep.Problems[0].Reason, `unknown keys "role"`) || rep.Problems[1].Line != 2 || rep.Problems[2].Line != 3 {
		t.Errorf("unknown keys: got %+v", rep.Problems)
	}
}

// importResume imports half of a file, as an interrupted import leaves
// it, then the whole file: every account ends up there once.
func importResume(t *testing.T, d *database, env []string) {
	ctx := context.Background()
	var lines []string
	for i := range 40 {
		lines = append(lines, fmt.Sprintf(`{"email": "resume%d@example.com", "confirmed": "yes"}`, i))
	}
	half := writeFile(t, "half.jsonl", strings.Join(lines[:17], "\n")+"\n")
	whole := writeFile(t, "whole.jsonl", strings.Join(lines, "\n")+"\n")
	r := runCLI(t, env, "-json", "users", "import", "-batch", "5", half)
	r.want(t, "import half", exitOK)
	report(t, r).want(t, "import half", 17, 17, 0, 0, 0)
	r = runCLI(t, env, "-json", "users", "import", "-batch", "5", whole)
	r.want(t, "import the rest", exitOK)
	report(t, r).want(t, "import the rest", 40, 23, 17, 0, 0)
	for i := range 40 {
		u, err := d.UserByEmail(ctx, fmt.Sprintf("resume%d@example.com", i))
		if err != nil {
			t.Fatal(err)
		}
		evs, _, err := d.QueryAudit(ctx, store.AuditQuery{Action: audit.ActionRegister, UserID: u.ID, Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 {
			t.Errorf("resume%d: got %d auth.register rows, want 1", i, len(evs))
		}
	}
}

func TestImportUsage(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "app.db")
	runCLI(t, nil, "-db", db, "migrate", "up").want(t, "migrate up", exitOK)
	csvFile := writeFile(t, "users.csv", "email\na@example.com\n")
	txt := writeFile(t, "users.txt", "email\na@example.com\n")
	for _, tc := range []struct {
		name string
		args []string
		in   string
	}{
		{"no file", []string{"users", "import"}, "one FILE"},
		{"two files", []string{"users", "import", csvFile, csvFile}, "one FILE"},
		{"standard input without a format", []string{"users", "import", "-"}, "-format"},
		{"unknown extension", []string{"users", "import", txt}, "extension"},
		{"unknown format", []string{"users", "import", "-format", "xml", csvFile}, `"xml"`},
		{"bad batch", []string{"users", "import", "-batch", "0", csvFile}, "-batch"},
		{"bad keys", []string{"users", "import", "-keys", "nonsense", csvFile}, "-keys"},
		{"missing file", []string{"users", "import", filepath.Join(t.TempDir(), "none.csv")}, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, []string{EnvDatabase + "=" + db}, tc.args...)
			r.want(t, tc.name, exitUsage)
			if !strings.Contains(r.stderr, tc.in) {
				t.Errorf("stderr %q does not contain %q", r.stderr, tc.in)
			}
		})
	}
	d := openDB(t, db)
	if _, err := d.UserByEmail(context.Background(), "a@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused command stored a user (%v)", err)
	}
	// A database without Sigra's schema: exit 3.
	empty := writeFile(t, "empty.db", "")
	runCLI(t, []string{EnvDatabase + "=" + empty}, "users", "import", csvFile).want(t, "no schema", exitDatabase)
}

// TestImportStdin reads standard input.
func TestImportStdin(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "app.db")
	runCLI(t, nil, "-db", db, "migrate", "up").want(t, "migrate up", exitOK)
	cmd := exec.Command(binary, "-db", db, "users", "import", "-format", "csv", "-")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	cmd.Stdin = strings.NewReader("email,confirmed\nstdin@example.com,1\n")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "imported 1") {
		t.Fatalf("import from standard input: %v: %s", err, out)
	}
}

// TestImportLarge streams a file of 100,000 records: the command's peak
// memory stays far below what holding the file would take, and it commits
// in batches of -batch records.
func TestImportLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("a 100,000-record import")
	}
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "app.db")
	runCLI(t, nil, "-db", db, "migrate", "up").want(t, "migrate up", exitOK)
	const n = 100_000
	file := filepath.Join(dir, "large.csv")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "email,confirmed,created")
	// Long domains make the file large (about 22 MB).
	domain := strings.Repeat("x", 60) + "." + strings.Repeat("y", 60) + "." + strings.Repeat("z", 60) + ".example.com"
	for i := range n {
		fmt.Fprintf(w, "user%06d@%s,true,2020-01-01T00:00:00Z\n", i, domain)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "-db", db, "-json", "users", "import", "-batch", "1000", "-progress", file)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The peak resident memory of the command's own image (VmHWM), read
	// while it runs: the rusage of a child also counts the parent's memory
	// at the fork, so it cannot tell.
	status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	var peak int64
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var waitErr error
	for running := true; running; {
		select {
		case waitErr = <-done:
			running = false
		case <-time.After(20 * time.Millisecond):
			if hwm := vmHWM(status); hwm > peak {
				peak = hwm
			}
		}
	}
	if waitErr != nil {
		t.Fatalf("import: %v\n%s", waitErr, errb.String())
	}
	rep := report(t, result{stdout: out.String(), stderr: errb.String()})
	rep.want(t, "large import", n, n, 0, 0, 0)
	if got := strings.Count(errb.String(), "progress: "); got != n/1000 {
		t.Errorf("got %d progress lines, want one per batch of 1000: %d", got, n/1000)
	}
	if peak == 0 {
		t.Skip("no /proc/PID/status VmHWM on this system")
	}
	// The whole file would be 22 MB, and each record several times that
	// in memory; streaming keeps to the runtime, the driver and a batch.
	if limit := int64(64 << 20); peak > limit {
		t.Errorf("peak memory %d MiB, want below %d MiB (the file is %d MiB)", peak>>20, limit>>20, st.Size()>>20)
	}
	t.Logf("file %d MiB, peak memory %d MiB", st.Size()>>20, peak>>20)
}

// vmHWM reads the peak resident memory (VmHWM, in bytes) from a
// /proc/PID/status file; 0 if it cannot.
func vmHWM(status string) int64 {
	b, err := os.ReadFile(status)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kib << 10
		}
	}
	return 0
}

// TestImportSignIn signs in through the account flows as users imported
// with a hash of each foreign format: each sign-in succeeds and leaves an
// Argon2id hash in place of the foreign one.
func TestImportSignIn(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "app.db")
	runCLI(t, nil, "-db", db, "migrate", "up").want(t, "migrate up", exitOK)
	checker, err := password.New(password.Config{AllowWrapped: true})
	if err != nil {
		t.Fatal(err)
	}
	type user struct{ email, password, format string }
	var users []user
	var csv strings.Builder
	csv.WriteString("email,confirmed,hash\n")
	seen := map[string]bool{}
	for i, fx := range readInterop(t) {
		if fx.expect != "rehash" && fx.expect != "unsafe" {
			continue
		}
		format, err := checker.CheckHash(fx.hash)
		if errors.Is(err, password.ErrUnsafeHash) {
			format, err = "sigra-wrap", nil
		}
		if err != nil {
			t.Fatal(err)
		}
		if seen[format] {
			continue
		}
		seen[format] = true
		email := fmt.Sprintf("signin%d@example.com", i)
		fmt.Fprintf(&csv, "%s,yes,%q\n", email, fx.hash)
		users = append(users, user{email, fx.password, format})
	}
	file := writeFile(t, "users.csv", csv.String())
	runCLI(t, nil, "-db", db, "users", "import", "-wrap-unsafe", file).want(t, "import", exitOK, fmt.Sprintf("imported %d", len(users)))

	// The application verifies wrapped hashes (Config.AllowWrapped) and
	// rehashes with cheap parameters.
	hasher, err := password.New(password.Config{Params: password.Params{Memory: 64, Time: 1, Threads: 1}, InsecureAllowWeakParams: true, AllowWrapped: true})
	if err != nil {
		t.Fatal(err)
	}
	a := apptest.New(t, apptest.Options{DBPath: db, Packs: []ui.Pack{account.Pages()}, Passwords: hasher}, func(a *apptest.App) {
		h, err := account.New(account.Config{Store: a.Store, Sessions: a.Sessions, Guard: a.Guard, UI: a.UI, Passwords: a.Hasher, Mail: a.Outbox, RateLimiter: a.Limiter})
		if err != nil {
			t.Fatal(err)
		}
		h.Mount(a.Mux)
	})
	ctx := context.Background()
	for _, u := range users {
		c := a.Client(t)
		c.SignIn(u.email, u.password)
		if res := c.Get("/private"); !strings.Contains(res.Body, "private of "+u.email) {
			t.Errorf("%s (%s): not signed in: %d %s", u.email, u.format, res.StatusCode, res.Body)
		}
		stored, err := a.Store.UserByEmail(ctx, u.email)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(stored.PasswordHash, "$argon2id$") {
			t.Errorf("%s (%s): after sign-in the hash is %q, want it upgraded to Argon2id", u.email, u.format, stored.PasswordHash)
		}
		if ok, rehash, err := hasher.Verify(ctx, u.password, stored.PasswordHash); !ok || rehash || err != nil {
			t.Errorf("%s (%s): the upgraded hash: got (%v, %v, %v), want (true, false, nil)", u.email, u.format, ok, rehash, err)
		}
	}
	if len(users) < 6 {
		t.Errorf("signed in with %d formats, want at least 6", len(users))
	}
}
