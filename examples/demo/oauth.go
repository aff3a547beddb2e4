package main

import (
	"github.com/sigra-go/sigra/oauth"
	"github.com/sigra-go/sigra/site"
)

// The environment variables that turn on each real provider: a provider
// is offered when its client ID is set, with the secret beside it. The
// callback URL to register at the provider is
// <base URL>/auth/oauth/<name>/callback (name: google, github, microsoft,
// gitlab, apple). MICROSOFT_TENANT defaults to "common"; APPLE_CLIENT_SECRET
// is the signed client secret (a JWT).
var envProviders = []struct {
	id, secret string
	make       func(id, secret string, getenv func(string) string) oauth.Provider
}{
	{"GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET", func(id, s string, _ func(string) string) oauth.Provider { return oauth.Google(id, s) }},
	{"GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET", func(id, s string, _ func(string) string) oauth.Provider { return oauth.GitHub(id, s) }},
	{"MICROSOFT_CLIENT_ID", "MICROSOFT_CLIENT_SECRET", func(id, s string, getenv func(string) string) oauth.Provider {
		return oauth.Microsoft(getenv("MICROSOFT_TENANT"), id, s)
	}},
	{"GITLAB_CLIENT_ID", "GITLAB_CLIENT_SECRET", func(id, s string, _ func(string) string) oauth.Provider { return oauth.GitLab(id, s) }},
	{"APPLE_CLIENT_ID", "APPLE_CLIENT_SECRET", func(id, s string, _ func(string) string) oauth.Provider { return oauth.Apple(id, s) }},
}

// localCallback is the local provider's callback under the site's prefix:
// the redirect URI the demo registers there.
const localCallback = "/oauth/local/callback"

// ProvidersFromEnv returns the providers whose client IDs getenv finds.
func ProvidersFromEnv(getenv func(string) string) []oauth.Provider {
	var ps []oauth.Provider
	for _, e := range envProviders {
		if id := getenv(e.id); id != "" {
			ps = append(ps, e.make(id, getenv(e.secret), getenv))
		}
	}
	return ps
}

// providers returns the providers the demo offers: cfg.Providers, or,
// when there are none and the site is local (development), a local OpenID
// provider started here (oauth2-proxy/mockoidc behind a consent page, see
// consent.go), which signs in jane.doe@example.com or a second test
// account once the user allows it, so that "Continue with Local ID" works
// without credentials. stop shuts the local provider down.
func (a *App) providers(s *site.Site) (ps []oauth.Provider, stop func(), err error) {
	if len(a.cfg.Providers) > 0 || a.cfg.NoLocalIDP || s.Secure() {
		return a.cfg.Providers, func() {}, nil
	}
	l, err := startLocalIDP(s.URL(s.Path(localCallback), nil))
	if err != nil {
		return nil, nil, err
	}
	p := oauth.OIDC("local", "Local ID", l.m.Issuer(), l.m.ClientID, l.m.ClientSecret)
	return []oauth.Provider{p}, l.close, nil
}
