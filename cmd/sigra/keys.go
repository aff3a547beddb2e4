package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/sigra-go/sigra/internal/seal"
	"github.com/sigra-go/sigra/mfa"
	"github.com/sigra-go/sigra/oauth"
	"github.com/sigra-go/sigra/store"
)

// ---- keys ----

func (e *env) keys(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "reseal" {
		return fail(exitUsage, "keys takes reseal")
	}
	return e.reseal(ctx, args[1:])
}

// resealCount is what a re-sealing did with one kind of secret.
type resealCount struct {
	// Values were read; Current were sealed with the primary key already;
	// Resealed were sealed again with it (or would be, with -dry-run);
	// Changed were written meanwhile by the application and left as they
	// are; Failed could not be opened with the keys given.
	Values   int `json:"values"`
	Current  int `json:"current"`
	Resealed int `json:"resealed"`
	Changed  int `json:"changed"`
	Failed   int `json:"failed"`
}

// reseal seals every stored TOTP secret and provider token that is not
// sealed with the primary key again with it: after a new key is put first
// in the application's keys (the old ones kept after it), so that the old
// keys can then be dropped.
func (e *env) reseal(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("keys reseal", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	keys := fs.String("keys", e.getenv(EnvKeys), "the application's keys, the new primary first and the old ones after it (default $"+EnvKeys+")")
	batch := fs.Int("batch", 500, "rows read and written per statement")
	dryRun := fs.Bool("dry-run", false, "count what would be re-sealed, and change nothing")
	if err := fs.Parse(args); err != nil {
		return fail(exitUsage, "%v", err)
	}
	if fs.NArg() != 0 {
		return fail(exitUsage, "keys reseal takes no arguments, got %q", fs.Args())
	}
	if *keys == "" {
		return fail(exitUsage, "keys reseal needs the application's keys (-keys or %s), the new primary first", EnvKeys)
	}
	ring, err := seal.ParseKeyring(*keys)
	if err != nil {
		return fail(exitUsage, "-keys: %v", err)
	}
	if *batch < 1 {
		return fail(exitUsage, "-batch must be at least 1")
	}
	d, err := open(ctx, e.target, false)
	if err != nil {
		return err
	}
	defer d.close()
	primary := ring.PrimaryID()
	counts := map[store.SealedKind]*resealCount{}
	var text strings.Builder
	failed := 0
	for _, kind := range store.SealedKinds() {
		c := &resealCount{}
		counts[kind] = c
		for after := ""; ; {
			vs, err := d.SealedAfter(ctx, kind, after, *batch)
			if err != nil {
				return fail(exitDatabase, "read the %s secrets: %v", kind, err)
			}
			for _, v := range vs {
				c.Values++
				if id, err := seal.KeyID(v.Sealed); err == nil && id == primary {
					c.Current++
					continue
				}
				sealed, err := resealValue(*keys, kind, v)
				if err != nil {
					c.Failed++
					fmt.Fprintf(e.stderr, "sigra: %s of row %s: %v\n", kind, v.Row, err)
					continue
				}
				if *dryRun {
					c.Resealed++
					continue
				}
				ok, err := d.ReplaceSealed(ctx, kind, v.Row, v.Sealed, sealed)
				switch {
				case err != nil:
					return fail(exitDatabase, "write the %s secret of row %s: %v", kind, v.Row, err)
				case ok:
					c.Resealed++
				default:
					c.Changed++
				}
			}
			if len(vs) < *batch {
				break
			}
			after = vs[len(vs)-1].Row
		}
		failed += c.Failed
		fmt.Fprintf(&text, "%-13s %d values: %d re-sealed, %d already under %s, %d changed meanwhile, %d could not be opened\n",
			kind, c.Values, c.Resealed, c.Current, primary, c.Changed, c.Failed)
	}
	if *dryRun {
		text.WriteString("dry run: nothing was written\n")
	}
	if err := e.print(map[string]any{"primary": primary, "dry_run": *dryRun, "kinds": counts}, text.String()); err != nil {
		return err
	}
	if failed > 0 {
		return fail(exitFailed, "%d values could not be opened with the keys given: keep the keys that sealed them until they are re-sealed or removed", failed)
	}
	return nil
}

// resealValue opens v with keys as its feature sealed it and seals it
// again with the primary key.
func resealValue(keys string, kind store.SealedKind, v store.SealedValue) ([]byte, error) {
	switch kind {
	case store.SealedTOTP:
		secret, err := mfa.OpenSecret(keys, v.UserID, v.Sealed)
		if err != nil {
			return nil, err
		}
		return mfa.SealSecret(keys, v.UserID, secret)
	case store.SealedOAuthAccess, store.SealedOAuthRefresh:
		which := oauth.TokenAccess
		if kind == store.SealedOAuthRefresh {
			which = oauth.TokenRefresh
		}
		tok, err := oauth.OpenToken(keys, v.Provider, v.Subject, which, v.Sealed)
		if err != nil {
			return nil, err
		}
		return oauth.SealToken(keys, v.Provider, v.Subject, which, tok)
	}
	return nil, errors.New("unknown kind")
}
