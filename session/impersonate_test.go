package session_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store"
)

// impApp is the test application with routes that start and stop an
// impersonation of target, the admin being a.user.
type impApp struct {
	*app
	target *store.User

	mu   sync.Mutex
	ends []session.ImpersonationEnd // told by OnImpersonationEnd
}

// ended returns the impersonation ends told so far.
func (ia *impApp) ended() []session.ImpersonationEnd {
	ia.mu.Lock()
	defer ia.mu.Unlock()
	return slices.Clone(ia.ends)
}

func newImpApp(t *testing.T, st testStore, opt options) *impApp {
	t.Helper()
	a := newApp(t, st, opt)
	ia := &impApp{app: a, target: &store.User{Email: "target-" + store.NewID() + "@example.com", CreatedAt: a.clock.Now()}}
	if err := st.CreateUser(context.Background(), ia.target); err != nil {
		t.Fatal(err)
	}
	a.m.OnImpersonationEnd(func(ctx context.Context, e session.ImpersonationEnd) {
		ia.mu.Lock()
		defer ia.mu.Unlock()
		ia.ends = append(ia.ends, e)
	})
	mux := http.NewServeMux()
	mux.Handle("/", a.routes())
	fail := func(w http.ResponseWriter, err error) {
		status := http.StatusConflict
		if errors.Is(err, session.ErrImpersonating) {
			status = http.StatusForbidden
		}
		http.Error(w, err.Error(), status)
	}
	mux.HandleFunc("POST /imp/start", func(w http.ResponseWriter, r *http.Request) {
		if err := a.m.StartImpersonation(r.Context(), public(ia.target)); err != nil {
			fail(w, err)
		}
	})
	mux.HandleFunc("POST /imp/sudo", func(w http.ResponseWriter, r *http.Request) {
		if err := a.m.Sudo(r.Context(), sigra.MethodPassword); err != nil {
			fail(w, err)
		}
	})
	mux.HandleFunc("POST /imp/raise", func(w http.ResponseWriter, r *http.Request) {
		if err := a.m.RaiseAAL(r.Context(), sigra.MethodTOTP); err != nil {
			fail(w, err)
		}
	})
	mux.HandleFunc("POST /imp/stop", func(w http.ResponseWriter, r *http.Request) {
		if err := a.m.StopImpersonation(r.Context()); err != nil {
			fail(w, err)
		}
	})
	mux.HandleFunc("GET /imp/who", func(w http.ResponseWriter, r *http.Request) {
		au := sigra.AuthFrom(r.Context())
		out := impWho{State: string(au.State), Impersonator: au.Impersonator, Ends: au.ImpersonationEnds, AAL: int(au.AAL), Ends2: a.m.ImpersonationEnds(r.Context())}
		for _, m := range au.Methods {
			out.Methods = append(out.Methods, string(m))
		}
		if au.User != nil {
			out.User = au.User.ID
		}
		_ = json.NewEncoder(w).Encode(out)
	})
	a.srv.Close()
	a.srv = httptest.NewServer(a.m.LoadAndSave(mux))
	t.Cleanup(a.srv.Close)
	return ia
}

type impWho struct {
	State, User, Impersonator string
	AAL                       int
	Methods                   []string
	Ends, Ends2               time.Time
}

func (c *client) impWho() impWho {
	c.a.t.Helper()
	var w impWho
	if err := json.NewDecoder(c.do("GET", "/imp/who").Body).Decode(&w); err != nil {
		c.a.t.Fatal(err)
	}
	return w
}

// cookie returns the client's cookie named name, or "".
func (c *client) cookie(name string) string {
	u, _ := url.Parse(c.a.srv.URL)
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// setCookie replaces (or, with "", removes) the client's cookie name.
func (c *client) setCookie(name, value string) {
	u, _ := url.Parse(c.a.srv.URL)
	ck := &http.Cookie{Name: name, Value: value, Path: "/"}
	if value == "" {
		ck.MaxAge = -1
	}
	c.jar.SetCookies(u, []*http.Cookie{ck})
}

// impersonating signs the admin in with two factors, keeps a value in the
// admin's session, and starts the impersonation. It returns the admin's
// token as it was.
func (ia *impApp) impersonating(t *testing.T, c *client) string {
	t.Helper()
	c.do("POST", "/pending")
	c.do("POST", "/second")
	c.do("POST", "/put?v=admin-value")
	adminTok := c.token()
	c.do("POST", "/imp/start")
	return adminTok
}

func TestImpersonationStartStop(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ia := newImpApp(t, b.open(t), options{})
			c := ia.client("ua")
			start := ia.clock.Now()
			adminTok := ia.impersonating(t, c)

			impTok := c.token()
			if impTok == adminTok || impTok == "" {
				t.Fatalf("the token was not renewed when the impersonation started")
			}
			w := c.impWho()
			if w.User != ia.target.ID || w.Impersonator != ia.user.ID || w.State != "authenticated" {
				t.Errorf("impersonating: got user %q impersonator %q state %q, want %q %q authenticated", w.User, w.Impersonator, w.State, ia.target.ID, ia.user.ID)
			}
			if w.AAL != 2 || !slices.Equal(w.Methods, []string{"impersonation"}) {
				t.Errorf("impersonating: got AAL %d methods %v, want the admin's AAL 2 and [impersonation]", w.AAL, w.Methods)
			}
			if want := start.Add(30 * time.Minute); !w.Ends.Equal(want) || !w.Ends2.Equal(want) {
				t.Errorf("ends: got %v and %v, want %v", w.Ends, w.Ends2, want)
			}
			if got := c.cookie(ia.m.ImpersonatorCookieName()); got != adminTok {
				t.Errorf("the admin cookie holds %q, want the admin's token", got)
			}
			if !ia.live(adminTok) {
				t.Errorf("the admin's session was revoked when the impersonation started")
			}
			if got := readBody(t, c.do("GET", "/get")); got != "" {
				t.Errorf("the impersonation sees the admin's session value %q", got)
			}
			for _, path := range []string{"/imp/sudo", "/imp/raise", "/imp/start"} {
				if res := c.send("POST", path); res.StatusCode != http.StatusForbidden {
					t.Errorf("POST %s while impersonating: got %d, want 403", path, res.StatusCode)
				}
			}
			if c.token() != impTok {
				t.Errorf("a refused transition changed the token")
			}

			c.do("POST", "/imp/stop")
			back := c.token()
			if back == adminTok || back == impTok || back == "" {
				t.Fatalf("the token was not renewed when the impersonation stopped")
			}
			if ia.live(adminTok) || ia.live(impTok) {
				t.Errorf("after stop: admin's old token live %v, impersonation's live %v; want both revoked", ia.live(adminTok), ia.live(impTok))
			}
			w = c.impWho()
			if w.User != ia.user.ID || w.Impersonator != "" || w.AAL != 2 || !w.Ends.IsZero() {
				t.Errorf("after stop: got %+v, want the admin at AAL 2, no impersonator", w)
			}
			if got := c.cookie(ia.m.ImpersonatorCookieName()); got != "" {
				t.Errorf("after stop the admin cookie is still %q", got)
			}
			if got := readBody(t, c.do("GET", "/get")); got != "admin-value" {
				t.Errorf("after stop the admin's value is %q, want admin-value", got)
			}
			if res := c.send("POST", "/imp/stop"); res.StatusCode != http.StatusConflict {
				t.Errorf("a second stop: got %d, want 409 (not impersonating)", res.StatusCode)
			}
			want := []session.ImpersonationEnd{{AdminID: ia.user.ID, UserID: ia.target.ID, Reason: session.EndStopped, Restored: true}}
			if got := ia.ended(); !slices.Equal(got, want) {
				t.Errorf("ends told: got %+v, want %+v", got, want)
			}
		})
	}
}

func TestImpersonationAdminCookie(t *testing.T) {
	t.Parallel()
	db, _ := openSQLite(t)
	ia := newImpApp(t, db, options{site: site.Config{BaseURL: "https://app.example.com"}})
	c := ia.client("ua")
	c.do("POST", "/signin")
	res := c.do("POST", "/imp/start")
	ck := findCookie(res, ia.m.ImpersonatorCookieName())
	if ck == nil {
		t.Fatal("no admin cookie set")
	}
	if ck.Name != "__Host-sigra_session_impersonator" || !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" {
		t.Errorf("admin cookie: got %+v, want __Host-sigra_session_impersonator, HttpOnly, Secure, Lax, Path=/", ck)
	}
}

func TestImpersonationTimeBox(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			st := b.open(t)
			t.Run("idle", func(t *testing.T) {
				ia := newImpApp(t, st, options{})
				c := ia.client("ua")
				ia.impersonating(t, c)
				impTok := c.token()
				ia.clock.Add(14 * time.Minute)
				if w := c.impWho(); w.User != ia.target.ID {
					t.Fatalf("after 14 idle minutes: got user %q, want the impersonation to go on", w.User)
				}
				ia.clock.Add(15 * time.Minute)
				w := c.impWho()
				if w.User != ia.user.ID || w.Impersonator != "" {
					t.Errorf("after 15 idle minutes: got %+v, want the admin's own session back", w)
				}
				if ia.live(impTok) {
					t.Errorf("the idle impersonation's row is still live")
				}
				want := []session.ImpersonationEnd{{AdminID: ia.user.ID, UserID: ia.target.ID, Reason: session.EndIdle, Restored: true}}
				if got := ia.ended(); !slices.Equal(got, want) {
					t.Errorf("ends told: got %+v, want %+v", got, want)
				}
			})
			t.Run("a form sent after the end", func(t *testing.T) {
				ia := newImpApp(t, st, options{})
				c := ia.client("ua")
				ia.impersonating(t, c)
				ia.clock.Add(16 * time.Minute)
				res := c.send("POST", "/put?v=from-the-impersonation")
				if res.StatusCode != http.StatusConflict || !strings.Contains(readBody(t, res), "impersonation") {
					t.Errorf("POST after the time box: got %d, want 409 impersonation_ended", res.StatusCode)
				}
				if w := c.impWho(); w.User != ia.user.ID {
					t.Errorf("after the refused POST: got %+v, want the admin's own session", w)
				}
				if got := readBody(t, c.do("GET", "/get")); got != "admin-value" {
					t.Errorf("the form acted on the admin's session: value %q, want admin-value", got)
				}
			})
			t.Run("absolute", func(t *testing.T) {
				ia := newImpApp(t, st, options{})
				c := ia.client("ua")
				ia.impersonating(t, c)
				// A request every 10 minutes: never idle, and the admin's
				// own session (idle after 30 minutes) kept alive meanwhile.
				for range 2 {
					ia.clock.Add(10 * time.Minute)
					if w := c.impWho(); w.User != ia.target.ID {
						t.Fatalf("at %v: got user %q, want the impersonation to go on", ia.clock.Now(), w.User)
					}
				}
				ia.clock.Add(10 * time.Minute)
				if w := c.impWho(); w.User != ia.user.ID || w.Impersonator != "" {
					t.Errorf("after 30 minutes: got %+v, want the admin's own session back", w)
				}
				if got := readBody(t, c.do("GET", "/get")); got != "admin-value" {
					t.Errorf("the admin's value is %q, want admin-value", got)
				}
			})
			t.Run("never the user's own", func(t *testing.T) {
				ia := newImpApp(t, st, options{})
				c := ia.client("ua")
				ia.impersonating(t, c)
				c.setCookie(ia.m.ImpersonatorCookieName(), "")
				for _, d := range []time.Duration{15 * time.Minute, 31 * time.Minute} {
					ia.clock.Add(d)
					if w := c.impWho(); w.State != "anonymous" || w.User != "" {
						t.Errorf("an ended impersonation without its admin cookie: got %+v, want anonymous", w)
					}
				}
			})
			t.Run("capped by the admin session", func(t *testing.T) {
				ia := newImpApp(t, st, options{cfg: session.Config{Lifetime: 20 * time.Minute}})
				c := ia.client("ua")
				c.do("POST", "/signin")
				ia.clock.Add(5 * time.Minute)
				c.do("POST", "/imp/start")
				if w := c.impWho(); !w.Ends.Equal(ia.clock.Now().Add(15 * time.Minute)) {
					t.Errorf("ends %v, want the admin session's end %v", w.Ends, ia.clock.Now().Add(15*time.Minute))
				}
			})
		})
	}
}

func TestImpersonationStopChecksAdmin(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			st := b.open(t)
			t.Run("admin session revoked", func(t *testing.T) {
				ia := newImpApp(t, st, options{})
				c := ia.client("ua")
				adminTok := ia.impersonating(t, c)
				if _, err := st.RevokeUserSessions(context.Background(), ia.user.ID, nil, ia.clock.Now()); err != nil {
					t.Fatal(err)
				}
				// The next request ends the impersonation: it lasts only
				// while the admin's own session would.
				if w := c.impWho(); w.State != "anonymous" {
					t.Errorf("the first request after the admin's session was revoked: got %+v, want anonymous", w)
				}
				if ia.live(adminTok) {
					t.Errorf("the revoked admin session came back")
				}
				want := []session.ImpersonationEnd{{AdminID: ia.user.ID, UserID: ia.target.ID, Reason: session.EndAdminGone}}
				if got := ia.ended(); !slices.Equal(got, want) {
					t.Errorf("ends told: got %+v, want %+v", got, want)
				}
			})
			t.Run("another user's session in the admin cookie", func(t *testing.T) {
				ia := newImpApp(t, st, options{})
				other := ia.client("other")
				other.do("POST", "/signin") // a live session, but of the admin user...
				// ...so make a live session of a third user instead.
				third := &store.User{Email: "third-" + store.NewID() + "@example.com", CreatedAt: ia.clock.Now()}
				if err := st.CreateUser(context.Background(), third); err != nil {
					t.Fatal(err)
				}
				ia.user, third = third, ia.user
				o2 := ia.client("third")
				o2.do("POST", "/signin")
				ia.user = third
				thirdTok := o2.token()

				c := ia.client("ua")
				ia.impersonating(t, c)
				c.setCookie(ia.m.ImpersonatorCookieName(), thirdTok)
				if w := c.impWho(); w.State != "anonymous" {
					t.Errorf("another user's session in the admin cookie: got %+v, want anonymous", w)
				}
				if !ia.live(thirdTok) {
					t.Errorf("the other user's session was revoked")
				}
			})
			t.Run("sign out ends both", func(t *testing.T) {
				ia := newImpApp(t, st, options{})
				c := ia.client("ua")
				adminTok := ia.impersonating(t, c)
				impTok := c.token()
				c.do("POST", "/signout")
				if ia.live(adminTok) || ia.live(impTok) {
					t.Errorf("after sign-out: admin live %v, impersonation live %v; want neither", ia.live(adminTok), ia.live(impTok))
				}
				if got := c.cookie(ia.m.ImpersonatorCookieName()); got != "" {
					t.Errorf("after sign-out the admin cookie is still set")
				}
			})
			t.Run("admin disabled", func(t *testing.T) {
				ia := newImpApp(t, st, options{})
				c := ia.client("ua")
				ia.impersonating(t, c)
				impTok := c.token()
				if w := c.impWho(); w.User != ia.target.ID {
					t.Fatalf("before: got %+v, want the impersonation", w)
				}
				// Disabled by a row change alone (its sessions not revoked):
				// the admin's row read with the admin's session says so.
				if err := st.SetDisabled(context.Background(), ia.user.ID, ia.clock.Now(), ia.clock.Now()); err != nil {
					t.Fatal(err)
				}
				if w := c.impWho(); w.State != "anonymous" {
					t.Errorf("impersonating with the admin disabled: got %+v, want anonymous", w)
				}
				if ia.live(impTok) {
					t.Errorf("the impersonation's row is still live")
				}
				if got := c.cookie(ia.m.ImpersonatorCookieName()); got != "" {
					t.Errorf("the admin cookie is still set")
				}
				want := []session.ImpersonationEnd{{AdminID: ia.user.ID, UserID: ia.target.ID, Reason: session.EndAdminGone}}
				if got := ia.ended(); !slices.Equal(got, want) {
					t.Errorf("ends told: got %+v, want %+v", got, want)
				}
			})
			t.Run("impersonator no longer allowed", func(t *testing.T) {
				ia := newImpApp(t, st, options{})
				var allowed atomic.Bool
				allowed.Store(true)
				var asked atomic.Int32
				ia.m.RequireImpersonator(func(_ context.Context, adminID string) (bool, error) {
					asked.Add(1)
					if adminID != ia.user.ID {
						t.Errorf("asked about %q, want the admin %q", adminID, ia.user.ID)
					}
					return allowed.Load(), nil
				})
				c := ia.client("ua")
				ia.impersonating(t, c)
				impTok := c.token()
				if w := c.impWho(); w.User != ia.target.ID || asked.Load() == 0 {
					t.Fatalf("while allowed: got %+v (asked %d times), want the impersonation, the check asked", w, asked.Load())
				}
				allowed.Store(false)
				if w := c.impWho(); w.User != ia.user.ID || w.Impersonator != "" {
					t.Errorf("once no longer allowed: got %+v, want the admin's own session back", w)
				}
				if ia.live(impTok) {
					t.Errorf("the impersonation's row is still live")
				}
				if got := readBody(t, c.do("GET", "/get")); got != "admin-value" {
					t.Errorf("the admin's value is %q, want admin-value", got)
				}
				want := []session.ImpersonationEnd{{AdminID: ia.user.ID, UserID: ia.target.ID, Reason: session.EndAdminRevoked, Restored: true}}
				if got := ia.ended(); !slices.Equal(got, want) {
					t.Errorf("ends told: got %+v, want %+v", got, want)
				}
			})
			t.Run("impersonator check fails", func(t *testing.T) {
				ia := newImpApp(t, st, options{})
				var fail atomic.Bool
				ia.m.RequireImpersonator(func(context.Context, string) (bool, error) {
					if fail.Load() {
						return false, errors.New("store unreachable")
					}
					return true, nil
				})
				c := ia.client("ua")
				ia.impersonating(t, c)
				fail.Store(true)
				if res := c.send("GET", "/imp/who"); res.StatusCode < 500 {
					t.Errorf("with the check failing: got %d, want the error handler's 5xx", res.StatusCode)
				}
				fail.Store(false)
				if w := c.impWho(); w.User != ia.target.ID {
					t.Errorf("once the check answers again: got %+v, want the impersonation to go on", w)
				}
			})
			t.Run("admin cookie removed", func(t *testing.T) {
				ia := newImpApp(t, st, options{})
				c := ia.client("ua")
				adminTok := ia.impersonating(t, c)
				c.setCookie(ia.m.ImpersonatorCookieName(), "")
				if w := c.impWho(); w.State != "anonymous" {
					t.Errorf("an impersonation without its admin cookie: got %+v, want anonymous", w)
				}
				if !ia.live(adminTok) {
					t.Errorf("the admin's own session was revoked; only the browser that lost its cookie is signed out")
				}
			})
			t.Run("target disabled", func(t *testing.T) {
				ia := newImpApp(t, st, options{})
				c := ia.client("ua")
				ia.impersonating(t, c)
				if err := st.SetDisabled(context.Background(), ia.target.ID, ia.clock.Now(), ia.clock.Now()); err != nil {
					t.Fatal(err)
				}
				if w := c.impWho(); w.User != ia.user.ID {
					t.Errorf("impersonating a user who was disabled: got %+v, want the admin's own session back", w)
				}
			})
		})
	}
}

// TestImpersonationStopRace: requests that end the same impersonation at
// once (explicit stops, or the first requests after the time box) restore
// the admin's session once: one answer carries it, the others change
// nothing, and the admin has one live session, not one per request.
func TestImpersonationStopRace(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			st := b.open(t)
			for _, tc := range []struct {
				name   string
				method string
				path   string
				wait   time.Duration
			}{
				{"stop", "POST", "/imp/stop", 0},
				{"time box", "GET", "/imp/who", 16 * time.Minute},
			} {
				t.Run(tc.name, func(t *testing.T) {
					ia := newImpApp(t, st, options{})
					c := ia.client("ua")
					ia.impersonating(t, c)
					ia.clock.Add(tc.wait)
					const n = 8
					var wg sync.WaitGroup
					codes := make(chan int, n)
					for range n {
						wg.Add(1)
						go func() {
							defer wg.Done()
							res := c.send(tc.method, tc.path)
							codes <- res.StatusCode
						}()
					}
					wg.Wait()
					close(codes)
					ok := 0
					for code := range codes {
						if code < 300 {
							ok++
						}
					}
					// One request ends it: a stop, or (when a stop loads the
					// session after another revoked the impersonation, and
					// wins the claim) the end of the time box, which answers
					// a POST with 409.
					if tc.method == "POST" && ok > 1 {
						t.Errorf("%d stops succeeded, want at most 1", ok)
					}
					live, err := st.UserSessions(context.Background(), ia.user.ID, ia.clock.Now())
					if err != nil {
						t.Fatal(err)
					}
					if len(live) != 1 {
						t.Errorf("the admin has %d live sessions, want 1", len(live))
					}
					if w := c.impWho(); w.User != ia.user.ID || w.Impersonator != "" {
						t.Errorf("after the race: got %+v, want the admin's own session", w)
					}
					if got := ia.ended(); len(got) != 1 {
						t.Errorf("ends told: got %+v, want one", got)
					}
				})
			}
		})
	}
}

func TestImpersonationConfig(t *testing.T) {
	t.Parallel()
	db, _ := openSQLite(t)
	s, err := site.New(site.Config{BaseURL: "http://localhost"})
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []session.Config{{ImpersonationIdle: -time.Minute}, {ImpersonationLifetime: -time.Minute}} {
		if _, err := session.New(s, db, cfg); !errors.Is(err, sigra.ErrConfig) {
			t.Errorf("New(%+v): got %v, want an error wrapping sigra.ErrConfig", cfg, err)
		}
	}
	m, err := session.New(s, db, session.Config{CookieName: "app"})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.ImpersonatorCookieName(); got != "app_impersonator" {
		t.Errorf("ImpersonatorCookieName: got %q, want app_impersonator", got)
	}
}
