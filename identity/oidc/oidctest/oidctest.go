// Package oidctest runs a real OpenID provider in-process on loopback for tests: the certified
// github.com/zitadel/oidc/v3 op package with its example in-memory storage and login page.
package oidctest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// claimsStorage puts the user's claims (email, email_verified) in ID tokens, as the large
// providers do.
type claimsStorage struct{ *storage.Storage }

func (s claimsStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return claimsClient{c}, nil
}

type claimsClient struct{ op.Client }

func (claimsClient) IDTokenUserinfoClaimsAssertion() bool { return true }

// The user the provider knows (besides one more the example storage adds).
const (
	Username = "test-user2"
	Password = "verysecure"
	Subject  = "id2"
	Email    = "test-user2@zitadel.ch" // stated as verified by the provider
)

// Provider is a running OpenID provider with one web client.
type Provider struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	Server       *httptest.Server
}

// New starts a provider on a loopback port, with a web client (id "authcube-test", secret
// "secret") allowed the given redirect URIs plus NoRedirect. It stops when t ends.
func New(t testing.TB, redirectURIs ...string) *Provider {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	t.Cleanup(srv.Close)
	issuer := srv.URL
	p := &Provider{Issuer: issuer, ClientID: "authcube-test", ClientSecret: "secret", Server: srv}
	uris := append([]string{NoRedirect}, redirectURIs...)
	clients := map[string]*storage.Client{p.ClientID: storage.WebClient(p.ClientID, p.ClientSecret, uris...)}
	st := storage.NewStorageWithClients(storage.NewUserStore(issuer), clients)
	srv.Config.Handler = exampleop.SetupServer(issuer, claimsStorage{st}, nil, false)
	return p
}

// NoRedirect is a redirect URI IDToken uses: nothing listens there; the code is taken from the
// redirect itself.
const NoRedirect = "http://127.0.0.1:1/callback"

// IDToken runs the authorization-code flow as a browser would (authorize, the provider's
// login page, the redirect with the code) and exchanges the code for an ID token with nonce.
func (p *Provider) IDToken(ctx context.Context, nonce string) (string, error) {
	jar, _ := cookiejar.New(nil)
	var code string
	c := &http.Client{Jar: jar, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(r.URL.String(), NoRedirect) {
			code = r.URL.Query().Get("code")
			return http.ErrUseLastResponse
		}
		return nil
	}}
	q := url.Values{"client_id": {p.ClientID}, "redirect_uri": {NoRedirect}, "response_type": {"code"},
		"scope": {"openid email profile"}, "state": {"s"}, "nonce": {nonce}}
	resp, err := c.Get(p.Issuer + "/auth?" + q.Encode())
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	id := resp.Request.URL.Query().Get("authRequestID")
	if id == "" {
		return "", fmt.Errorf("oidctest: no login page (%s)", resp.Request.URL)
	}
	resp, err = c.PostForm(p.Issuer+"/login/username", url.Values{"id": {id}, "username": {Username}, "password": {Password}})
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if code == "" {
		return "", errors.New("oidctest: no code")
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.Issuer+"/oauth/token",
		strings.NewReader(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {NoRedirect}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(p.ClientID, p.ClientSecret)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tok struct {
		IDToken string `json:"id_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.IDToken == "" {
		return "", fmt.Errorf("oidctest: token response %s: %v", resp.Status, err)
	}
	return tok.IDToken, nil
}
