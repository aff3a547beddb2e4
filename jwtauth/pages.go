package jwtauth

import (
	"embed"
	"io/fs"
	"net/http"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/ui"
)

//go:embed templates
var templates embed.FS

// PackName is the name of the package's pack in a [ui.UI].
const PackName = "jwtauth"

// PathRevokeClient is the route that revokes one of the signed-in user's
// families from the settings page (route name "api_access_revoke").
const PathRevokeClient = "/token/clients/revoke"

// Pages returns the package's share of the UI: the settings section
// "api_access" (*AccessSection), which lists the apps holding tokens for
// the user with a revoke button each, the route api_access_revoke and the
// notice api_access_revoked. Give it to ui.New in Config.Packs when
// Config.UI is set; [New] refuses a UI without it.
func Pages() ui.Pack {
	files, _ := fs.Sub(templates, "templates")
	return ui.Pack{
		Name:     PackName,
		Files:    files,
		Sections: map[string]any{"api_access": &AccessSection{}},
		Routes:   map[string]string{"api_access_revoke": PathRevokeClient},
		Notices:  map[string]string{"api_access_revoked": "The app's access was revoked."},
	}
}

// AccessSection is the data of the settings section "api_access" (and its
// part of the settings page's JSON answer).
type AccessSection struct {
	// Clients are the user's live families, newest first.
	Clients []Client `json:"clients"`
}

// Client is one family as the user sees it: an app signed in as them.
type Client struct {
	// ID identifies the family; the revoke form sends it as "id".
	ID string `json:"id"`
	// Name is the name the client gave itself (not verified); may be empty.
	Name string `json:"name"`
	// Scopes are the granted scopes.
	Scopes []string `json:"scopes"`
	// CreatedAt is when the client exchanged its session.
	CreatedAt time.Time `json:"created_at"`
}

// Section returns the settings section that lists the apps holding tokens
// for the signed-in user, for account.Config.Sections (kit adds it). It is
// left out when there are none. It needs Config.UI.
func (j *JWT) Section() ui.Section {
	return ui.Section{Name: "api_access", Order: 35, Data: func(r *http.Request) (any, error) {
		u := sigra.UserFrom(r.Context())
		if u == nil {
			return nil, nil
		}
		list, err := j.st.UserRefreshFamilies(r.Context(), u.ID, j.site.Now())
		if err != nil || len(list) == 0 {
			return nil, err
		}
		s := &AccessSection{Clients: make([]Client, 0, len(list))}
		for _, f := range list {
			s.Clients = append(s.Clients, Client{ID: f.ID, Name: f.ClientName, Scopes: f.Scopes, CreatedAt: f.CreatedAt})
		}
		return s, nil
	}}
}
