package httpauth_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/httpauth"
)

// A web app: a sign-in form handler, a protected page, and the middleware around both.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "authcube-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	engine, err := authcube.Open(ctx, authcube.Config{
		Dir:     dir,
		Logger:  slog.New(slog.DiscardHandler),
		Hashing: authcube.HashParams{MemoryKiB: 64, Iterations: 1, Parallelism: 1}, // cheap: examples only
	})
	if err != nil {
		panic(err)
	}
	defer engine.Close()
	const password = "correct horse battery staple"
	auth, err := httpauth.New(engine, httpauth.Config{})
	if err != nil {
		panic(err)
	}
	if _, err := auth.App().SignUp(ctx, authcube.NewUser{Login: "ann01", Password: password}); err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /signin", func(w http.ResponseWriter, r *http.Request) {
		c := authcube.Credentials{Login: r.FormValue("login"), Password: r.FormValue("password")}
		if _, err := auth.SignIn(w, r, c); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		http.Redirect(w, r, "/profile", http.StatusSeeOther)
	})
	mux.Handle("GET /profile", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := httpauth.UserFrom(r.Context())
		fmt.Fprintf(w, "hello %s", u.Login)
	})))
	h := auth.Middleware(mux)

	form := url.Values{"login": {"ann01"}, "password": {password}}
	r := httptest.NewRequest("POST", "https://app.example/signin", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	cookie := w.Result().Cookies()[0]
	fmt.Println(w.Code, cookie.Name, cookie.HttpOnly, cookie.Secure)

	r = httptest.NewRequest("GET", "https://app.example/profile", nil)
	r.AddCookie(cookie)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Body.String())
	// Output:
	// 303 __Host-authcube true true
	// 200 hello ann01
}
