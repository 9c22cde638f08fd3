package httpauth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/identity/oidc"
)

// DefaultOIDCPrefix is where [Auth.OIDC]'s handler serves when OIDCConfig.Prefix is "".
const DefaultOIDCPrefix = "/auth/oidc/"

// OIDCFlowMaxAge is how long a started sign-in may take at the provider: 10 minutes.
const OIDCFlowMaxAge = 10 * time.Minute

// OIDCProvider is one OpenID provider of the authorization-code flow.
type OIDCProvider struct {
	// Verifier names the issuer and the client id and verifies the ID tokens. The engine must
	// have the same verifier under the same name in authcube.Config.Providers: the sign-in
	// goes through the engine. Required.
	Verifier *oidc.Verifier
	// ClientSecret is the app's secret at the provider ("" for a public client, which PKCE
	// protects alone).
	ClientSecret string
	// RedirectURL is the absolute URL of this provider's callback as registered at the
	// provider: "https://app.example.com/auth/oidc/google/callback". Required.
	RedirectURL string
	// Scopes asked for; nil means openid, email and profile ("openid" is always added).
	Scopes []string
}

// OIDCConfig configures [Auth.OIDC].
type OIDCConfig struct {
	// Providers by name, the name used in the paths and in authcube.Credentials.Provider.
	Providers map[string]OIDCProvider
	// Prefix is the path the handler is mounted at; "" means DefaultOIDCPrefix. It serves
	// GET {Prefix}{name}/start?next=/page and GET {Prefix}{name}/callback.
	Prefix string
	// AfterSignIn is where a sign-in without "next" lands; "" means "/".
	AfterSignIn string
}

// oidcFlow is the state of one started sign-in, kept in a short-lived cookie.
type oidcFlow struct {
	Provider string    `json:"p"`
	State    string    `json:"s"`
	Nonce    string    `json:"n"`
	Verifier string    `json:"v"`
	Next     string    `json:"r"`
	Link     bool      `json:"l,omitempty"`
	Expires  time.Time `json:"e"`
}

// OIDC returns the handler of the OpenID Connect authorization-code flow (S43), to mount at
// cfg.Prefix behind Middleware:
//
//   - GET {Prefix}{name}/start?next=/page makes a fresh state, nonce and PKCE verifier (S256),
//     keeps them in an HttpOnly cookie for OIDCFlowMaxAge, and redirects to the provider. With
//     link=1 (a signed-in user only, else 401) the callback links the provider's identity to
//     the signed-in user (authcube.Engine.LinkIdentity) instead of signing in.
//   - GET {Prefix}{name}/callback takes the cookie once (it is cleared whatever happens),
//     requires the state to match, exchanges the code with the PKCE verifier, and signs in with
//     the ID token through the engine, which verifies it with the nonce (SignInWith: a fresh
//     session, S17). Then it redirects (303) to "next" (a path on this site only) or
//     AfterSignIn.
//
// A refused callback (state, nonce, a code the provider refuses, the provider's own error)
// is answered 401 problem+json with ErrInvalidCredentials; the user is not signed in. Users
// are keyed by (provider, subject), never matched by email (S22). New fails when a provider
// lacks a Verifier or a RedirectURL.
func (a *Auth) OIDC(cfg OIDCConfig) (http.Handler, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultOIDCPrefix
	}
	if !strings.HasSuffix(cfg.Prefix, "/") {
		cfg.Prefix += "/"
	}
	if cfg.AfterSignIn == "" {
		cfg.AfterSignIn = "/"
	}
	for name, p := range cfg.Providers {
		if p.Verifier == nil || p.RedirectURL == "" || name == "" || strings.Contains(name, "/") {
			return nil, fmt.Errorf("httpauth: oidc: provider %q: a name without '/', a Verifier and a RedirectURL are required", name)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+cfg.Prefix+"{provider}/start", func(w http.ResponseWriter, r *http.Request) {
		a.oidcStart(w, r, cfg)
	})
	mux.HandleFunc("GET "+cfg.Prefix+"{provider}/callback", func(w http.ResponseWriter, r *http.Request) {
		a.oidcCallback(w, r, cfg)
	})
	return a.Middleware(mux), nil
}

func (a *Auth) oidcCookieName() string {
	if a.cfg.Insecure {
		return "authcube-oidc"
	}
	return "__Host-authcube-oidc"
}

func oauthConfig(p OIDCProvider, ep oauth2.Endpoint) *oauth2.Config {
	scopes := p.Scopes
	if scopes == nil {
		scopes = []string{"email", "profile"}
	}
	all := []string{gooidc.ScopeOpenID}
	for _, s := range scopes {
		if s != gooidc.ScopeOpenID {
			all = append(all, s)
		}
	}
	return &oauth2.Config{ClientID: p.Verifier.ClientID(), ClientSecret: p.ClientSecret, RedirectURL: p.RedirectURL, Endpoint: ep, Scopes: all}
}

func random() string {
	return base64.RawURLEncoding.EncodeToString([]byte(rand.Text()))
}

// localPath returns next when it is a path on this site ("/x", not "//host" or "/\host"),
// else def.
func localPath(next, def string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n") {
		return def
	}
	return next
}

func (a *Auth) oidcStart(w http.ResponseWriter, r *http.Request, cfg OIDCConfig) {
	name := r.PathValue("provider")
	p, ok := cfg.Providers[name]
	if !ok {
		WriteError(w, r, authcube.ErrNotFound)
		return
	}
	prov, err := p.Verifier.Provider(r.Context())
	if err != nil {
		a.log.Warn("httpauth: oidc: provider unavailable", "provider", name, "err", err)
		WriteError(w, r, err)
		return
	}
	f := oidcFlow{Provider: name, State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier(),
		Next: localPath(r.URL.Query().Get("next"), cfg.AfterSignIn), Expires: time.Now().Add(OIDCFlowMaxAge)}
	if r.URL.Query().Get("link") == "1" {
		if _, ok := UserFrom(r.Context()); !ok {
			WriteError(w, r, authcube.ErrUnauthorized)
			return
		}
		f.Link = true
	}
	b, _ := json.Marshal(f)
	a.setCookie(w, a.oidcCookieName(), base64.RawURLEncoding.EncodeToString(b), int(OIDCFlowMaxAge/time.Second))
	u := oauthConfig(p, prov.Endpoint()).AuthCodeURL(f.State, oauth2.S256ChallengeOption(f.Verifier), gooidc.Nonce(f.Nonce))
	http.Redirect(w, r, u, http.StatusSeeOther)
}

func (a *Auth) oidcCallback(w http.ResponseWriter, r *http.Request, cfg OIDCConfig) {
	name := r.PathValue("provider")
	refuse := func(why string) {
		a.log.Info("httpauth: oidc: sign-in refused", "provider", name, "why", why)
		WriteError(w, r, authcube.ErrInvalidCredentials)
	}
	p, ok := cfg.Providers[name]
	if !ok {
		WriteError(w, r, authcube.ErrNotFound)
		return
	}
	c, err := r.Cookie(a.oidcCookieName())
	a.clearCookie(w, a.oidcCookieName()) // single use, whatever happens
	if err != nil {
		refuse("no flow cookie")
		return
	}
	var f oidcFlow
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || json.Unmarshal(raw, &f) != nil || f.State == "" || f.Nonce == "" || f.Verifier == "" {
		refuse("malformed flow cookie")
		return
	}
	q := r.URL.Query()
	switch {
	case f.Provider != name:
		refuse("flow of another provider")
		return
	case time.Now().After(f.Expires):
		refuse("flow expired")
		return
	case subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.State)) != 1:
		refuse("state does not match")
		return
	case q.Get("error") != "":
		refuse("provider error: " + q.Get("error"))
		return
	case q.Get("code") == "":
		refuse("no code")
		return
	}
	prov, err := p.Verifier.Provider(r.Context())
	if err != nil {
		WriteError(w, r, err)
		return
	}
	ctx := p.Verifier.Context(r.Context())
	tok, err := oauthConfig(p, prov.Endpoint()).Exchange(ctx, q.Get("code"), oauth2.VerifierOption(f.Verifier))
	if err != nil {
		refuse("code exchange: " + err.Error())
		return
	}
	idToken, _ := tok.Extra("id_token").(string)
	if idToken == "" {
		refuse("no id_token")
		return
	}
	if f.Link {
		// Linking to the signed-in user: the engine verifies the token with the nonce.
		err := a.e.LinkIdentity(oidc.WithNonce(r.Context(), f.Nonce), TokenFrom(r.Context()),
			authcube.Credentials{Provider: name, Token: idToken})
		if err != nil {
			if errors.Is(err, authcube.ErrInvalidCredentials) {
				refuse("id token refused")
				return
			}
			WriteError(w, r, err)
			return
		}
		http.Redirect(w, r, localPath(f.Next, cfg.AfterSignIn), http.StatusSeeOther)
		return
	}
	_, err = a.SignInWith(w, r.WithContext(oidc.WithNonce(r.Context(), f.Nonce)),
		authcube.Credentials{Provider: name, Token: idToken}, SignInOptions{})
	if err != nil {
		if errors.Is(err, authcube.ErrInvalidCredentials) {
			refuse("id token refused")
			return
		}
		WriteError(w, r, err)
		return
	}
	http.Redirect(w, r, localPath(f.Next, cfg.AfterSignIn), http.StatusSeeOther)
}
