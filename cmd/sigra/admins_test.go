package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/sigra-go/sigra/admin"
	"github.com/sigra-go/sigra/password"
	"github.com/sigra-go/sigra/store"
)

// TestAdminCommands runs users create-admin, grant-admin and revoke-admin
// on both backends: the role, the new account (confirmed, with the
// generated password, or the one from standard input), the audit rows,
// and the exit codes of refused input.
func TestAdminCommands(t *testing.T) {
	t.Parallel()
	for name, mk := range map[string]func(*testing.T) backend{"sqlite": sqliteBackend, "postgres": postgresBackend} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := mk(t)
			env := []string{EnvDatabase + "=" + b.target}
			runCLI(t, env, "migrate", "up").want(t, "migrate up", exitOK)
			b.open(t)
			ctx := context.Background()
			admins, ok := b.st.(store.Admins)
			if !ok {
				t.Fatal("the store has no store.Admins")
			}
			isAdmin := func(email string) bool {
				t.Helper()
				u, err := b.st.UserByEmail(ctx, email)
				if err != nil {
					t.Fatal(err)
				}
				ok, err := admins.IsAdmin(ctx, u.ID)
				if err != nil {
					t.Fatal(err)
				}
				return ok
			}

			// A new account with a generated password, printed once.
			r := runCLI(t, env, "-json", "users", "create-admin", "Root@Example.com")
			r.want(t, "create-admin (new)", exitOK)
			var out struct {
				Password string `json:"password"`
				Created  bool   `json:"created"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || !out.Created || len(out.Password) < 40 {
				t.Fatalf("create-admin -json: %v %s", err, r.stdout)
			}
			u, err := b.st.UserByEmail(ctx, "root@example.com")
			if err != nil || u.EmailConfirmedAt.IsZero() {
				t.Fatalf("the new administrator: %v, confirmed %v", err, u != nil && !u.EmailConfirmedAt.IsZero())
			}
			h, _ := password.New(password.Config{})
			if ok, _, err := h.Verify(ctx, out.Password, u.PasswordHash); !ok || err != nil {
				t.Errorf("the printed password does not verify against the stored hash: %v", err)
			}
			if strings.Contains(u.PasswordHash, out.Password) {
				t.Error("the password is stored raw")
			}
			if !isAdmin("root@example.com") {
				t.Fatal("create-admin: not an administrator")
			}
			runCLI(t, env, "users", "create-admin", "root@example.com").want(t, "create-admin (again)", exitOK, "already an administrator")

			// An existing account is granted the role, its password kept.
			other := &store.User{Email: "other@example.com", PasswordHash: "x", CreatedAt: u.CreatedAt}
			if err := b.st.CreateUser(ctx, other); err != nil {
				t.Fatal(err)
			}
			r = runCLI(t, env, "users", "create-admin", "other@example.com")
			r.want(t, "create-admin (existing)", exitOK, "is now an administrator")
			if strings.Contains(r.stdout, "password") {
				t.Error("create-admin of an existing account printed a password")
			}
			runCLI(t, env, "users", "revoke-admin", "other@example.com").want(t, "revoke-admin", exitOK, "no longer")
			if isAdmin("other@example.com") {
				t.Error("revoke-admin: still an administrator")
			}
			runCLI(t, env, "users", "revoke-admin", "other@example.com").want(t, "revoke-admin (again)", exitOK, "was not")
			runCLI(t, env, "users", "grant-admin", "other@example.com").want(t, "grant-admin", exitOK, "now an administrator")
			// The last administrator's role is not revoked.
			runCLI(t, env, "users", "revoke-admin", "root@example.com").want(t, "revoke-admin (another remains)", exitOK, "no longer")
			last := runCLI(t, env, "users", "revoke-admin", "other@example.com")
			last.want(t, "revoke-admin (the last)", exitFailed)
			if !strings.Contains(last.stderr, "is the last administrator") {
				t.Errorf("revoke-admin (the last): stderr %q", last.stderr)
			}
			if !isAdmin("other@example.com") {
				t.Error("revoke-admin of the last administrator removed the role")
			}
			runCLI(t, env, "users", "grant-admin", "root@example.com").want(t, "grant-admin (again)", exitOK, "now an administrator")

			// The password from standard input, checked by the policy.
			stdin := func(pw string, args ...string) (string, int) {
				cmd := exec.Command(binary, append([]string{"-db", b.target, "users", "create-admin", "-password-stdin"}, args...)...)
				cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
				cmd.Stdin = strings.NewReader(pw)
				outb, err := cmd.CombinedOutput()
				code := 0
				if ee, ok := err.(*exec.ExitError); ok {
					code = ee.ExitCode()
				}
				return string(outb), code
			}
			if out, code := stdin("short\n", "weak@example.com"); code != exitUsage {
				t.Errorf("a refused password: got exit %d: %s", code, out)
			}
			if _, err := b.st.UserByEmail(ctx, "weak@example.com"); err == nil {
				t.Error("a refused password created the account")
			}
			if out, code := stdin("correct horse battery staple\n", "typed@example.com"); code != exitOK || strings.Contains(out, "password:") {
				t.Errorf("a typed password: got exit %d: %s", code, out)
			}
			typed, err := b.st.UserByEmail(ctx, "typed@example.com")
			if err != nil {
				t.Fatal(err)
			}
			if ok, _, _ := h.Verify(ctx, "correct horse battery staple", typed.PasswordHash); !ok {
				t.Error("the typed password does not verify")
			}

			// Refused input.
			runCLI(t, env, "users", "create-admin", "not an address").want(t, "create-admin (bad address)", exitUsage)
			runCLI(t, env, "users", "grant-admin", "nobody@example.com").want(t, "grant-admin (unknown)", exitNotFound)
			runCLI(t, env, "users", "create-admin").want(t, "create-admin (no address)", exitUsage)

			// Every change is audited, via the command line.
			evs, _, err := b.st.QueryAudit(ctx, store.AuditQuery{Action: admin.ActionGrant})
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 5 {
				t.Errorf("admin.grant rows: got %d, want 5", len(evs))
			}
			for _, e := range evs {
				if e.Metadata["via"] != "cli" || e.ActorID != "" {
					t.Errorf("admin.grant row: actor %q metadata %v", e.ActorID, e.Metadata)
				}
			}
		})
	}
}
