// Package profile is a feature an application adds to Sigra without
// changing Sigra: a display name for every user, kept in the application's
// own table in the same SQLite database, asked for at registration (through
// the account hooks and an override of the registration page), shown and
// edited in its own settings section and on its own page, with its own
// notice.
//
// It is the "custom user fields" recipe: a pack for the UI (pages,
// sections, routes, notices, navigation), a settings section, two account
// hooks, and a store of its own.
package profile

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/store/sqlite"
	"github.com/sigra-go/sigra/ui"
)

//go:embed templates overrides
var files embed.FS

// MaxName is the longest display name accepted, in characters.
const MaxName = 60

// Store keeps display names in the table profile_names, beside Sigra's
// tables in the same database. Rows go with their user: the foreign key
// deletes a user's row when the account is deleted.
type Store struct{ db *sqlite.DB }

// OpenStore creates the table if needed and returns the store.
func OpenStore(ctx context.Context, db *sqlite.DB) (*Store, error) {
	_, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS profile_names (
		user_id      TEXT PRIMARY KEY REFERENCES sigra_users(id) ON DELETE CASCADE,
		display_name TEXT NOT NULL,
		updated_at   INTEGER NOT NULL
	)`)
	if err != nil {
		return nil, fmt.Errorf("profile: create table: %w", err)
	}
	return &Store{db: db}, nil
}

// DisplayName returns the user's display name, or "" if none is set.
func (s *Store) DisplayName(ctx context.Context, userID string) (string, error) {
	var name string
	err := s.db.QueryRowContext(ctx, `SELECT display_name FROM profile_names WHERE user_id = ?`, userID).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return name, err
}

// SetDisplayName sets the user's display name.
func (s *Store) SetDisplayName(ctx context.Context, userID, name string, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO profile_names (user_id, display_name, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET display_name = excluded.display_name, updated_at = excluded.updated_at`,
		userID, name, now.UnixMilli())
	return err
}

// CheckName returns the display name cleaned of surrounding space, or a
// message saying why it is refused.
func CheckName(s string) (string, string) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", "Enter a display name."
	case !utf8.ValidString(s):
		return "", "Use ordinary characters."
	case utf8.RuneCountInString(s) > MaxName:
		return "", fmt.Sprintf("Use at most %d characters.", MaxName)
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return "", "Use ordinary characters."
		}
	}
	return s, ""
}

// PageData is the Data of the "profile" page.
type PageData struct {
	DisplayName string
	Email       string
	Since       time.Time
}

// SectionData is the Data of the settings section "profile".
type SectionData struct {
	DisplayName string `json:"display_name"`
}

// Pages returns the feature's share of the UI.
func Pages() ui.Pack {
	sub, _ := fs.Sub(files, "templates")
	return ui.Pack{
		Name:     "profile",
		Files:    sub,
		Pages:    map[string]any{"profile": &PageData{}},
		Sections: map[string]any{"profile": &SectionData{}},
		Routes:   map[string]string{"profile": "/profile", "profile_save": "/profile/name"},
		Notices:  map[string]string{"profile_saved": "Your display name was saved."},
		Nav:      []ui.NavItem{{Route: "profile", Label: "Profile", Icon: "user", Order: 15}},
	}
}

// Overrides returns the override of the registration page that adds the
// display name field (give it to ui.Config.Overrides or kit.Config.Overrides).
func Overrides() fs.FS {
	sub, _ := fs.Sub(files, "overrides")
	return sub
}

// Profile serves the feature. Create it with New, give its hooks to the
// account flows and its section to their settings page, then Mount it.
type Profile struct {
	st    *Store
	views *ui.UI
	guard *middleware.Guard
}

// New returns the feature over st.
func New(st *Store) *Profile { return &Profile{st: st} }

// Section returns the profile's part of the settings page, shown first.
func (p *Profile) Section() ui.Section {
	return ui.Section{Name: "profile", Order: 5, Data: func(r *http.Request) (any, error) {
		u := sigra.UserFrom(r.Context())
		if u == nil {
			return nil, nil
		}
		name, err := p.st.DisplayName(r.Context(), u.ID)
		if err != nil {
			return nil, err
		}
		return &SectionData{DisplayName: name}, nil
	}}
}

// Hooks sets the registration hooks on h: the registration takes the
// field display_name, BeforeRegister refuses a missing or unusable one at
// its field, AfterRegister stores it.
func (p *Profile) Hooks(h *account.Hooks) {
	h.Fields = append(h.Fields, "display_name")
	h.BeforeRegister = func(ctx context.Context, fields map[string]string) error {
		if _, msg := CheckName(fields["display_name"]); msg != "" {
			return &account.FieldError{Field: "display_name", Message: msg}
		}
		return nil
	}
	h.AfterRegister = func(ctx context.Context, u *sigra.User, fields map[string]string) {
		name, _ := CheckName(fields["display_name"])
		if err := p.st.SetDisplayName(ctx, u.ID, name, time.Now()); err != nil {
			// The account exists; the user can set the name in settings.
			slog.ErrorContext(ctx, "profile: display name not saved", "user", u.ID, "err", err)
		}
	}
}

// Mount registers the profile page and the save route on mux, under the
// site's prefix, both for signed-in users.
func (p *Profile) Mount(mux *http.ServeMux, views *ui.UI, guard *middleware.Guard) {
	p.views, p.guard = views, guard
	page, _ := views.Route("profile")
	save, _ := views.Route("profile_save")
	mux.Handle("GET "+page, guard.RequireUser(http.HandlerFunc(p.page)))
	mux.Handle("POST "+save, guard.RequireUser(middleware.LimitBody(0)(http.HandlerFunc(p.save))))
}

func (p *Profile) data(r *http.Request) (*PageData, error) {
	u := sigra.UserFrom(r.Context())
	name, err := p.st.DisplayName(r.Context(), u.ID)
	if err != nil {
		return nil, err
	}
	return &PageData{DisplayName: name, Email: u.Email, Since: u.CreatedAt}, nil
}

func (p *Profile) page(w http.ResponseWriter, r *http.Request) {
	d, err := p.data(r)
	if err != nil {
		p.views.Render(w, r, http.StatusInternalServerError, "error", &ui.Page{Data: &ui.ErrorData{Status: http.StatusInternalServerError}})
		return
	}
	p.views.Render(w, r, http.StatusOK, "profile", &ui.Page{Data: d})
}

// save sets the display name and goes back to the settings page with the
// feature's notice; a refused name shows the profile page with the message
// at the field.
func (p *Profile) save(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "The form could not be read.", http.StatusBadRequest)
		return
	}
	name, msg := CheckName(r.PostForm.Get("display_name"))
	if msg != "" {
		d, err := p.data(r)
		if err != nil {
			p.views.Render(w, r, http.StatusInternalServerError, "error", &ui.Page{Data: &ui.ErrorData{Status: http.StatusInternalServerError}})
			return
		}
		p.views.Render(w, r, http.StatusUnprocessableEntity, "profile", &ui.Page{
			Data: d, FieldErrors: map[string]string{"display_name": msg},
			Values: map[string]string{"display_name": r.PostForm.Get("display_name")},
		})
		return
	}
	u := sigra.UserFrom(r.Context())
	if err := p.st.SetDisplayName(r.Context(), u.ID, name, time.Now()); err != nil {
		p.views.Render(w, r, http.StatusInternalServerError, "error", &ui.Page{Data: &ui.ErrorData{Status: http.StatusInternalServerError}})
		return
	}
	settings, _ := p.views.Route(ui.RouteSettings)
	http.Redirect(w, r, settings+"?notice=profile_saved", http.StatusSeeOther)
}
