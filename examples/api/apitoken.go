package main

import (
	"net/http"

	"github.com/sigra-go/sigra/apitoken"
)

// apiTokens protects the API with API tokens: personal access tokens and
// service accounts' access tokens, sent as Authorization: Bearer. A
// handler with a scope needs a token that carries it.
func apiTokens(t *apitoken.APITokens) protect {
	return func(scope string, h http.Handler) http.Handler {
		if scope != "" {
			h = t.RequireScopes(scope)(h)
		}
		return t.Bearer(h)
	}
}
