package audit_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/store"
)

// TestWithRequest checks that Record fills IP, user agent and impersonator
// from the context, that the event's own fields win, and that the Auth of
// the recording context is preferred whatever the middleware order.
func TestWithRequest(t *testing.T) {
	t.Parallel()
	newReq := func(ua string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "https://example.com/auth/login", nil)
		r.RemoteAddr = "192.0.2.44:51234"
		if ua != "" {
			r.Header.Set("User-Agent", ua)
		}
		return r
	}
	impersonating := func(ctx context.Context, admin string) context.Context {
		return sigra.WithAuth(ctx, &sigra.Auth{
			User:         &sigra.User{ID: "user-1"},
			State:        sigra.StateAuthenticated,
			Impersonator: admin,
		})
	}
	type want struct{ ip, ua, imp string }
	tests := []struct {
		name string
		ctx  func() context.Context
		e    audit.Event
		want want
	}{
		{
			name: "no request metadata",
			ctx:  context.Background,
			want: want{},
		},
		{
			name: "remote address when no client IP",
			ctx:  func() context.Context { return audit.WithRequest(context.Background(), newReq("Browser/1.0"), "") },
			want: want{"192.0.2.44", "Browser/1.0", ""},
		},
		{
			name: "client IP wins over remote address",
			ctx: func() context.Context {
				return audit.WithRequest(context.Background(), newReq("Browser/1.0"), "2001:db8::1")
			},
			want: want{"2001:db8::1", "Browser/1.0", ""},
		},
		{
			name: "event fields win",
			ctx: func() context.Context {
				return audit.WithRequest(impersonating(context.Background(), "admin-ctx"), newReq("Browser/1.0"), "198.51.100.1")
			},
			e:    audit.Event{IP: "203.0.113.5", UserAgent: "Own/2.0", ImpersonatorID: "admin-own"},
			want: want{"203.0.113.5", "Own/2.0", "admin-own"},
		},
		{
			name: "impersonator from the context given to WithRequest",
			ctx: func() context.Context {
				return audit.WithRequest(impersonating(context.Background(), "admin-1"), newReq(""), "")
			},
			want: want{"192.0.2.44", "", "admin-1"},
		},
		{
			name: "impersonator from the request's context",
			ctx: func() context.Context {
				r := newReq("")
				r = r.WithContext(impersonating(r.Context(), "admin-2"))
				return audit.WithRequest(context.Background(), r, "")
			},
			want: want{"192.0.2.44", "", "admin-2"},
		},
		{
			name: "auth added after WithRequest",
			ctx: func() context.Context {
				return impersonating(audit.WithRequest(context.Background(), newReq(""), ""), "admin-3")
			},
			want: want{"192.0.2.44", "", "admin-3"},
		},
		{
			name: "auth without impersonation",
			ctx: func() context.Context {
				return impersonating(audit.WithRequest(context.Background(), newReq(""), ""), "")
			},
			want: want{"192.0.2.44", "", ""},
		},
		{
			name: "nil request",
			ctx:  func() context.Context { return audit.WithRequest(context.Background(), nil, "192.0.2.9") },
			want: want{"192.0.2.9", "", ""},
		},
		{
			name: "the session middleware's client",
			ctx: func() context.Context {
				return sigra.WithAuthClient(context.Background(), &sigra.Auth{State: sigra.StateAnonymous},
					&sigra.Client{IP: "198.51.100.7", UserAgent: "Browser/3.0", Impersonator: "admin-4"})
			},
			want: want{"198.51.100.7", "Browser/3.0", "admin-4"},
		},
		{
			name: "the client cleaned as WithRequest cleans",
			ctx: func() context.Context {
				return sigra.WithAuthClient(context.Background(), nil,
					&sigra.Client{IP: "198.51.100.8\x00", UserAgent: "Bad\r\nAgent\xff" + strings.Repeat("x", 600)})
			},
			want: want{"198.51.100.8", "BadAgent\uFFFD" + strings.Repeat("x", audit.MaxUserAgentLen-len("BadAgent\uFFFD")), ""},
		},
		{
			name: "WithRequest wins over the client",
			ctx: func() context.Context {
				ctx := sigra.WithAuthClient(context.Background(), nil, &sigra.Client{IP: "198.51.100.9", UserAgent: "Browser/3.0"})
				return audit.WithRequest(ctx, newReq("Browser/1.0"), "203.0.113.9")
			},
			want: want{"203.0.113.9", "Browser/1.0", ""},
		},
		{
			name: "remote address without port",
			ctx: func() context.Context {
				r := newReq("")
				r.RemoteAddr = "192.0.2.50"
				return audit.WithRequest(context.Background(), r, "")
			},
			want: want{"192.0.2.50", "", ""},
		},
	}
	forEachBackend(t, func(t *testing.T, st auditStore) {
		l := newLogger(t, audit.Config{Store: st})
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := tt.e
				e.Action = "test." + strings.ReplaceAll(strings.ReplaceAll(strings.ToLower(tt.name), " ", "_"), "'", "")
				e.Outcome = audit.OutcomeSuccess
				if err := l.Record(tt.ctx(), e); err != nil {
					t.Fatalf("Record: %v", err)
				}
				rows, _, err := l.Query(context.Background(), store.AuditQuery{Action: e.Action})
				if err != nil || len(rows) != 1 {
					t.Fatalf("Query: got %d rows, error %v; want 1 row", len(rows), err)
				}
				got := want{rows[0].IP, rows[0].UserAgent, rows[0].ImpersonatorID}
				if got != tt.want {
					t.Errorf("got %+v, want %+v", got, tt.want)
				}
			})
		}
	})
}

// TestHostileRequestMetadata checks that a client-chosen user agent or
// address that is not clean text is stored cleaned and bounded instead of
// failing the write (PostgreSQL refuses NUL bytes and invalid UTF-8: an
// attacker could otherwise make every sign-in with such a header fail).
func TestHostileRequestMetadata(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, ua, ip string
		wantUA       string
	}{
		{"invalid UTF-8", "Mozilla/5.0 \xff\xfe", "", "Mozilla/5.0 \uFFFD"},
		{"NUL and controls", "evil\x00agent\r\nX-Injected: 1\t", "", "evilagentX-Injected: 1"},
		{"huge", strings.Repeat("A", 10_000), "", strings.Repeat("A", audit.MaxUserAgentLen)},
		{"huge multibyte", strings.Repeat("€", 1000), "", strings.Repeat("€", audit.MaxUserAgentLen/3)},
		{"hostile IP", "ok", "1.2.3.4\x00\n" + strings.Repeat("9", 200), "ok"},
	}
	forEachBackend(t, func(t *testing.T, st auditStore) {
		l := newLogger(t, audit.Config{Store: st})
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := httptest.NewRequest(http.MethodGet, "/", nil)
				r.Header["User-Agent"] = []string{tt.ua} // bypass header validation, as a raw connection could
				ctx := audit.WithRequest(context.Background(), r, tt.ip)
				action := "test." + strings.ReplaceAll(strings.ReplaceAll(strings.ToLower(tt.name), " ", "_"), "-", "_")
				if err := l.Record(ctx, audit.Event{Action: action, Outcome: audit.OutcomeFailure}); err != nil {
					t.Fatalf("Record: %v", err)
				}
				// The same values passed on the event are cleaned too.
				if err := l.Record(context.Background(), audit.Event{Action: action + "_event", Outcome: audit.OutcomeFailure, UserAgent: tt.ua, IP: tt.ip}); err != nil {
					t.Fatalf("Record with event fields: %v", err)
				}
				for _, a := range []string{action, action + "_event"} {
					rows, _, err := l.Query(context.Background(), store.AuditQuery{Action: a})
					if err != nil || len(rows) != 1 {
						t.Fatalf("Query %s: got %d rows, error %v; want 1 row", a, len(rows), err)
					}
					if rows[0].UserAgent != tt.wantUA {
						t.Errorf("%s: user agent got %q, want %q", a, rows[0].UserAgent, tt.wantUA)
					}
					if ip := rows[0].IP; len(ip) > audit.MaxIPLen || !clean(ip) {
						t.Errorf("%s: IP got %q, want clean text of at most %d bytes", a, ip, audit.MaxIPLen)
					}
				}
			})
		}
	})
}

func clean(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}
