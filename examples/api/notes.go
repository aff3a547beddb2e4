package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sigra-go/sigra"
)

// protect wraps an API handler so that only authenticated requests with
// scope (none when empty) reach it. Each way of authenticating provides
// one.
type protect func(scope string, h http.Handler) http.Handler

// note is one note of an owner: a user or a service account.
type note struct {
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"created_at"`
}

// notes keeps every owner's notes in memory (an example's data; a real
// API keeps its own in its database).
type notes struct {
	mu     sync.Mutex
	byUser map[string][]note
}

func newNotes() *notes { return &notes{byUser: map[string][]note{}} }

// mount registers the API under prefix:
//
//	GET  <prefix>/whoami   who the request authenticated as
//	GET  <prefix>/notes    the caller's notes (notes:read)
//	POST <prefix>/notes    add a note {"text": "..."} (notes:write)
func (n *notes) mount(mux *http.ServeMux, prefix string, p protect) {
	mux.Handle("GET "+prefix+"/whoami", p("", http.HandlerFunc(whoami)))
	mux.Handle("GET "+prefix+"/notes", p("notes:read", http.HandlerFunc(n.list)))
	mux.Handle("POST "+prefix+"/notes", p("notes:write", http.HandlerFunc(n.add)))
}

func whoami(w http.ResponseWriter, r *http.Request) {
	a, u := sigra.AuthFrom(r.Context()), sigra.UserFrom(r.Context())
	reply(w, http.StatusOK, map[string]any{
		"id": u.ID, "email": u.Email, "service_account": a.ServiceAccount, "org": a.ActiveOrg, "scopes": a.Scopes,
	})
}

func (n *notes) list(w http.ResponseWriter, r *http.Request) {
	id := sigra.UserFrom(r.Context()).ID
	n.mu.Lock()
	list := append([]note{}, n.byUser[id]...)
	n.mu.Unlock()
	reply(w, http.StatusOK, map[string]any{"notes": list})
}

func (n *notes) add(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Text string `json:"text"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || strings.TrimSpace(in.Text) == "" {
		reply(w, http.StatusBadRequest, map[string]any{"error": map[string]any{
			"code": "invalid_input", "message": "Send {\"text\": \"...\"}.", "fields": map[string]string{"text": "Enter a note."},
		}})
		return
	}
	id := sigra.UserFrom(r.Context()).ID
	nt := note{Text: strings.TrimSpace(in.Text), CreatedAt: time.Now().UTC()}
	n.mu.Lock()
	n.byUser[id] = append(n.byUser[id], nt)
	n.mu.Unlock()
	reply(w, http.StatusCreated, nt)
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
