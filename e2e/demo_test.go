package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// demo is one running demo process with its own database and keys.
type demo struct {
	t *testing.T
	// URL is the base URL the demo printed ("http://localhost:PORT").
	URL string
	// Email and Password are the seeded demo account's.
	Email, Password string

	log *lockedBuffer // everything the process wrote

	mu   sync.Mutex
	seen map[string]bool // mailbox message ids already returned by mail
}

var (
	listeningRE = regexp.MustCompile(`^Sigra demo listening on (http://\S+)$`)
	accountRE   = regexp.MustCompile(`^Demo account: (\S+)\s+password: (\S+)$`)
)

// startDemo starts the demo with a fresh database on a free localhost
// port (its development key file is created beside the database), waits
// until it listens, and stops it when t ends. A data race the demo reports
// (when built with -race) fails t.
func startDemo(t *testing.T, args ...string) *demo {
	t.Helper()
	dir := t.TempDir()
	d := &demo{t: t, log: &lockedBuffer{}, seen: map[string]bool{}}
	ready := make(chan struct{})
	var once sync.Once
	stdout := &lineWriter{fn: func(line string) {
		d.log.Write([]byte(line + "\n"))
		if m := accountRE.FindStringSubmatch(line); m != nil {
			d.mu.Lock()
			d.Email, d.Password = m[1], m[2]
			d.mu.Unlock()
		}
		if m := listeningRE.FindStringSubmatch(line); m != nil {
			d.mu.Lock()
			d.URL = m[1]
			d.mu.Unlock()
		}
		// The account line follows the listening line; the third line
		// (the mailbox address) comes after both.
		if strings.HasPrefix(line, "Emails the app sends:") {
			once.Do(func() { close(ready) })
		}
	}}
	cmd := exec.Command(suite.demo, append([]string{
		"-addr", "localhost:0",
		"-db", filepath.Join(dir, "demo.db"),
	}, args...)...)
	cmd.Stdout = stdout
	cmd.Stderr = d.log
	// The demo's settings from the environment would change what the
	// suite expects: PostgreSQL, keys, an SMTP server instead of the
	// mailbox.
	cmd.Env = append(os.Environ(), "SIGRA_DEMO_POSTGRES=", "SIGRA_KEYS=", "SIGRA_SMTP_URL=")
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the demo: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if out := d.log.String(); strings.Contains(out, "WARNING: DATA RACE") {
			t.Errorf("the demo reported a data race:\n%s", out)
		} else if t.Failed() {
			t.Logf("demo output:\n%s", out)
		}
	})

	select {
	case <-ready:
	case err := <-exited:
		exited <- err
		t.Fatalf("the demo exited before listening: %v\n%s", err, d.log.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("the demo did not print its address within 60 s:\n%s", d.log.String())
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.URL == "" {
		t.Fatalf("the demo printed no address:\n%s", d.log.String())
	}
	return d
}

// message is a message in the demo's development mailbox, as its JSON
// list serves it.
type message struct {
	ID      string `json:"id"`
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
}

// mail returns the oldest message to the address to whose subject
// contains subject and that no earlier call returned, polling the
// mailbox (the demo's outbox delivers as soon as the change that queued
// a message commits) for up to 20 s.
func (d *demo) mail(to, subject string) message {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	u := d.URL + "/dev/mail/messages.json?" + url.Values{"to": {to}}.Encode()
	var last []message
	for {
		msgs, err := fetchMail(ctx, u)
		if err != nil && ctx.Err() == nil {
			d.t.Fatalf("reading the mailbox: %v", err)
		}
		last = msgs
		// Newest first: walk from the end for the oldest unseen match.
		for i := len(msgs) - 1; i >= 0; i-- {
			m := msgs[i]
			d.mu.Lock()
			seen := d.seen[m.ID]
			if !seen && strings.Contains(m.Subject, subject) {
				d.seen[m.ID] = true
				d.mu.Unlock()
				return m
			}
			d.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			var subjects []string
			for _, m := range last {
				subjects = append(subjects, fmt.Sprintf("%s %q", m.ID, m.Subject))
			}
			d.t.Fatalf("no new email to %s with subject %q within 20 s; the mailbox holds: %v", to, subject, subjects)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func fetchMail(ctx context.Context, u string) ([]message, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	var msgs []message
	if err := json.NewDecoder(resp.Body).Decode(&msgs); err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	return msgs, nil
}

// link returns the first URL in m's text part under the demo's base URL
// and path (such as "/auth/password/reset").
func (d *demo) link(m message, path string) string {
	d.t.Helper()
	re := regexp.MustCompile(regexp.QuoteMeta(d.URL+path) + `\?\S+`)
	l := re.FindString(m.Text)
	if l == "" {
		d.t.Fatalf("email %q has no %s link:\n%s", m.Subject, path, m.Text)
	}
	return l
}

// lineWriter calls fn with each complete line written to it.
type lineWriter struct {
	fn  func(line string)
	buf []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.fn(strings.TrimRight(string(w.buf[:i]), "\r"))
		w.buf = w.buf[i+1:]
	}
}

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
