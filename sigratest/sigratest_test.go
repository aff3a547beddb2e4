package sigratest_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"

	"github.com/sigra-go/sigra/kit"
	"github.com/sigra-go/sigra/sigratest"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store"
)

func TestSQLite(t *testing.T) {
	db := sigratest.SQLite(t)
	ctx := context.Background()
	if err := db.CreateUser(ctx, &store.User{Email: "a.user@example.com"}); err != nil {
		t.Fatalf("CreateUser on the new store: %v", err)
	}
	if _, err := db.UserByEmail(ctx, "a.user@example.com"); err != nil {
		t.Fatalf("UserByEmail on the new store: %v", err)
	}
}

func TestPostgres(t *testing.T) {
	dsn := os.Getenv("SIGRA_TEST_POSTGRES")
	t.Run("no DSN", func(t *testing.T) {
		r := run(t, func(tb testing.TB) { sigratest.Postgres(tb, "  ") })
		if !r.Skipped() || r.Failed() {
			t.Fatalf("Postgres with no DSN: got skipped %v, failed %v, want a skip", r.Skipped(), r.Failed())
		}
		if msg := r.message(); !strings.Contains(msg, "no PostgreSQL DSN") {
			t.Errorf("Postgres with no DSN: skip message %q does not say why", msg)
		}
	})
	if dsn == "" {
		t.Skip("SIGRA_TEST_POSTGRES is not set: skipping PostgreSQL tests (set it to a DSN, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	t.Run("unreachable", func(t *testing.T) {
		expectFailure(t, "Postgres on a closed port", func(tb testing.TB) {
			sigratest.Postgres(tb, "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=5")
		}, "sigratest: create a PostgreSQL schema")
	})
	var schema string
	t.Run("open", func(t *testing.T) {
		db := sigratest.Postgres(t, dsn)
		ctx := context.Background()
		if err := db.Pool().QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(schema, "sigratest_") {
			t.Fatalf("current schema %q, want a sigratest_ one", schema)
		}
		if err := db.CreateUser(ctx, &store.User{Email: "a.user@example.com"}); err != nil {
			t.Fatalf("CreateUser on the new store: %v", err)
		}
		other := sigratest.Postgres(t, dsn)
		if _, err := other.UserByEmail(ctx, "a.user@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a second store sees the first one's user: got %v, want ErrNotFound", err)
		}
	})
	// The schema went with the test.
	check := sigratest.Postgres(t, dsn)
	var n int
	if err := check.Pool().QueryRow(context.Background(), "SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("schema %s still exists after its test ended", schema)
	}
}

func TestClock(t *testing.T) {
	c := sigratest.NewClock()
	start := c.Now()
	if d := time.Since(start); d < 0 || d > time.Hour {
		t.Fatalf("NewClock: starts at %v, want about now", start)
	}
	if start.Location() != time.UTC {
		t.Errorf("NewClock: location %v, want UTC", start.Location())
	}
	c.Advance(90 * time.Second)
	if got, want := c.Now(), start.Add(90*time.Second); !got.Equal(want) {
		t.Errorf("after Advance: got %v, want %v", got, want)
	}
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600))
	c.Set(at)
	if got := c.Now(); !got.Equal(at) || got.Location() != time.UTC {
		t.Errorf("after Set: got %v, want %v in UTC", got, at)
	}
	// The site, and so what is built on it, reads it.
	s, err := site.New(site.Config{BaseURL: "http://localhost:8080", Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Minute)
	if got, want := s.Now(), at.Add(time.Minute); !got.Equal(want) {
		t.Errorf("site's clock: got %v, want %v", got, want)
	}
}

func TestStartMisuse(t *testing.T) {
	st := sigratest.SQLite(t)
	expectFailure(t, "Start without a handler", func(tb testing.TB) {
		sigratest.Start(tb, func(string) sigratest.Host { return sigratest.Host{} })
	}, "no Handler")
	expectFailure(t, "Start on another base URL", func(tb testing.TB) {
		sigratest.Start(tb, func(string) sigratest.Host {
			k, err := kit.New(kit.Config{Store: st, Keys: sigratest.NewKeys(t), Passwords: sigratest.PasswordConfig(), Site: site.Config{BaseURL: "http://localhost:1"}})
			if err != nil {
				t.Fatal(err)
			}
			return sigratest.Kit(k, st, "")
		})
	}, `"http://localhost:1"`, "build it with the one build was given")
}

// otherCode is the TOTP code of secret at at, from hotp (a computation
// apart from the helper's).
func otherCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := hotp.GenerateCodeCustom(secret, uint64(at.Unix()/30), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCreateUser(t *testing.T) {
	each(t, func(t *testing.T, a *sigratest.App, clock *sigratest.Clock) {
		ctx := context.Background()
		now := clock.Now()

		u := a.CreateUser(t, sigratest.UserOptions{Email: "a.user@example.com", Password: pw})
		if u.ID == "" || u.Email != "a.user@example.com" || !u.EmailConfirmedAt.Equal(now) {
			t.Errorf("confirmed user: got ID %q, email %q, confirmed at %v; want an ID, the address, %v", u.ID, u.Email, u.EmailConfirmedAt, now)
		}
		if !strings.HasPrefix(u.PasswordHash, "$argon2id$") || strings.Contains(u.PasswordHash, pw) {
			t.Errorf("password hash %q: want an Argon2id PHC string", u.PasswordHash)
		}
		if u.TOTPSecret != "" || u.RecoveryCodes != nil {
			t.Errorf("plain user: got TOTP %q and codes %q, want none", u.TOTPSecret, u.RecoveryCodes)
		}
		if _, err := a.Store.TOTPByUser(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("plain user's TOTP row: got %v, want ErrNotFound", err)
		}

		un := a.CreateUser(t, sigratest.UserOptions{Email: "unconfirmed@example.com", Unconfirmed: true})
		if !un.EmailConfirmedAt.IsZero() || un.PasswordHash != "" {
			t.Errorf("unconfirmed user without password: confirmed at %v, hash %q", un.EmailConfirmedAt, un.PasswordHash)
		}

		two := a.CreateUser(t, sigratest.UserOptions{Email: "two@example.com", Password: pw, TOTP: true, RecoveryCodes: true})
		s, err := a.Store.TOTPByUser(ctx, two.ID)
		if err != nil || s.ConfirmedAt.IsZero() {
			t.Fatalf("TOTP row: got %+v, %v; want a confirmed secret", s, err)
		}
		if strings.Contains(string(s.Sealed), two.TOTPSecret) {
			t.Errorf("the TOTP secret is stored in clear")
		}
		if got, want := two.TOTPCode(t), otherCode(t, two.TOTPSecret, clock.Now()); got != want {
			t.Errorf("TOTPCode: got %s, want %s", got, want)
		}
		clock.Advance(30 * time.Second)
		if got, want := two.TOTPCode(t), otherCode(t, two.TOTPSecret, clock.Now()); got != want {
			t.Errorf("TOTPCode after Advance: got %s, want %s (the code follows the clock)", got, want)
		}
		if n, err := a.Store.CountRecoveryCodes(ctx, two.ID); err != nil || n != 10 || len(two.RecoveryCodes) != 10 {
			t.Errorf("recovery codes: %d stored (%v), %d returned; want 10 and 10", n, err, len(two.RecoveryCodes))
		}

		locked := a.CreateUser(t, sigratest.UserOptions{Email: "locked@example.com", Password: pw, Locked: true})
		if want := clock.Now().Add(sigratest.LockDuration); !locked.LockedUntil.Equal(want) {
			t.Errorf("locked user: locked until %v, want %v", locked.LockedUntil, want)
		}
		disabled := a.CreateUser(t, sigratest.UserOptions{Email: "disabled@example.com", Password: pw, Disabled: true})
		if !disabled.DisabledAt.Equal(clock.Now()) {
			t.Errorf("disabled user: disabled at %v, want %v", disabled.DisabledAt, clock.Now())
		}

		t.Run("User", func(t *testing.T) {
			got := a.User(t, "TWO@example.com", pw)
			if got.ID != two.ID || got.TOTPSecret != two.TOTPSecret || got.Password != pw {
				t.Errorf("User: got %q with secret %q, want %q with %q", got.ID, got.TOTPSecret, two.ID, two.TOTPSecret)
			}
			if got := a.User(t, "a.user@example.com", pw); got.TOTPSecret != "" {
				t.Errorf("User without TOTP: got secret %q", got.TOTPSecret)
			}
			expectFailure(t, "User of an unknown address", func(tb testing.TB) { a.User(tb, "nobody@example.com", pw) },
				`no user has the address "nobody@example.com"`)
		})

		t.Run("misuse", func(t *testing.T) {
			// A user that exists: refused, and nothing of the second
			// attempt is stored (its TOTP would have been).
			expectFailure(t, "CreateUser of an existing address", func(tb testing.TB) {
				a.CreateUser(tb, sigratest.UserOptions{Email: "A.User@example.com", Password: "another one", TOTP: true})
			}, `a user with the address "A.User@example.com" already exists`)
			again, err := a.Store.UserByEmail(ctx, "a.user@example.com")
			if err != nil || again.ID != u.ID || again.PasswordHash != u.PasswordHash {
				t.Errorf("after the refused CreateUser: got %+v, %v; want the first user unchanged", again, err)
			}
			if _, err := a.Store.TOTPByUser(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("after the refused CreateUser: TOTP row %v, want ErrNotFound", err)
			}
			expectFailure(t, "CreateUser without an address", func(tb testing.TB) {
				a.CreateUser(tb, sigratest.UserOptions{Email: " ", Password: pw})
			}, "Email is required")
			expectFailure(t, "TOTPCode without TOTP", func(tb testing.TB) { u.TOTPCode(tb) }, "has no TOTP")

			noKeys := *a
			noKeys.Keys = ""
			expectFailure(t, "CreateUser with TOTP and no keys", func(tb testing.TB) {
				noKeys.CreateUser(tb, sigratest.UserOptions{Email: "nokeys@example.com", TOTP: true})
			}, "TOTP needs the Host's Keys")
			noHasher := *a
			noHasher.Hasher = nil
			expectFailure(t, "CreateUser with a password and no hasher", func(tb testing.TB) {
				noHasher.CreateUser(tb, sigratest.UserOptions{Email: "nohash@example.com", Password: pw})
			}, "needs the Host's Hasher")
			for _, addr := range []string{"nokeys@example.com", "nohash@example.com"} {
				if _, err := a.Store.UserByEmail(ctx, addr); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("refused user %s: got %v, want ErrNotFound", addr, err)
				}
			}
		})
	})
}

func TestSignIn(t *testing.T) {
	each(t, func(t *testing.T, a *sigratest.App, clock *sigratest.Clock) {
		plain := a.CreateUser(t, sigratest.UserOptions{Email: "a.user@example.com", Password: pw})
		two := a.CreateUser(t, sigratest.UserOptions{Email: "two@example.com", Password: pw, TOTP: true, RecoveryCodes: true})

		t.Run("AAL1", func(t *testing.T) {
			c := a.SignedIn(t, plain, sigratest.AAL1)
			if status, body := get(t, c, "/private"); status != http.StatusOK || body != "private of a.user@example.com" {
				t.Errorf("GET /private: got %d %q", status, body)
			}
			// Signed in just now: in sudo.
			if status, _ := get(t, c, "/billing"); status != http.StatusOK {
				t.Errorf("GET /billing right after signing in: got %d, want 200", status)
			}
			// A route that needs two factors sends the user on.
			if status, _ := get(t, c, "/vault"); status != http.StatusSeeOther {
				t.Errorf("GET /vault at AAL1: got %d, want 303", status)
			}
			// The plain http.Client carries the session.
			res, err := c.HTTP.Get(a.Server.URL + "/private")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Errorf("GET /private with Client.HTTP: got %d, want 200", res.StatusCode)
			}
		})

		t.Run("AAL2", func(t *testing.T) {
			c := a.SignedIn(t, two, sigratest.AAL2)
			if status, body := get(t, c, "/vault"); status != http.StatusOK || body != "vault of two@example.com" {
				t.Errorf("GET /vault at AAL2: got %d %q", status, body)
			}
			// A second sign-in in the same time step uses the next step's
			// code; a third finds none left, until the clock moves.
			a.SignedIn(t, two, sigratest.AAL2)
			expectFailure(t, "a third AAL2 sign-in in one time step", func(tb testing.TB) { a.SignedIn(tb, two, sigratest.AAL2) },
				"advance the clock")
			clock.Advance(90 * time.Second)
			a.SignedIn(t, two, sigratest.AAL2)
		})

		t.Run("pending", func(t *testing.T) {
			c := a.SignedIn(t, two, sigratest.Pending)
			if status, _ := get(t, c, "/private"); status != http.StatusSeeOther {
				t.Errorf("GET /private while pending: got %d, want 303", status)
			}
			// The recovery codes are real: one finishes the sign-in.
			res := c.For(t).PostForm(a.Path("/mfa/recovery"), url.Values{"recovery_code": {two.RecoveryCodes[0]}})
			if res.StatusCode != http.StatusSeeOther {
				t.Fatalf("recovery code: got %d\n%.500s", res.StatusCode, res.Body)
			}
			if status, _ := get(t, c, "/vault"); status != http.StatusOK {
				t.Errorf("GET /vault after a recovery code: got %d, want 200", status)
			}
		})

		t.Run("sudo", func(t *testing.T) {
			c := a.SignedIn(t, plain, sigratest.AAL1)
			clock.Advance(11 * time.Minute)
			if status, _ := get(t, c, "/billing"); status != http.StatusSeeOther {
				t.Fatalf("GET /billing 11 minutes after signing in: got %d, want 303", status)
			}
			a.Sudo(t, c, plain)
			if status, body := get(t, c, "/billing"); status != http.StatusOK || body != "billing of a.user@example.com" {
				t.Errorf("GET /billing after Sudo: got %d %q", status, body)
			}
			wrong := *plain
			wrong.Password = "not the password"
			expectFailure(t, "Sudo with a wrong password", func(tb testing.TB) { a.Sudo(tb, c, &wrong) },
				"refused the re-authentication")
		})

		t.Run("request", func(t *testing.T) {
			req := a.SignedInRequest(t, plain, sigratest.AAL1, http.MethodGet, "/private", nil)
			if status, body := serve(a, req); status != http.StatusOK || body != "private of a.user@example.com" {
				t.Errorf("signed-in request to the handler: got %d %q", status, body)
			}
			req = a.SignedInRequest(t, two, sigratest.AAL2, http.MethodGet, "/vault", nil)
			if status, _ := serve(a, req); status != http.StatusOK {
				t.Errorf("AAL2 request to /vault: got %d, want 200", status)
			}
			// A POST carries the form token and passes the CSRF checks:
			// signing out answers with a redirect, not 403.
			out, _ := a.UI.Route("sign_out")
			req = a.SignedInRequest(t, plain, sigratest.AAL1, http.MethodPost, out, nil)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if status, body := serve(a, req); status != http.StatusSeeOther {
				t.Errorf("signed-in POST %s: got %d, want 303\n%.500s", out, status, body)
			}
		})

		t.Run("refused", func(t *testing.T) {
			locked := a.CreateUser(t, sigratest.UserOptions{Email: "locked@example.com", Password: pw, Locked: true})
			disabled := a.CreateUser(t, sigratest.UserOptions{Email: "disabled@example.com", Password: pw, Disabled: true})
			wrong := *plain
			wrong.Password = "not the password"
			for _, tt := range []struct {
				name  string
				u     *sigratest.User
				level sigratest.Level
				want  string
			}{
				{"locked", locked, sigratest.AAL1, "refused the sign-in"},
				{"disabled", disabled, sigratest.AAL1, "refused the sign-in"},
				{"wrong password", &wrong, sigratest.AAL1, "refused the sign-in"},
				{"AAL1 with TOTP", two, sigratest.AAL1, "sign in at AAL2 or Pending"},
				{"AAL2 without TOTP", plain, sigratest.AAL2, "has no TOTP"},
				{"pending without TOTP", plain, sigratest.Pending, "has no TOTP"},
				{"unknown level", plain, sigratest.Level(9), "unknown level Level(9)"},
				{"no password", &sigratest.User{User: &store.User{Email: "x@example.com"}}, sigratest.AAL1, "has no password"},
			} {
				t.Run(tt.name, func(t *testing.T) {
					expectFailure(t, "SignIn", func(tb testing.TB) { a.SignedIn(tb, tt.u, tt.level) }, tt.want)
				})
			}
		})
	})
}

func TestMail(t *testing.T) {
	each(t, func(t *testing.T, a *sigratest.App, clock *sigratest.Clock) {
		const email = "new.user@example.com"
		c := a.Client(t)
		p, _ := a.UI.Route("register")
		res := c.PostForm(p, url.Values{"email": {email}, "password": {pw}})
		if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusSeeOther {
			t.Fatalf("register: got %d\n%.500s", res.StatusCode, res.Body)
		}
		m := a.LastMail(t, email)
		link := sigratest.FirstLink(t, m)
		if !strings.HasPrefix(link, a.URL+"/") {
			t.Fatalf("first link %q is not on the base URL %s", link, a.URL)
		}
		// The link's GET alone confirms nothing.
		res = a.FollowLink(t, c, link)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("follow the confirmation link: got %d\n%.500s", res.StatusCode, res.Body)
		}
		u := a.User(t, email, pw)
		if !u.EmailConfirmedAt.Equal(clock.Now()) {
			t.Errorf("after following the link: confirmed at %v, want %v", u.EmailConfirmedAt, clock.Now())
		}
		a.SignedIn(t, u, sigratest.AAL1)

		expectFailure(t, "LastMail to an address with no email", func(tb testing.TB) { a.LastMail(tb, "nobody@example.com") },
			`no email to "nobody@example.com"`)
		expectFailure(t, "FirstLink of an email without links", func(tb testing.TB) {
			sigratest.FirstLink(tb, mailWithoutLinks)
		}, "no link in the email")
		expectFailure(t, "FollowLink to another site", func(tb testing.TB) {
			a.FollowLink(tb, c, "https://example.com/auth/confirm?token=x")
		}, "is not a link to the application")
		expectFailure(t, "FollowLink to a page without a form", func(tb testing.TB) {
			a.FollowLink(tb, c, a.URL+"/private")
		}, "FollowLink")
	})
}

// TestSignInUnconfirmed: an application that requires confirmed addresses
// refuses an unconfirmed user, and SignIn says so.
func TestSignInUnconfirmed(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			st := openStore(t, backend)
			keys := sigratest.NewKeys(t)
			a := sigratest.Start(t, func(baseURL string) sigratest.Host {
				cfg := kit.Config{Store: st, Keys: keys, Passwords: sigratest.PasswordConfig(), Site: site.Config{BaseURL: baseURL}}
				cfg.Account.RequireConfirmation = true
				k, err := kit.New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				return sigratest.Kit(k, st, keys)
			})
			u := a.CreateUser(t, sigratest.UserOptions{Email: "unconfirmed@example.com", Password: pw, Unconfirmed: true})
			expectFailure(t, "SignIn of an unconfirmed user", func(tb testing.TB) { a.SignedIn(tb, u, sigratest.AAL1) },
				`"unconfirmed@example.com"`)
			ok := a.CreateUser(t, sigratest.UserOptions{Email: "confirmed@example.com", Password: pw})
			a.SignedIn(t, ok, sigratest.AAL1)
		})
	}
}
