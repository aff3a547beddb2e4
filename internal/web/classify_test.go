package web_test

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
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/store"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	live := httptest.NewRequest("GET", "/", nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	gone := live.WithContext(ctx)
	late, cancelLate := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancelLate()
	timedOut := live.WithContext(late)

	busy := web.Failure{Status: http.StatusServiceUnavailable, RetryAfter: web.RetryAfterBusy, Code: "busy", Level: slog.LevelWarn}
	internal := web.Failure{Status: http.StatusInternalServerError, Code: "internal", Level: slog.LevelError}
	closed := web.Failure{Status: web.StatusClientClosed, Level: slog.LevelDebug}
	tests := []struct {
		name string
		r    *http.Request
		err  error
		want web.Failure
	}{
		{"store unavailable", live, fmt.Errorf("sigra/postgres: user by id: %w: dial: refused", store.ErrUnavailable), busy},
		{"hashing pool full", live, fmt.Errorf("verify: %w", sigra.ErrBusy), busy},
		{"limiter's store down", live, fmt.Errorf("%w: connection refused", middleware.ErrLimiterUnavailable), busy},
		{"a deadline passed", live, fmt.Errorf("query: %w", context.DeadlineExceeded), busy},
		{"the request's deadline passed", timedOut, fmt.Errorf("query: %w", context.DeadlineExceeded), busy},
		{"anything else", live, errors.New("disk on fire"), internal},
		{"a cancellation the client did not cause", live, fmt.Errorf("job: %w", context.Canceled), internal},
		{"client gone", gone, fmt.Errorf("query: %w", context.Canceled), closed},
		{"client gone, store unavailable meanwhile", gone, fmt.Errorf("x: %w", store.ErrUnavailable), closed},
		{"client gone, any error", gone, errors.New("conn closed"), closed},
	}
	for _, tt := range tests {
		got := web.Classify(tt.r, tt.err)
		if got.Message == "" && got.Status != web.StatusClientClosed {
			t.Errorf("%s: got no message", tt.name)
		}
		got.Message = ""
		if got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestFailureWrite(t *testing.T) {
	t.Parallel()
	unavailable := fmt.Errorf("sigra/postgres: user by id: %w: secret detail", store.ErrUnavailable)
	for _, asJSON := range []bool{false, true} {
		r := httptest.NewRequest("POST", "/login", nil)
		if asJSON {
			r.Header.Set("Accept", "application/json")
		}
		rec := httptest.NewRecorder()
		web.Classify(r, unavailable).Write(rec, r)
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "2" {
			t.Errorf("JSON %v: got %d with Retry-After %q, want 503 with 2", asJSON, rec.Code, rec.Header().Get("Retry-After"))
		}
		if strings.Contains(rec.Body.String(), "secret detail") {
			t.Errorf("JSON %v: body got %q, want the error kept out of it", asJSON, rec.Body)
		}
		if asJSON {
			var body web.ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code != "busy" {
				t.Errorf("JSON: body got %s, want the code busy", rec.Body)
			}
		} else if !strings.Contains(rec.Body.String(), "<html") {
			t.Errorf("HTML: body got %q, want a page", rec.Body)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequest("POST", "/login", nil).WithContext(ctx)
	rec := httptest.NewRecorder()
	web.Classify(r, context.Canceled).Write(rec, r)
	if rec.Code != web.StatusClientClosed || rec.Body.Len() != 0 || rec.Header().Get("Retry-After") != "" {
		t.Errorf("client gone: got %d %q, want %d and nothing else", rec.Code, rec.Body, web.StatusClientClosed)
	}
}

func TestSetRetryAfter(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, ""}, {-time.Second, ""}, {time.Millisecond, "1"}, {time.Second, "1"}, {1500 * time.Millisecond, "2"}, {90 * time.Second, "90"},
	} {
		h := http.Header{}
		web.SetRetryAfter(h, tt.d)
		if got := h.Get("Retry-After"); got != tt.want {
			t.Errorf("SetRetryAfter(%v): got %q, want %q", tt.d, got, tt.want)
		}
	}
}
