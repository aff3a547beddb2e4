package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"strings"

	"github.com/sigra-go/sigra/jwtauth"
)

// jwtTokens protects the API with JWT access tokens: a client signs in
// (POST /auth/login, JSON), exchanges its session for an access token and
// a refresh token (POST /auth/token), and sends the access token as
// Authorization: Bearer. A handler with a scope needs a token that
// carries it.
func jwtTokens(j *jwtauth.JWT) protect {
	return func(scope string, h http.Handler) http.Handler {
		if scope != "" {
			h = jwtauth.RequireScopes(scope)(h)
		}
		return j.Require(h)
	}
}

// either sends a request whose bearer token is a JWT (three parts joined
// by dots) through jwt, and any other request through api: the API
// takes both kinds of token on the same routes.
func either(jwt, api protect) protect {
	return func(scope string, h http.Handler) http.Handler {
		viaJWT, viaAPI := jwt(scope, h), api(scope, h)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if ok && strings.Count(tok, ".") == 2 {
				viaJWT.ServeHTTP(w, r)
				return
			}
			viaAPI.ServeHTTP(w, r)
		})
	}
}

// jwtKey returns the key that signs the access tokens, kept in the PEM
// file path (created on first use). A real application reads it from its
// secret store; keep it out of the database.
func jwtKey(path string) (jwtauth.Key, error) {
	const id = "api-1"
	b, err := os.ReadFile(path)
	if err == nil {
		return jwtauth.ParseKey(id, b)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return jwtauth.Key{}, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return jwtauth.Key{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return jwtauth.Key{}, err
	}
	b = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return jwtauth.Key{}, err
	}
	return jwtauth.ParseKey(id, b)
}
