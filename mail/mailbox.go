package mail

import (
	"context"
	_ "embed"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	pathpkg "path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sigra-go/sigra/store"
)

// DefaultMailboxSize is the number of messages a [Mailbox] keeps by
// default.
const DefaultMailboxSize = 200

// MailboxConfig configures [NewMailbox].
type MailboxConfig struct {
	// Size is how many messages are kept; older ones are dropped. Zero or
	// less means DefaultMailboxSize.
	Size int
	// Now returns the current time for SentAt; nil means time.Now.
	Now func() time.Time
}

// Captured is a message held by a [Mailbox].
type Captured struct {
	// ID identifies the message in the mailbox ("1", "2", ... in order of
	// arrival).
	ID      string    `json:"id"`
	To      string    `json:"to"`
	Subject string    `json:"subject"`
	Text    string    `json:"text"`
	HTML    string    `json:"html"`
	ReplyTo string    `json:"reply_to,omitempty"`
	SentAt  time.Time `json:"sent_at"`

	seq uint64
}

// Mailbox is a development and test [Sender]: it keeps the last messages
// in memory instead of sending them, and shows them over HTTP (see
// [Mailbox.ServeHTTP]) and to Go code ([Mailbox.Messages],
// [Mailbox.Latest], [Mailbox.Wait]).
//
// A Mailbox is for development and tests only. It shows every message,
// with the links and codes it carries, to anyone who can reach its
// handler, and it is bound to one process. Never mount it in production.
//
// It is safe for concurrent use. Build one with [NewMailbox].
type Mailbox struct {
	size int
	now  func() time.Time

	mu      sync.Mutex
	msgs    []Captured // oldest first
	next    uint64
	waited  map[string]uint64 // normalized address -> seq last returned by Wait
	changed chan struct{}     // closed and replaced on every Send
}

// NewMailbox returns an empty mailbox.
func NewMailbox(cfg MailboxConfig) *Mailbox {
	b := &Mailbox{size: cfg.Size, now: cfg.Now, waited: make(map[string]uint64), changed: make(chan struct{})}
	if b.size <= 0 {
		b.size = DefaultMailboxSize
	}
	if b.now == nil {
		b.now = time.Now
	}
	return b
}

// Send validates m and keeps a copy of it.
func (b *Mailbox) Send(ctx context.Context, m *Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next++
	b.msgs = append(b.msgs, Captured{
		ID: strconv.FormatUint(b.next, 10), To: m.To, Subject: m.Subject, Text: m.Text,
		HTML: m.HTML, ReplyTo: m.ReplyTo, SentAt: b.now().UTC(), seq: b.next,
	})
	if over := len(b.msgs) - b.size; over > 0 {
		b.msgs = append(b.msgs[:0:0], b.msgs[over:]...)
	}
	close(b.changed)
	b.changed = make(chan struct{})
	return nil
}

// Messages returns the kept messages to the address to (compared as
// [store.NormalizeEmail] does), or all when to is empty, newest first.
func (b *Mailbox) Messages(to string) []Captured {
	want := store.NormalizeEmail(to)
	b.mu.Lock()
	defer b.mu.Unlock()
	out := []Captured{}
	for i := len(b.msgs) - 1; i >= 0; i-- {
		if want == "" || store.NormalizeEmail(b.msgs[i].To) == want {
			out = append(out, b.msgs[i])
		}
	}
	return out
}

// Latest returns the newest message to the address to, if any.
func (b *Mailbox) Latest(to string) (Captured, bool) {
	msgs := b.Messages(to)
	if len(msgs) == 0 || to == "" {
		return Captured{}, false
	}
	return msgs[0], true
}

// Message returns the kept message with the given id.
func (b *Mailbox) Message(id string) (Captured, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.msgs {
		if m.ID == id {
			return m, true
		}
	}
	return Captured{}, false
}

// Wait returns the oldest message to the address to that no earlier Wait
// for that address returned, waiting for one to arrive if there is none,
// until ctx is done. Successive calls thus return an address's messages in
// order, one each: a test triggers an email, then Waits for it.
func (b *Mailbox) Wait(ctx context.Context, to string) (Captured, error) {
	want := store.NormalizeEmail(to)
	for {
		b.mu.Lock()
		for _, m := range b.msgs {
			if m.seq > b.waited[want] && store.NormalizeEmail(m.To) == want {
				b.waited[want] = m.seq
				b.mu.Unlock()
				return m, nil
			}
		}
		changed := b.changed
		b.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return Captured{}, context.Cause(ctx)
		}
	}
}

// Clear drops every kept message and forgets what Wait returned.
func (b *Mailbox) Clear() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.msgs = nil
	clear(b.waited)
}

// Mount registers the mailbox's pages on mux under prefix: "/dev/mail",
// "/dev/mail/" and "dev/mail" all serve the list at /dev/mail/, as
// ServeHTTP describes (GET and HEAD only).
func (b *Mailbox) Mount(mux *http.ServeMux, prefix string) {
	prefix = "/" + strings.Trim(prefix, "/")
	if prefix == "/" {
		prefix = ""
	}
	mux.Handle("GET "+prefix+"/", http.StripPrefix(prefix, b))
}

// ServeHTTP serves the mailbox's pages. Paths are relative to where the
// handler is mounted (use [http.StripPrefix] or [Mailbox.Mount]), and
// every link is relative, so any prefix works:
//
//	GET /                       list of messages, newest first (?to= filters)
//	GET /messages.json?to=addr  the same as JSON: [{id, to, subject, text, html, sent_at}]
//	GET /messages/{id}          one message: headers, text part, HTML part in a sandboxed frame
//	GET /messages/{id}/html     the HTML part alone, under "Content-Security-Policy: sandbox"
//	GET /messages/{id}/text     the text part alone, as text/plain
//	GET /style.css              the pages' stylesheet
//
// The pages have no script and no inline style, so they work under a
// strict Content-Security-Policy; they send their own restrictive one.
// Only GET and HEAD are answered.
func (b *Mailbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")

	path := r.URL.Path
	switch {
	case path == "":
		// Mounted without a trailing slash: relative links need one.
		u, err := url.ParseRequestURI(r.RequestURI)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		// A relative target ("./mail/" for "/dev/mail") cannot point off-site.
		// (Set by hand: http.Redirect would resolve it against the
		// stripped path.)
		h.Set("Location", "./"+pathpkg.Base(u.Path)+"/")
		w.WriteHeader(http.StatusMovedPermanently)
	case path == "/":
		b.serveIndex(w, r)
	case path == "/style.css":
		h.Set("Content-Type", "text/css; charset=utf-8")
		_, _ = w.Write([]byte(mailboxCSS))
	case path == "/messages.json":
		h.Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(b.Messages(r.URL.Query().Get("to")))
	case strings.HasPrefix(path, "/messages/"):
		id, part, _ := strings.Cut(strings.TrimPrefix(path, "/messages/"), "/")
		m, ok := b.Message(id)
		if !ok {
			http.NotFound(w, r)
			return
		}
		switch part {
		case "":
			b.serveMessage(w, m)
		case "html":
			// The HTML part is untrusted content: an opaque origin, no
			// script, no plugins, no forms; styles and images it carries
			// still render.
			h.Set("Content-Security-Policy", "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data: http: https:; font-src data:; frame-ancestors 'self'")
			h.Set("X-Frame-Options", "SAMEORIGIN")
			h.Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(m.HTML))
		case "text":
			h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
			h.Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte(m.Text))
		default:
			http.NotFound(w, r)
		}
	default:
		http.NotFound(w, r)
	}
}

// pageCSP is the policy of the mailbox's own pages: the stylesheet and
// same-origin frames only.
const pageCSP = "default-src 'none'; style-src 'self'; frame-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"

func (b *Mailbox) serveIndex(w http.ResponseWriter, r *http.Request) {
	to := r.URL.Query().Get("to")
	b.render(w, indexTemplate, map[string]any{"To": to, "Messages": b.Messages(to)})
}

func (b *Mailbox) serveMessage(w http.ResponseWriter, m Captured) {
	b.render(w, messageTemplate, m)
}

func (b *Mailbox) render(w http.ResponseWriter, t *template.Template, data any) {
	var buf strings.Builder
	if err := t.Execute(&buf, data); err != nil {
		http.Error(w, "template error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(buf.String()))
}

//go:embed mailbox.css
var mailboxCSS string

var funcs = template.FuncMap{
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
}

// The index is served at the mount point's "/", the message page at
// "/messages/{id}": links are relative to each.
var indexTemplate = template.Must(template.New("index").Funcs(funcs).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Development mailbox</title>
<link rel="stylesheet" href="style.css">
</head>
<body>
<header>
<h1>Development mailbox</h1>
<p class="warning">Development only: every message below, with its links and codes, is visible to anyone who can open this page.</p>
<form method="get" action="./">
<label for="to">Recipient</label>
<input id="to" name="to" type="email" value="{{.To}}" placeholder="user@example.com">
<button type="submit">Filter</button>
{{if .To}}<a href="./">Show all</a>{{end}}
<a href="messages.json{{if .To}}?to={{.To}}{{end}}">JSON</a>
</form>
</header>
<main>
{{if .Messages}}
<table>
<thead><tr><th scope="col">Sent</th><th scope="col">To</th><th scope="col">Subject</th></tr></thead>
<tbody>
{{range .Messages}}<tr><td><time datetime="{{.SentAt.Format "2006-01-02T15:04:05Z07:00"}}">{{when .SentAt}}</time></td><td>{{.To}}</td><td><a href="messages/{{.ID}}">{{if .Subject}}{{.Subject}}{{else}}(no subject){{end}}</a></td></tr>
{{end}}</tbody>
</table>
{{else}}
<p class="empty">No messages{{if .To}} to {{.To}}{{end}}.</p>
{{end}}
</main>
</body>
</html>
`))

var messageTemplate = template.Must(template.New("message").Funcs(funcs).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Subject}} - Development mailbox</title>
<link rel="stylesheet" href="../style.css">
</head>
<body>
<header>
<p><a href="../">All messages</a></p>
<h1>{{if .Subject}}{{.Subject}}{{else}}(no subject){{end}}</h1>
<dl>
<dt>To</dt><dd>{{.To}}</dd>
{{if .ReplyTo}}<dt>Reply-To</dt><dd>{{.ReplyTo}}</dd>{{end}}
<dt>Sent</dt><dd><time datetime="{{.SentAt.Format "2006-01-02T15:04:05Z07:00"}}">{{when .SentAt}}</time></dd>
</dl>
</header>
<main>
{{if .HTML}}<section>
<h2>HTML part <a href="{{.ID}}/html">open alone</a></h2>
<iframe title="HTML part" sandbox src="{{.ID}}/html"></iframe>
</section>{{end}}
<section>
<h2>Text part <a href="{{.ID}}/text">open alone</a></h2>
<pre>{{.Text}}</pre>
</section>
</main>
</body>
</html>
`))
