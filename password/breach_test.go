package password

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigra-go/sigra"
)

const breachPassword = "violet tractor anthem"

func sha1Hex(s string) string {
	sum := sha1.Sum([]byte(s))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// rangeServer is a fake range API. It records every request as sent on the
// wire and answers with respond.
type rangeServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string
}

func newRangeServer(t *testing.T, respond func(w http.ResponseWriter, r *http.Request)) *rangeServer {
	t.Helper()
	s := &rangeServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dump, err := httputil.DumpRequest(r, true)
		if err != nil {
			t.Errorf("dump request: %v", err)
		}
		s.mu.Lock()
		s.requests = append(s.requests, string(dump))
		s.mu.Unlock()
		respond(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *rangeServer) sent() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// padded returns a padded range answer: filler lines with count 0, plus
// the given lines.
func padded(lines ...string) string {
	var b strings.Builder
	for i := range 20 {
		fmt.Fprintf(&b, "%035X:0\r\n", i)
	}
	for _, l := range lines {
		b.WriteString(l + "\r\n")
	}
	return b.String()
}

func TestRangeClient(t *testing.T) {
	t.Parallel()
	digest := sha1Hex(breachPassword)
	prefix, suffix := digest[:5], digest[5:]
	tests := []struct {
		name    string
		cfg     RangeConfig
		respond func(w http.ResponseWriter, r *http.Request)
		count   int
		wantErr bool
	}{
		{"found", RangeConfig{}, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, padded("0018A45C4D1DEF81644B54AB7F969B88D65:3", suffix+":42", "00D4F6E8FA6EECAD2A3AA415EEC418D38EC:2"))
		}, 42, false},
		{"found lower-case, LF only", RangeConfig{}, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "0018A45C4D1DEF81644B54AB7F969B88D65:3\n"+strings.ToLower(suffix)+":7\n")
		}, 7, false},
		{"found, no trailing newline", RangeConfig{}, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "0018A45C4D1DEF81644B54AB7F969B88D65:3\r\n"+suffix+":5")
		}, 5, false},
		{"not found", RangeConfig{}, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, padded("0018A45C4D1DEF81644B54AB7F969B88D65:3"))
		}, 0, false},
		{"empty answer", RangeConfig{}, func(w http.ResponseWriter, r *http.Request) {}, 0, false},
		{"own suffix as padding", RangeConfig{}, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, padded(suffix+":0"))
		}, 0, false},
		{"status 500", RangeConfig{}, func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "oops", http.StatusInternalServerError)
		}, 0, true},
		{"status 429", RangeConfig{}, func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "slow down", http.StatusTooManyRequests)
		}, 0, true},
		// A second: long enough for the request to reach the server on a
		// loaded machine (the case checks it was sent), short for a test.
		{"slow", RangeConfig{Timeout: time.Second}, func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done() // answers only when the client gives up
		}, 0, true},
		{"slow body", RangeConfig{Timeout: time.Second}, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "0018A45C4D1DEF81644B54AB7F969B88D65:3\r\n")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}, 0, true},
		{"oversized, with length", RangeConfig{MaxResponseBytes: 500}, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, padded(suffix+":1")) // 819 bytes, sent with Content-Length
		}, 0, true},
		{"oversized, chunked", RangeConfig{MaxResponseBytes: 1000}, func(w http.ResponseWriter, r *http.Request) {
			for range 50 {
				io.WriteString(w, "0018A45C4D1DEF81644B54AB7F969B88D65:3\r\n")
				w.(http.Flusher).Flush()
			}
		}, 0, true},
		{"malformed: short suffix", RangeConfig{}, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, suffix[:34]+":3\r\n")
		}, 0, true},
		{"malformed: not hex", RangeConfig{}, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "G018A45C4D1DEF81644B54AB7F969B88D65:3\r\n"+suffix+":9\r\n")
		}, 0, true},
		{"malformed: negative count", RangeConfig{}, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, suffix+":-3\r\n")
		}, 0, true},
		{"malformed: no count", RangeConfig{}, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, suffix+":\r\n")
		}, 0, true},
		{"malformed: HTML", RangeConfig{}, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "<html><body>captive portal</body></html>")
		}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newRangeServer(t, tt.respond)
			tt.cfg.BaseURL = srv.URL
			c, err := NewRangeClient(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			count, err := c.BreachCount(context.Background(), breachPassword)
			if tt.wantErr {
				if !errors.Is(err, ErrBreachCheck) {
					t.Fatalf("BreachCount: got (%d, %v), want an error wrapping ErrBreachCheck", count, err)
				}
			} else if err != nil || count != tt.count {
				t.Fatalf("BreachCount: got (%d, %v), want (%d, nil)", count, err, tt.count)
			}

			// Whatever the answer, only the prefix left the process.
			for _, req := range srv.sent() {
				head, _, _ := strings.Cut(req, "\r\n")
				if want := "GET /range/" + prefix + " HTTP/1.1"; head != want {
					t.Errorf("request line: got %q, want %q", head, want)
				}
				if strings.Contains(strings.ToUpper(req), suffix[:10]) || strings.Contains(req, breachPassword) {
					t.Errorf("request carries more than the prefix:\n%s", req)
				}
				if !strings.Contains(req, "\r\nAdd-Padding: true\r\n") {
					t.Errorf("request lacks Add-Padding: true:\n%s", req)
				}
				if !strings.HasSuffix(req, "\r\n\r\n") {
					t.Errorf("request has a body:\n%s", req)
				}
			}
			if n := len(srv.sent()); n != 1 {
				t.Errorf("requests sent: got %d, want 1", n)
			}
		})
	}
}

func TestRangeClientOptions(t *testing.T) {
	t.Parallel()
	srv := newRangeServer(t, func(w http.ResponseWriter, r *http.Request) {})
	c, err := NewRangeClient(RangeConfig{BaseURL: srv.URL + "/", DisablePadding: true, UserAgent: "example-app/1.0"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.BreachCount(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	req := srv.sent()[0]
	if strings.Contains(req, "Add-Padding") {
		t.Errorf("DisablePadding: request still asks for padding:\n%s", req)
	}
	if !strings.Contains(req, "\r\nUser-Agent: example-app/1.0\r\n") {
		t.Errorf("request lacks the configured User-Agent:\n%s", req)
	}
	if !strings.HasPrefix(req, "GET /range/11F6A ") { // SHA-1("x") = 11F6AD8E...
		t.Errorf("request line: got %q, want GET /range/11F6A (no double slash)", strings.SplitN(req, "\r\n", 2)[0])
	}

	for _, cfg := range []RangeConfig{
		{BaseURL: "ftp://example.com"},
		{BaseURL: "example.com"},
		{BaseURL: "https://example.com/?q=1"},
		{BaseURL: "https://"},
		{Timeout: -1},
		{MaxResponseBytes: -1},
	} {
		if _, err := NewRangeClient(cfg); !errors.Is(err, sigra.ErrConfig) {
			t.Errorf("NewRangeClient(%+v): got %v, want sigra.ErrConfig", cfg, err)
		}
	}
	def, err := NewRangeClient(RangeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if def.base != DefaultRangeBaseURL || def.timeout != DefaultRangeTimeout || def.max != DefaultRangeMaxResponse || !def.padding || def.client.Timeout != DefaultRangeTimeout {
		t.Errorf("defaults: got base %q timeout %v max %d padding %v client timeout %v", def.base, def.timeout, def.max, def.padding, def.client.Timeout)
	}
}

// fakeBreach is a BreachChecker answering from a map, or failing.
type fakeBreach struct {
	counts map[string]int
	err    error
}

func (f fakeBreach) BreachCount(_ context.Context, password string) (int, error) {
	return f.counts[password], f.err
}

// TestPolicyBreach runs Check with a RangeClient against a fake server, in
// both failure modes.
func TestPolicyBreach(t *testing.T) {
	t.Parallel()
	digest := sha1Hex(breachPassword)
	tests := []struct {
		name     string
		respond  func(w http.ResponseWriter, r *http.Request)
		failOpen bool
		want     Reason
	}{
		{"found", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, padded(digest[5:]+":12")) }, false, ReasonBreached},
		{"found, fail-open", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, padded(digest[5:]+":12")) }, true, ReasonBreached},
		{"not found", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, padded()) }, false, ""},
		{"500, fail-closed", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }, false, ReasonBreachCheckUnavailable},
		{"500, fail-open", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }, true, ""},
		{"slow, fail-closed", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, false, ReasonBreachCheckUnavailable},
		{"slow, fail-open", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, true, ""},
		{"malformed, fail-closed", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "nonsense\n") }, false, ReasonBreachCheckUnavailable},
		{"malformed, fail-open", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "nonsense\n") }, true, ""},
		{"oversized, fail-closed", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, strings.Repeat(padded(), 10)) }, false, ReasonBreachCheckUnavailable},
		{"oversized, fail-open", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, strings.Repeat(padded(), 10)) }, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newRangeServer(t, tt.respond)
			// Only the slow cases wait for the timeout; the others get
			// one a loaded machine cannot reach.
			timeout := 10 * time.Second
			if strings.HasPrefix(tt.name, "slow") {
				timeout = 50 * time.Millisecond
			}
			client, err := NewRangeClient(RangeConfig{BaseURL: srv.URL, Timeout: timeout, MaxResponseBytes: 2048})
			if err != nil {
				t.Fatal(err)
			}
			p := Policy{Breach: client, BreachFailOpen: tt.failOpen}
			err = p.Check(context.Background(), breachPassword, Context{})
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Check: got %v, want nil", err)
				}
				return
			}
			var pe *PolicyError
			if !errors.As(err, &pe) || pe.Reason != tt.want {
				t.Fatalf("Check: got %v, want reason %s", err, tt.want)
			}
			if tt.want == ReasonBreachCheckUnavailable && !errors.Is(err, ErrBreachCheck) {
				t.Errorf("Check: got %v, want it to wrap ErrBreachCheck", err)
			}
		})
	}
}

func TestPolicyBreachOrder(t *testing.T) {
	t.Parallel()
	// The breach checker sees the normalized password, and only passwords
	// that passed the local rules.
	var asked []string
	checker := recordingChecker{asked: &asked}
	p := Policy{Breach: checker}
	if err := p.Check(context.Background(), "ｖｉｏｌｅｔ tractor", Context{}); err != nil {
		t.Fatal(err)
	}
	p.Check(context.Background(), "password", Context{}) // common: refused before the breach check
	p.Check(context.Background(), "short", Context{})
	if len(asked) != 1 || asked[0] != "violet tractor" {
		t.Errorf("breach checker asked %q, want only [\"violet tractor\"]", asked)
	}
	// A checker error in fail-closed mode is not a breach.
	p = Policy{Breach: fakeBreach{err: errors.New("down")}}
	var pe *PolicyError
	if err := p.Check(context.Background(), "violet tractor", Context{}); !errors.As(err, &pe) || pe.Reason != ReasonBreachCheckUnavailable {
		t.Errorf("failing checker: got %v, want breach_check_unavailable", err)
	}
	p = Policy{Breach: fakeBreach{counts: map[string]int{"violet tractor": 1}}}
	if err := p.Check(context.Background(), "violet tractor", Context{}); !errors.As(err, &pe) || pe.Reason != ReasonBreached {
		t.Errorf("count 1: got %v, want breached", err)
	}
}

type recordingChecker struct{ asked *[]string }

func (r recordingChecker) BreachCount(_ context.Context, password string) (int, error) {
	*r.asked = append(*r.asked, password)
	return 0, nil
}

var rangeLine = regexp.MustCompile(`^[0-9A-Fa-f]{35}:[0-9]{1,10}$`)

// naiveParseRange is an independent reading of the range format, the
// oracle for FuzzParseRange.
func naiveParseRange(body, suffix string) (int, bool) {
	count := 0
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			continue
		}
		if !rangeLine.MatchString(line) {
			return 0, false
		}
		n, _ := strconv.Atoi(line[36:])
		if strings.EqualFold(line[:35], suffix) && n > count {
			count = n
		}
	}
	return count, true
}

func FuzzParseRange(f *testing.F) {
	suffix := sha1Hex(breachPassword)[5:]
	f.Add([]byte(padded(suffix + ":42")))
	f.Add([]byte(padded()))
	f.Add([]byte(suffix + ":0\n" + suffix + ":3"))
	f.Add([]byte("0018A45C4D1DEF81644B54AB7F969B88D65:9999999999\r\n"))
	f.Add([]byte(suffix + ":\r\r\n"))
	f.Add([]byte("\n\n\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := parseRange(body, suffix)
		want, ok := naiveParseRange(string(body), suffix)
		if ok != (err == nil) {
			t.Fatalf("parseRange(%q): error %v, oracle valid=%v", body, err, ok)
		}
		if ok && got != want {
			t.Fatalf("parseRange(%q): got %d, want %d", body, got, want)
		}
		if err != nil && !errors.Is(err, errMalformedRange) {
			t.Fatalf("parseRange(%q): error %v does not wrap errMalformedRange", body, err)
		}
	})
}

// Hasher.BreachCount asks the policy's checker with the password normalized
// as Check gives it (NFKC), applies no other rule, and says when there is
// no checker.
func TestHasherBreachCount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if _, err := newHasher(t, Config{}).BreachCount(ctx, "anything at all"); !errors.Is(err, ErrNoBreachCheck) {
		t.Fatalf("without a checker: got %v, want ErrNoBreachCheck", err)
	}
	var asked []string
	h := newHasher(t, Config{Policy: Policy{Breach: recordingChecker{asked: &asked}}})
	// Fullwidth letters fold to ASCII under NFKC; "pw" is far too short
	// for the policy, which BreachCount does not apply.
	for _, p := range []string{"ｐａｓｓｗｏｒｄ", "pw", "bad\xffutf8"} {
		if _, err := h.BreachCount(ctx, p); err != nil {
			t.Fatalf("BreachCount(%q): %v", p, err)
		}
	}
	want := []string{"password", "pw", "bad\xffutf8"}
	if !slices.Equal(asked, want) {
		t.Fatalf("the checker was asked %q, want %q", asked, want)
	}
	f := newHasher(t, Config{Policy: Policy{Breach: fakeBreach{counts: map[string]int{"password": 7}}}})
	if n, err := f.BreachCount(ctx, "ｐａｓｓｗｏｒｄ"); err != nil || n != 7 {
		t.Fatalf("got %d, %v; want 7", n, err)
	}
	boom := errors.New("service down")
	e := newHasher(t, Config{Policy: Policy{Breach: fakeBreach{err: boom}}})
	if _, err := e.BreachCount(ctx, "whatever it is"); !errors.Is(err, boom) {
		t.Fatalf("got %v, want the checker's error", err)
	}
}
