package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/sigra-go/sigra/admin"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/kernel"
	"github.com/sigra-go/sigra/password"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
)

// createAdmin runs "users create-admin [-password-stdin] EMAIL": it makes
// the account of EMAIL an administrator of the admin console, creating
// it first when there is none. A new account is confirmed (the operator
// vouches for the address) and gets the password read from standard input
// with -password-stdin (one line, checked against the password policy),
// or else a generated one, printed once and stored only as its Argon2id
// hash. The account, the role and the audit row commit together.
func (e *env) createAdmin(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("users create-admin", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fromStdin := fs.Bool("password-stdin", false, "read the new account's password from standard input (one line) instead of generating one")
	if err := fs.Parse(args); err != nil {
		return fail(exitUsage, "%v", err)
	}
	email, err := one("users create-admin", fs.Args())
	if err != nil {
		return err
	}
	addr, ok := kernel.ParseEmail(email)
	if !ok {
		return fail(exitUsage, "%q is not an email address", email)
	}
	d, err := open(ctx, e.target, false)
	if err != nil {
		return err
	}
	defer d.close()
	u, err := d.UserByEmail(ctx, addr)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("find %s: %w", addr, err)
	}
	var generated string
	if u == nil {
		hasher, err := password.New(password.Config{})
		if err != nil {
			return err
		}
		pw := ""
		if *fromStdin {
			if pw, err = readLine(e.stdin); err != nil {
				return fail(exitUsage, "read the password from standard input: %v", err)
			}
			if err := hasher.Check(ctx, pw, password.Context{Email: addr}); err != nil {
				return fail(exitUsage, "the password is refused: %v", err)
			}
		} else {
			if generated, err = token.New(); err != nil {
				return err
			}
			pw = generated
		}
		hash, err := hasher.Hash(ctx, pw)
		if err != nil {
			return err
		}
		now := e.now()
		u = &store.User{Email: addr, PasswordHash: hash, EmailConfirmedAt: now, CreatedAt: now, UpdatedAt: now}
	} else if *fromStdin {
		return fail(exitUsage, "%s already has an account: -password-stdin is only for a new one", u.Email)
	}
	return e.setAdmin(ctx, d, u, true, generated)
}

// readLine reads one line from r, without its line break.
func readLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// grantAdmin runs "users grant-admin EMAIL" (grant true) and "users
// revoke-admin EMAIL" (grant false) on an existing account.
func (e *env) grantAdmin(ctx context.Context, args []string, grant bool) error {
	what := "users revoke-admin"
	if grant {
		what = "users grant-admin"
	}
	email, err := one(what, args)
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
	return e.setAdmin(ctx, d, u, grant, "")
}

// setAdmin grants (or revokes) the role of u, creating u first when it
// has no ID yet, with the audit row, in one transaction. generated is a
// generated password to print once.
func (e *env) setAdmin(ctx context.Context, d *database, u *store.User, grant bool, generated string) error {
	log, err := audit.New(audit.Config{Store: d, Now: e.now})
	if err != nil {
		return err
	}
	created, changed := u.ID == "", false
	err = d.InTx(ctx, func(ctx context.Context) error {
		if created {
			if err := d.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		action := admin.ActionGrant
		if grant {
			err = d.GrantAdmin(ctx, u.ID, "", e.now())
			if errors.Is(err, store.ErrConflict) {
				return nil
			}
		} else {
			action = admin.ActionRevoke
			err = d.RevokeAdmin(ctx, u.ID)
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			if errors.Is(err, store.ErrLastAdmin) {
				return fail(exitFailed, "%s is the last administrator: grant the role to another account first", u.Email)
			}
		}
		if err != nil {
			return err
		}
		changed = true
		return log.Record(ctx, audit.Event{Action: action, SubjectID: u.ID, Outcome: audit.OutcomeSuccess, Metadata: map[string]string{"via": "cli"}})
	})
	if err != nil {
		return fmt.Errorf("set the administrator role of %s: %w", u.Email, err)
	}
	result := map[string]any{"user": u.ID, "email": u.Email, "admin": grant, "changed": changed, "created": created}
	var b strings.Builder
	switch {
	case created:
		fmt.Fprintf(&b, "created %s, confirmed, as an administrator\n", u.Email)
	case grant && changed:
		fmt.Fprintf(&b, "%s is now an administrator\n", u.Email)
	case grant:
		fmt.Fprintf(&b, "%s was already an administrator\n", u.Email)
	case changed:
		fmt.Fprintf(&b, "%s is no longer an administrator\n", u.Email)
	default:
		fmt.Fprintf(&b, "%s was not an administrator\n", u.Email)
	}
	if generated != "" {
		result["password"] = generated
		fmt.Fprintf(&b, "password: %s\n(shown once: give it to the administrator, who should change it)\n", generated)
	}
	return e.print(result, b.String())
}
