package oidc_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/identity"
	"github.com/authcube/authcube/identity/oidc"
	"github.com/authcube/authcube/identity/oidc/oidctest"
)

func verifier(t *testing.T, p *oidctest.Provider, clientID string, now func() time.Time) *oidc.Verifier {
	t.Helper()
	v, err := oidc.New(oidc.Config{Issuer: p.Issuer, ClientID: clientID, Now: now})
	require.NoError(t, err)
	return v
}

func TestVerifyTokenFromRealProvider(t *testing.T) {
	p := oidctest.New(t)
	tok, err := p.IDToken(t.Context(), "n-1")
	require.NoError(t, err)

	v := verifier(t, p, p.ClientID, nil)
	c, err := v.VerifyToken(t.Context(), tok)
	require.NoError(t, err)
	assert.Equal(t, oidctest.Subject, c.Subject)
	assert.Equal(t, oidctest.Email, c.Email)
	assert.True(t, c.EmailVerified)
	assert.False(t, c.ExpiresAt.IsZero())

	c, err = v.VerifyNonce(t.Context(), tok, "n-1")
	require.NoError(t, err)
	assert.Equal(t, oidctest.Subject, c.Subject)
	_, err = v.VerifyToken(oidc.WithNonce(t.Context(), "n-1"), tok)
	require.NoError(t, err)
}

func TestVerifyTokenRefusals(t *testing.T) {
	p := oidctest.New(t)
	tok, err := p.IDToken(t.Context(), "n-1")
	require.NoError(t, err)
	good := verifier(t, p, p.ClientID, nil)

	parts := strings.Split(tok, ".")
	require.Len(t, parts, 3)
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), oidctest.Subject, "id1", 1))) + "." + parts[2]
	sig := []byte(parts[2])
	sig[10] ^= 1
	badSig := parts[0] + "." + parts[1] + "." + string(sig)

	for name, check := range map[string]func() error{
		"wrong audience": func() error {
			_, err := verifier(t, p, "another-app", nil).VerifyToken(t.Context(), tok)
			return err
		},
		"expired": func() error {
			later := func() time.Time { return time.Now().Add(25 * time.Hour) }
			_, err := verifier(t, p, p.ClientID, later).VerifyToken(t.Context(), tok)
			return err
		},
		"wrong nonce": func() error {
			_, err := good.VerifyNonce(t.Context(), tok, "n-2")
			return err
		},
		"wrong nonce on ctx": func() error {
			_, err := good.VerifyToken(oidc.WithNonce(t.Context(), "n-2"), tok)
			return err
		},
		"tampered payload": func() error {
			_, err := good.VerifyToken(t.Context(), tampered)
			return err
		},
		"tampered signature": func() error {
			_, err := good.VerifyToken(t.Context(), badSig)
			return err
		},
		"not a token": func() error {
			_, err := good.VerifyToken(t.Context(), "abc")
			return err
		},
	} {
		err := check()
		assert.ErrorIs(t, err, identity.ErrRejected, name)
	}
	// The good token still passes: the refusals are the checks, not a broken setup.
	_, err = good.VerifyToken(t.Context(), tok)
	require.NoError(t, err)
}

func TestWrongIssuerRefused(t *testing.T) {
	p := oidctest.New(t)
	tok, err := p.IDToken(t.Context(), "n")
	require.NoError(t, err)
	// A second provider: its own keys and issuer; a token of the first is not its.
	q := oidctest.New(t)
	_, err = verifier(t, q, p.ClientID, nil).VerifyToken(t.Context(), tok)
	assert.ErrorIs(t, err, identity.ErrRejected)
}

func TestIssuerMustBeHTTPS(t *testing.T) {
	for _, iss := range []string{"http://accounts.example.com", "ftp://x", "", "accounts.google.com", "http://10.0.0.1"} {
		_, err := oidc.New(oidc.Config{Issuer: iss, ClientID: "c"})
		assert.Error(t, err, iss)
	}
	for _, iss := range []string{"https://accounts.example.com", "http://127.0.0.1:8080", "http://localhost", "http://[::1]:9"} {
		_, err := oidc.New(oidc.Config{Issuer: iss, ClientID: "c"})
		assert.NoError(t, err, iss)
	}
	_, err := oidc.New(oidc.Config{Issuer: "https://a.example", ClientID: ""})
	assert.Error(t, err)
}

func TestDiscoveryRefusesPlainHTTPKeys(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"issuer":"` + srv.URL + `","jwks_uri":"http://keys.example.com/jwks","authorization_endpoint":"` + srv.URL + `/auth","token_endpoint":"` + srv.URL + `/token","id_token_signing_alg_values_supported":["RS256"]}`))
	}))
	defer srv.Close()
	v, err := oidc.New(oidc.Config{Issuer: srv.URL, ClientID: "c"})
	require.NoError(t, err)
	_, err = v.VerifyToken(t.Context(), "a.b.c")
	require.Error(t, err)
	assert.NotErrorIs(t, err, identity.ErrRejected, "a provider that cannot be used is not a refused token")
	assert.Contains(t, err.Error(), "jwks_uri")
}

func TestDiscoveryResponseCapped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"x":"` + strings.Repeat("a", oidc.MaxResponseSize) + `"}`))
	}))
	defer srv.Close()
	v, err := oidc.New(oidc.Config{Issuer: srv.URL, ClientID: "c"})
	require.NoError(t, err)
	_, err = v.VerifyToken(t.Context(), "a.b.c")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bytes")
}

func TestPresets(t *testing.T) {
	assert.Equal(t, "https://accounts.google.com", oidc.Google("c").Issuer())
	assert.Equal(t, "https://appleid.apple.com", oidc.Apple("c").Issuer())
	assert.Equal(t, "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0", oidc.Microsoft("consumers", "c").Issuer())
	assert.Equal(t, "https://login.microsoftonline.com/t1/v2.0", oidc.Microsoft("t1", "c").Issuer())
	assert.Panics(t, func() { oidc.Microsoft("common", "c") })
	assert.Panics(t, func() { oidc.Google("") })
	var _ identity.TokenVerifier = oidc.Google("c")
	_ = context.Background
}
