package mail_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra/mail"
)

func send(t *testing.T, m mail.Sender, to, subject string) {
	t.Helper()
	if err := m.Send(context.Background(), &mail.Message{To: to, Subject: subject, Text: "text of " + subject, HTML: "<p>html of " + subject + "</p>"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
}

func subjects(msgs []mail.Captured) string {
	s := make([]string, len(msgs))
	for i, m := range msgs {
		s[i] = m.Subject
	}
	return strings.Join(s, ",")
}

func TestMailboxKeepsNewestFirst(t *testing.T) {
	t.Parallel()
	b := mail.NewMailbox(mail.MailboxConfig{Size: 3, Now: func() time.Time { return fixedNow }})
	for i := 1; i <= 5; i++ {
		to := "a@example.com"
		if i%2 == 0 {
			to = "b@example.com"
		}
		send(t, b, to, "m"+strconv.Itoa(i))
	}
	if got := subjects(b.Messages("")); got != "m5,m4,m3" {
		t.Errorf("Messages() = %s, want m5,m4,m3 (bounded to 3, newest first)", got)
	}
	if got := subjects(b.Messages("A@Example.com")); got != "m5,m3" {
		t.Errorf("Messages(A@Example.com) = %s, want m5,m3", got)
	}
	if m, ok := b.Latest("b@example.com"); !ok || m.Subject != "m4" || m.ID != "4" || !m.SentAt.Equal(fixedNow) {
		t.Errorf("Latest(b) = %+v, %v; want m4 with ID 4 sent at %v", m, ok, fixedNow)
	}
	if _, ok := b.Latest("c@example.com"); ok {
		t.Error("Latest(c) found a message")
	}
	if _, ok := b.Message("1"); ok {
		t.Error("message 1 is still kept past the bound")
	}
	b.Clear()
	if got := b.Messages(""); len(got) != 0 {
		t.Errorf("after Clear: %d messages", len(got))
	}
}

func TestMailboxDefaultSize(t *testing.T) {
	t.Parallel()
	b := mail.NewMailbox(mail.MailboxConfig{})
	for i := range mail.DefaultMailboxSize + 5 {
		send(t, b, "a@example.com", "m"+strconv.Itoa(i))
	}
	if n := len(b.Messages("")); n != mail.DefaultMailboxSize {
		t.Errorf("kept %d messages, want %d", n, mail.DefaultMailboxSize)
	}
}

func TestMailboxRejectsInvalid(t *testing.T) {
	t.Parallel()
	b := mail.NewMailbox(mail.MailboxConfig{})
	if err := b.Send(context.Background(), &mail.Message{To: "not an address", Text: "x"}); !errors.Is(err, mail.ErrInvalidMessage) {
		t.Errorf("got %v, want ErrInvalidMessage", err)
	}
	if n := len(b.Messages("")); n != 0 {
		t.Errorf("kept %d messages, want 0", n)
	}
}

func TestMailboxWait(t *testing.T) {
	t.Parallel()
	b := mail.NewMailbox(mail.MailboxConfig{})
	ctx := context.Background()
	send(t, b, "a@example.com", "first")
	send(t, b, "b@example.com", "other")
	send(t, b, "a@example.com", "second")

	for _, want := range []string{"first", "second"} {
		m, err := b.Wait(ctx, "A@example.com")
		if err != nil || m.Subject != want {
			t.Fatalf("Wait = %q, %v; want %q", m.Subject, err, want)
		}
	}

	// Nothing new: Wait blocks until a message arrives.
	got := make(chan mail.Captured, 1)
	go func() {
		m, err := b.Wait(ctx, "a@example.com")
		if err != nil {
			t.Errorf("Wait: %v", err)
		}
		got <- m
	}()
	send(t, b, "b@example.com", "not for a")
	send(t, b, "a@example.com", "third")
	if m := <-got; m.Subject != "third" {
		t.Errorf("Wait = %q, want third", m.Subject)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := b.Wait(cctx, "a@example.com"); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait with cancelled context: got %v, want context.Canceled", err)
	}
}

// mount serves b under prefix on a test server.
func mount(t *testing.T, b *mail.Mailbox, prefix string) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	b.Mount(mux, prefix)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	// A transport of its own: closing any test's server closes the idle
	// connections of http.DefaultTransport, which breaks a parallel
	// test's request about to reuse one.
	c := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	defer c.CloseIdleConnections()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

var linkPattern = regexp.MustCompile(`(?:href|src)="([^"]*)"`)

func TestMailboxPages(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{"/dev/mail", "/", "/a/b/c/"} {
		t.Run(prefix, func(t *testing.T) {
			t.Parallel()
			b := mail.NewMailbox(mail.MailboxConfig{})
			if err := b.Send(context.Background(), &mail.Message{
				To: "user@example.com", Subject: `Reset <script>alert(1)</script>`,
				Text: "Open https://example.com/reset?token=abc&x=<b>", HTML: `<p style="color:red">Reset <a href="https://example.com/reset?token=abc">here</a></p><script>alert(2)</script>`,
			}); err != nil {
				t.Fatal(err)
			}
			send(t, b, "other@example.com", "Other")
			srv := mount(t, b, prefix)
			base := srv.URL + strings.TrimRight(prefix, "/") + "/"

			// Crawl every page and check each one and every link on it.
			seen := map[string]bool{}
			queue := []string{base}
			for len(queue) > 0 {
				u := queue[0]
				queue = queue[1:]
				if seen[u] {
					continue
				}
				seen[u] = true
				resp, body := get(t, u)
				if resp.StatusCode != http.StatusOK {
					t.Errorf("GET %s: status %d, want 200", u, resp.StatusCode)
					continue
				}
				ct := resp.Header.Get("Content-Type")
				if !strings.HasPrefix(ct, "text/html") || strings.HasSuffix(u, "/html") {
					continue
				}
				checkOwnPage(t, u, resp, body)
				for _, m := range linkPattern.FindAllStringSubmatch(body, -1) {
					ref, err := url.Parse(m[1])
					if err != nil {
						t.Fatalf("bad link %q on %s", m[1], u)
					}
					if ref.IsAbs() || strings.HasPrefix(m[1], "/") {
						t.Errorf("link %q on %s is not relative", m[1], u)
						continue
					}
					pu, _ := url.Parse(u)
					queue = append(queue, pu.ResolveReference(ref).String())
				}
			}
			for _, want := range []string{base, base + "style.css", base + "messages/1", base + "messages/1/html", base + "messages/1/text"} {
				if !seen[want] {
					t.Errorf("page %s is not linked from the others (crawled %v)", want, seen)
				}
			}

			_, index := get(t, base)
			if strings.Contains(index, "<script>alert(1)") || !strings.Contains(index, "Reset &lt;script&gt;alert(1)&lt;/script&gt;") {
				t.Errorf("subject not escaped on the index:\n%s", index)
			}
			_, page := get(t, base+"messages/1")
			if !strings.Contains(page, `<iframe title="HTML part" sandbox src="1/html">`) {
				t.Errorf("message page lacks the sandboxed frame:\n%s", page)
			}
			if !strings.Contains(page, "token=abc&amp;x=&lt;b&gt;") {
				t.Errorf("text part not shown escaped:\n%s", page)
			}

			resp, html := get(t, base+"messages/1/html")
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "sandbox;") || strings.Contains(csp, "allow-scripts") || strings.Contains(csp, "allow-same-origin") {
				t.Errorf("HTML part CSP = %q, want a sandbox without scripts or same origin", csp)
			}
			if !strings.Contains(html, `<p style="color:red">Reset`) {
				t.Errorf("HTML part not served as is: %s", html)
			}
			resp, text := get(t, base+"messages/1/text")
			if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" || text != "Open https://example.com/reset?token=abc&x=<b>" {
				t.Errorf("text part = %s %q", ct, text)
			}
		})
	}
}

// TestMailboxMountPrefix: Mount normalises its prefix, so "/dev/mail",
// "/dev/mail/" and "dev/mail" all serve the list at /dev/mail/, and only
// GET and HEAD are answered.
func TestMailboxMountPrefix(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{"/dev/mail", "/dev/mail/", "dev/mail", "dev/mail/"} {
		t.Run(prefix, func(t *testing.T) {
			t.Parallel()
			b := mail.NewMailbox(mail.MailboxConfig{})
			send(t, b, "user@example.com", "Welcome")
			srv := mount(t, b, prefix)
			noRedirect := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			tests := []struct {
				method, path string
				status       int
				want         string // in the body, or the Location of a redirect
			}{
				{"GET", "/dev/mail/", http.StatusOK, "Welcome"},
				{"HEAD", "/dev/mail/", http.StatusOK, ""},
				{"GET", "/dev/mail/messages.json", http.StatusOK, `"subject":"Welcome"`},
				{"GET", "/dev/mail", http.StatusFound, "/dev/mail/"}, // any redirect
				{"POST", "/dev/mail/", http.StatusMethodNotAllowed, ""},
				{"DELETE", "/dev/mail/messages/1", http.StatusMethodNotAllowed, ""},
				{"GET", "/dev/mailbox/", http.StatusNotFound, ""},
				{"GET", "/mail/", http.StatusNotFound, ""},
			}
			for _, tt := range tests {
				req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
				if err != nil {
					t.Fatal(err)
				}
				res, err := noRedirect.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				redirect := res.StatusCode >= 300 && res.StatusCode < 400
				if res.StatusCode != tt.status && !(redirect && tt.status == http.StatusFound) {
					t.Errorf("%s %s: status got %d, want %d", tt.method, tt.path, res.StatusCode, tt.status)
					continue
				}
				got := string(body)
				if redirect {
					got = res.Header.Get("Location")
				}
				if !strings.Contains(got, tt.want) {
					t.Errorf("%s %s: got %q, want it to contain %q", tt.method, tt.path, got, tt.want)
				}
				if res.StatusCode == http.StatusMethodNotAllowed && res.Header.Get("Allow") != "GET, HEAD" {
					t.Errorf("%s %s: Allow got %q, want %q", tt.method, tt.path, res.Header.Get("Allow"), "GET, HEAD")
				}
			}
		})
	}
}

// checkOwnPage checks that a page of the mailbox needs nothing a strict
// Content-Security-Policy (script-src 'self', no inline style) forbids.
func checkOwnPage(t *testing.T, u string, resp *http.Response, body string) {
	t.Helper()
	lower := strings.ToLower(body)
	for _, bad := range []string{"<script", "<style", " style=", "javascript:", " on"} {
		idx := strings.Index(lower, bad)
		if bad == " on" {
			// Event handler attributes: " onclick=" and the like.
			idx = -1
			if m := regexp.MustCompile(`\son[a-z]+=`).FindStringIndex(lower); m != nil {
				idx = m[0]
			}
		}
		if idx >= 0 {
			t.Errorf("%s contains %q, which a strict CSP blocks: ...%s...", u, bad, body[max(0, idx-40):min(len(body), idx+40)])
		}
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "style-src 'self'") {
		t.Errorf("%s: CSP = %q, want default-src 'none' and style-src 'self'", u, csp)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("%s: Cache-Control = %q, want no-store", u, resp.Header.Get("Cache-Control"))
	}
}

func TestMailboxJSON(t *testing.T) {
	t.Parallel()
	b := mail.NewMailbox(mail.MailboxConfig{Now: func() time.Time { return fixedNow }})
	srv := mount(t, b, "/dev/mail")

	resp, body := get(t, srv.URL+"/dev/mail/messages.json")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || strings.TrimSpace(body) != "[]" {
		t.Fatalf("empty mailbox: %d %s %q, want 200 application/json []", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}

	send(t, b, "a@example.com", "one")
	send(t, b, "b@example.com", "two")
	send(t, b, "a@example.com", "three")

	_, body = get(t, srv.URL+"/dev/mail/messages.json?to="+url.QueryEscape("A@example.com"))
	var got []map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	if len(got) != 2 || got[0]["subject"] != "three" || got[1]["subject"] != "one" {
		t.Fatalf("got %s, want three then one", body)
	}
	want := map[string]any{
		"id": "3", "to": "a@example.com", "subject": "three", "text": "text of three",
		"html": "<p>html of three</p>", "sent_at": "2026-03-14T15:09:26Z",
	}
	for k, v := range want {
		if got[0][k] != v {
			t.Errorf("%s = %v, want %v", k, got[0][k], v)
		}
	}

	_, body = get(t, srv.URL+"/dev/mail/messages.json")
	if err := json.Unmarshal([]byte(body), &got); err != nil || len(got) != 3 {
		t.Errorf("unfiltered: %d messages, %v; want 3", len(got), err)
	}
}

func TestMailboxHandlerErrors(t *testing.T) {
	t.Parallel()
	b := mail.NewMailbox(mail.MailboxConfig{})
	send(t, b, "a@example.com", "one")
	srv := mount(t, b, "/dev/mail")
	client := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tests := []struct {
		method, path string
		want         int
	}{
		{"GET", "/dev/mail/messages/2", 404},
		{"GET", "/dev/mail/messages/", 404},
		{"GET", "/dev/mail/messages/1/other", 404},
		{"GET", "/dev/mail/nothing", 404},
		{"POST", "/dev/mail/", 405},
		{"DELETE", "/dev/mail/messages/1", 405},
		{"HEAD", "/dev/mail/messages/1", 200},
		{"GET", "/dev/mail", 3}, // any redirect (ServeMux's own)
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want && resp.StatusCode/100 != tt.want {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, resp.StatusCode, tt.want)
		}
	}
}

// TestMailboxStripPrefixExact checks a mount whose prefix is requested
// without its trailing slash: the handler redirects relative to it.
func TestMailboxStripPrefixExact(t *testing.T) {
	t.Parallel()
	b := mail.NewMailbox(mail.MailboxConfig{})
	mux := http.NewServeMux()
	mux.Handle("/outbox", http.StripPrefix("/outbox", b))
	mux.Handle("/outbox/", http.StripPrefix("/outbox", b))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, _ := get(t, srv.URL+"/outbox")
	if resp.Request.URL.Path != "/outbox/" || resp.StatusCode != 200 {
		t.Errorf("GET /outbox ended at %s with %d, want /outbox/ with 200", resp.Request.URL.Path, resp.StatusCode)
	}
}

func FuzzMailboxHandler(f *testing.F) {
	b := mail.NewMailbox(mail.MailboxConfig{})
	if err := b.Send(context.Background(), &mail.Message{To: "a@example.com", Text: "x", HTML: "<p>x</p>"}); err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"/", "/messages/1", "/messages/1/html", "/messages.json?to=a@example.com", "/style.css", "//x", "/messages/../1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		u, err := url.Parse(target)
		if err != nil {
			return
		}
		req := httptest.NewRequest("GET", "http://example.com/", nil)
		req.URL = u
		req.RequestURI = target
		rec := httptest.NewRecorder()
		b.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 301, 404:
		default:
			t.Fatalf("GET %q: status %d", target, rec.Code)
		}
		if loc := rec.Header().Get("Location"); loc != "" && !strings.HasPrefix(loc, "./") {
			t.Fatalf("GET %q redirects to %q, not a relative path", target, loc)
		}
	})
}
