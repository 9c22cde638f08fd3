package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/authcube/authcube/identity"
	"github.com/authcube/authcube/identity/webhook"
)

func ExampleProvider_VerifyPassword() {
	// A user base's endpoint, standing in for https://users.example.com/verify.
	users := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Login, Password string }
		if r.Header.Get("X-Api-Key") != "k-123" || json.NewDecoder(r.Body).Decode(&req) != nil ||
			req.Login != "marvin18" || req.Password != "supersecurepwd" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":4021,"login":"marvin18","email":"marvin@example.com","full_name":"Marvin Simon"}`)
	}))
	defer users.Close()

	p, err := webhook.New(webhook.Config{URL: users.URL, Header: http.Header{"X-Api-Key": {"k-123"}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	prof, err := p.VerifyPassword(context.Background(), "marvin18", "supersecurepwd")
	fmt.Printf("%+v %v\n", prof, err)

	_, err = p.VerifyPassword(context.Background(), "marvin18", "wrong")
	fmt.Println(err, errors.Is(err, identity.ErrRejected))
	// Output:
	// {Subject:4021 Login:marvin18 Email:marvin@example.com FullName:Marvin Simon} <nil>
	// webhook: verify password: provider refused with status 401: identity: rejected true
}
