package apitoken

import (
	"net/http"

	"github.com/sigra-go/sigra/internal/kernel"
)

// forms returns the schemas of the POST routes, keyed as Mount registers
// them (see kernel.Fields for how a JSON body and a form are read against
// them). Scopes come as one space-separated "scopes" field (JSON) or as
// one checkbox "scope:<name>" per declared scope (the pages' forms).
func (a *APITokens) forms() map[string]kernel.Fields {
	p := func(path string) string { return http.MethodPost + " " + path }
	withScopes := func(f kernel.Fields) kernel.Fields {
		f["scopes"] = kernel.Text
		for _, s := range a.cfg.Scopes {
			f["scope:"+s.Name] = kernel.Bool
		}
		return f
	}
	return map[string]kernel.Fields{
		p(pathTokens):          withScopes(kernel.Fields{"name": kernel.Text, "expires_in_days": kernel.Text}),
		p(pathRevoke):          {"id": kernel.Text},
		p(pathRevokeAll):       {},
		p(pathServiceAccounts): withScopes(kernel.Fields{"name": kernel.Text, "org_id": kernel.Text}),
		p(pathServiceRotate):   {"org_id": kernel.Text, "client_id": kernel.Text},
		p(pathServiceDelete):   {"org_id": kernel.Text, "client_id": kernel.Text},
		p(pathToken): {
			"grant_type": kernel.Text, "client_id": kernel.Text, "client_secret": kernel.Text, "scope": kernel.Text,
		},
	}
}

// requestedScopes returns the scopes a form or JSON body asks for.
func (a *APITokens) requestedScopes(in kernel.Input) []string {
	out := []string{in["scopes"]}
	for _, s := range a.cfg.Scopes {
		if in.Bool("scope:" + s.Name) {
			out = append(out, s.Name)
		}
	}
	return out
}
