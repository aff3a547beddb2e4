package kernel_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/ui"
)

// above returns the records logged above level.
func (h *logRecorder) above(level slog.Level) []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []slog.Record
	for _, r := range h.recs {
		if r.Level > level {
			out = append(out, r)
		}
	}
	return out
}

// TestErrorStoreUnavailable checks that a store that cannot be reached
// gets 503 with Retry-After, as HTML and as JSON, logged at Warn (an
// outage is not a bug): the answer of every feature handler that meets
// it.
func TestErrorStoreUnavailable(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	err := fmt.Errorf("sigra/postgres: user by id: %w: failed to connect: connection refused", store.ErrUnavailable)
	for _, asJSON := range []bool{false, true} {
		req := httptest.NewRequest("POST", "/auth/thing", nil)
		if asJSON {
			req.Header.Set("Accept", "application/json")
		}
		rec := httptest.NewRecorder()
		h.k.Error(rec, req, err)
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "2" {
			t.Fatalf("JSON %v: got %d with Retry-After %q, want 503 with 2", asJSON, rec.Code, rec.Header().Get("Retry-After"))
		}
		if asJSON {
			var body web.ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code != "busy" {
				t.Errorf("JSON: body got %s, want the code busy", rec.Body)
			}
		} else if !strings.Contains(rec.Body.String(), "<html") {
			t.Errorf("HTML: got %q, want the error page", rec.Body)
		}
		if strings.Contains(rec.Body.String(), "connection refused") {
			t.Errorf("JSON %v: body got %q, want the error kept out of the answer", asJSON, rec.Body)
		}
	}
	if got := h.log.find(slog.LevelWarn, "request failed"); len(got) != 2 {
		t.Errorf("log: got %d records at WARN, want 2 (one per request)", len(got))
	}
	if got := h.log.above(slog.LevelWarn); len(got) != 0 {
		t.Errorf("log: got %d records above WARN, want none: %v", len(got), got)
	}
}

// gone returns a request whose client went away: its context is
// cancelled.
func gone(method, target string, asJSON bool) *http.Request {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequest(method, target, nil).WithContext(ctx)
	if asJSON {
		r.Header.Set("Accept", "application/json")
	}
	return r
}

// TestErrorClientGone checks that the error of a request whose client
// went away is logged at Debug only and answered with nothing but 499,
// whatever the error (the cancellation's own, or one it caused).
func TestErrorClientGone(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	for _, err := range []error{
		fmt.Errorf("sigra/sqlite: user by id: %w", context.Canceled),
		fmt.Errorf("sigra/postgres: user by id: %w: conn closed", store.ErrUnavailable),
		fmt.Errorf("verify: %w: %w", sigra.ErrBusy, context.Canceled),
		errors.New("conn closed"),
	} {
		for _, asJSON := range []bool{false, true} {
			rec := httptest.NewRecorder()
			h.k.Error(rec, gone("POST", "/auth/thing", asJSON), err)
			if rec.Code != web.StatusClientClosed || rec.Body.Len() != 0 {
				t.Errorf("%v (JSON %v): got %d %q, want %d and no body", err, asJSON, rec.Code, rec.Body, web.StatusClientClosed)
			}
		}
	}
	if got := h.log.above(slog.LevelDebug); len(got) != 0 {
		t.Errorf("log: got %d records above DEBUG, want none: %v", len(got), got)
	}
	if got := h.log.find(slog.LevelDebug, "request failed"); len(got) != 8 {
		t.Errorf("log: got %d records at DEBUG, want 8", len(got))
	}
}

// TestFormErrorClientGone re-renders a refused form whose page needs the
// store, for a client that went away: the page's lookup fails with the
// request's cancelled context, and the answer is 499, not 500, logged at
// Debug only.
func TestFormErrorClientGone(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	u := &store.User{Email: "gone@example.com", CreatedAt: h.clock.Now()}
	if err := h.st.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	for _, asJSON := range []bool{false, true} {
		r := gone("POST", "/auth/thing", asJSON)
		page := func() (*ui.Page, error) {
			if _, err := h.st.UserByID(r.Context(), u.ID); err != nil {
				return nil, err
			}
			return h.k.Page(r, "Thing", &thingData{Name: "x"}), nil
		}
		rec := httptest.NewRecorder()
		h.k.FormError(rec, r, http.StatusUnauthorized, "thing", page, "invalid_credentials", "Not right.", nil)
		want := web.StatusClientClosed
		if asJSON {
			want = http.StatusUnauthorized // JSON builds no page: nothing failed
		}
		if rec.Code != want {
			t.Errorf("JSON %v: got %d, want %d", asJSON, rec.Code, want)
		}
	}
	if got := h.log.above(slog.LevelDebug); len(got) != 0 {
		t.Errorf("log: got %d records above DEBUG, want none: %v", len(got), got)
	}
}
