// Package app is the example web app: a server-rendered site (html/template; JavaScript
// only for passkeys) on authcube through httpauth. It shows sign-up, sign-in with remember-me, profile editing,
// an avatar, password change, forgotten passwords, the user's sessions with revocation, sign
// out everywhere, users by tag, and a small JSON API with Bearer tokens.
//
// What to copy into your own app: every page goes through [httpauth.Auth.Middleware], pages
// that need a user through [httpauth.Auth.Require]; engine calls for the user take
// [httpauth.TokenFrom]; anonymous work (sign-up, reset requests, reads for visitors) goes
// through [httpauth.Auth.App]; errors become messages through [authcube.Error] or statuses
// through [httpauth.Status].
package app

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/httpauth"
	"github.com/authcube/authcube/passkey"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/passkeys.js
var passkeysJS []byte

// Options turns on the app's optional sign-in methods.
type Options struct {
	// Passkeys, when set (and attached to the engine, which has it in Config.Providers under
	// passkey.Provider), adds "Sign in with a passkey" and a Passkeys page to add and remove
	// them.
	Passkeys *passkey.Service
	// OIDC, when it has providers, adds "Sign in with NAME" links for the authorization-code
	// flow of each, served at httpauth.DefaultOIDCPrefix (Prefix is ignored).
	OIDC httpauth.OIDCConfig
}

// MaxAvatarBytes caps an avatar upload.
const MaxAvatarBytes = 2 << 20

// New returns the app's handler over e, with the HTTP layer configured by cfg (Insecure for
// plain http://127.0.0.1 development). The handler is safe for concurrent use.
func New(e *authcube.Engine, cfg httpauth.Config) (http.Handler, error) {
	return NewWith(e, cfg, Options{})
}

// NewWith is New with the optional sign-in methods of opts.
func NewWith(e *authcube.Engine, cfg httpauth.Config, opts Options) (http.Handler, error) {
	auth, err := httpauth.New(e, cfg)
	if err != nil {
		return nil, err
	}
	a := &app{e: e, auth: auth, log: cfg.Logger, pages: map[string]*template.Template{}, pk: opts.Passkeys}
	for name := range opts.OIDC.Providers {
		a.providers = append(a.providers, name)
	}
	slices.Sort(a.providers)
	if a.log == nil {
		a.log = slog.Default()
	}
	funcs := template.FuncMap{"join": strings.Join}
	for _, name := range []string{"home", "signup", "signin", "profile", "password", "forgot", "reset", "sessions", "users",
		"signin_code", "security", "totp", "recovery", "email_code", "passkeys"} {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		a.pages[name] = t
	}

	mux := http.NewServeMux()
	page := func(f func(w http.ResponseWriter, r *http.Request)) http.Handler { return http.HandlerFunc(f) }
	private := func(f func(w http.ResponseWriter, r *http.Request)) http.Handler {
		return auth.Require(http.HandlerFunc(f))
	}
	mux.Handle("GET /{$}", page(a.home))
	mux.Handle("GET /signup", page(a.signUpForm))
	mux.Handle("POST /signup", page(a.signUp))
	mux.Handle("GET /signin", page(a.signInForm))
	mux.Handle("POST /signin", page(a.signIn))
	mux.Handle("POST /signout", page(a.signOut))
	mux.Handle("POST /signout-everywhere", private(a.signOutEverywhere))
	mux.Handle("GET /profile", private(a.profileForm))
	mux.Handle("POST /profile", private(a.profile))
	mux.Handle("POST /avatar", private(a.avatar))
	mux.Handle("GET /files/{uid}", page(a.file))
	mux.Handle("GET /password", private(a.passwordForm))
	mux.Handle("POST /password", private(a.password))
	mux.Handle("GET /forgot", page(a.forgotForm))
	mux.Handle("POST /forgot", page(a.forgot))
	mux.Handle("GET /reset", page(a.resetForm))
	mux.Handle("POST /reset", page(a.reset))
	mux.Handle("GET /sessions", private(a.sessions))
	mux.Handle("POST /sessions/{id}/revoke", private(a.revoke))
	mux.Handle("GET /users", page(a.users))
	mux.Handle("POST /api/tokens", page(a.apiToken))
	mux.Handle("DELETE /api/tokens", private(a.apiSignOut))
	mux.Handle("GET /api/me", private(a.apiMe))
	a.mfaRoutes(mux, page, private)
	if a.pk != nil {
		mux.Handle("/auth/passkeys/", auth.Passkeys(a.pk, httpauth.DefaultPasskeyPrefix))
		mux.Handle("GET /passkeys", private(a.passkeys))
		mux.Handle("POST /passkeys/{id}/remove", private(a.removePasskey))
		mux.HandleFunc("GET /static/passkeys.js", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			_, _ = w.Write(passkeysJS)
		})
	}
	if len(opts.OIDC.Providers) > 0 {
		oc := opts.OIDC
		oc.Prefix = httpauth.DefaultOIDCPrefix
		flow, err := auth.OIDC(oc)
		if err != nil {
			return nil, err
		}
		mux.Handle(httpauth.DefaultOIDCPrefix, flow)
	}
	return securityHeaders(auth.Middleware(mux)), nil
}

func (a *app) passkeys(w http.ResponseWriter, r *http.Request) {
	list, err := a.pk.Passkeys(r.Context(), httpauth.TokenFrom(r.Context()))
	if err != nil {
		a.formError(w, r, "passkeys", "Passkeys", err, nil)
		return
	}
	a.render(w, r, http.StatusOK, "passkeys", view{Title: "Passkeys", Passkeys: list})
}

// removePasskey removes one; never the last way in (the passkey package refuses it).
func (a *app) removePasskey(w http.ResponseWriter, r *http.Request) {
	if err := a.pk.Remove(r.Context(), httpauth.TokenFrom(r.Context()), r.PathValue("id")); err != nil {
		a.formError(w, r, "passkeys", "Passkeys", err, nil)
		return
	}
	redirect(w, r, "/passkeys?done=passkey-removed")
}

// securityHeaders sets the headers every page carries: scripts only as same-origin files (the
// passkey page's), fetches only to this origin, no framing.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin") // reset links carry a token in the query
		next.ServeHTTP(w, r)
	})
}

type app struct {
	pk        *passkey.Service
	providers []string
	e         *authcube.Engine
	auth      *httpauth.Auth
	log       *slog.Logger
	pages     map[string]*template.Template
}

// view is what a page template gets.
type view struct {
	Title         string
	User          *authcube.User
	Session       authcube.Session
	Notice, Error string
	Form          map[string]string
	Next          string
	Sessions      []authcube.Session
	Users         []authcube.User
	MFA           mfaView
	Passkeys      []passkey.Passkey
	PasskeysOn    bool     // the app offers passkeys
	Providers     []string // OpenID providers to sign in with
}

// render writes a page with status.
func (a *app) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	if u, ok := httpauth.UserFrom(r.Context()); ok && v.User == nil {
		v.User = &u
	}
	v.Session, _ = httpauth.SessionFrom(r.Context())
	v.PasskeysOn, v.Providers = a.pk != nil, a.providers
	if v.Notice == "" {
		v.Notice = notices[r.URL.Query().Get("done")]
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := a.pages[name].ExecuteTemplate(w, "layout", v); err != nil {
		a.log.Error("webapp: rendering", "page", name, "err", err)
	}
}

// notices are the messages a redirect may ask for with ?done=: fixed texts, so no link can
// make the app show words of an attacker's choosing.
var notices = map[string]string{
	"signup":          "Welcome! Your account is ready.",
	"profile":         "Profile saved.",
	"avatar":          "Avatar updated.",
	"password":        "Password changed. Your other sessions were signed out.",
	"forgot":          "If an account has this address, a reset link is on its way.",
	"reset":           "Password reset. Sign in with the new one.",
	"revoked":         "Session revoked.",
	"signout":         "Signed out.",
	"passkey":         "Passkey added.",
	"passkey-removed": "Passkey removed.",
}

// formError renders a form again with the error's safe message and its status.
func (a *app) formError(w http.ResponseWriter, r *http.Request, name, title string, err error, form map[string]string) {
	a.render(w, r, httpauth.Status(err), name, view{Title: title, Error: message(err), Form: form})
}

// message is the text to show for err: the engine's safe message, with the field at fault.
func message(err error) string {
	var ce *authcube.Error
	if !errors.As(err, &ce) || ce.Code == authcube.CodeInternal {
		return "Something went wrong. Please try again."
	}
	switch {
	case ce.Code == authcube.CodeThrottled:
		return fmt.Sprintf("Too many attempts. Try again in %s.", ce.RetryAfter.Round(time.Second))
	case ce.Code == authcube.CodeInvalidCredentials && ce.Field == "old_password":
		return "The current password is not right."
	case ce.Code == authcube.CodeInvalidCredentials && ce.Field == "code":
		return "Wrong code."
	case ce.Code == authcube.CodeInvalidCredentials && ce.Field == "proof":
		return "Wrong code or password."
	case ce.Code == authcube.CodeInvalidCredentials && ce.Field == "challenge":
		return "The sign-in expired. Please sign in again."
	case ce.Code == authcube.CodeInvalidCredentials:
		return "Wrong login or password."
	case ce.Field != "":
		return strings.ReplaceAll(ce.Field, "_", " ") + ": " + ce.Message
	}
	return ce.Message
}

// redirect answers 303 to a local path.
func redirect(w http.ResponseWriter, r *http.Request, path string) {
	http.Redirect(w, r, path, http.StatusSeeOther)
}

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, http.StatusOK, "home", view{Title: "Home"})
}

func (a *app) signUpForm(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, http.StatusOK, "signup", view{Title: "Sign up"})
}

// signUp creates the account through the handler's own application session and signs in.
func (a *app) signUp(w http.ResponseWriter, r *http.Request) {
	form := map[string]string{"login": r.PostFormValue("login"), "email": r.PostFormValue("email"), "full_name": r.PostFormValue("full_name")}
	nu := authcube.NewUser{Login: form["login"], Email: form["email"], FullName: form["full_name"], Password: r.PostFormValue("password")}
	if _, err := a.auth.SignUp(w, r, nu, httpauth.SignInOptions{}); err != nil {
		a.formError(w, r, "signup", "Sign up", err, form)
		return
	}
	redirect(w, r, "/profile?done=signup")
}

func (a *app) signInForm(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, http.StatusOK, "signin", view{Title: "Sign in", Next: httpauth.LocalRedirect(r.URL.Query().Get("next"))})
}

// signIn takes a login or an email; a fresh session replaces any the browser had.
func (a *app) signIn(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimSpace(r.PostFormValue("login"))
	c := authcube.Credentials{Login: id, Password: r.PostFormValue("password")}
	if strings.Contains(id, "@") {
		c = authcube.Credentials{Email: id, Password: c.Password}
	}
	next := httpauth.LocalRedirect(r.PostFormValue("next"))
	remember := r.PostFormValue("remember") == "on"
	_, err := a.auth.SignInWith(w, r, c, httpauth.SignInOptions{Remember: remember})
	if ch, ok := httpauth.Challenge(err); ok {
		a.codeStep(w, r, http.StatusOK, ch, next, remember, "")
		return
	}
	if err != nil {
		a.render(w, r, httpauth.Status(err), "signin", view{Title: "Sign in", Error: message(err), Form: map[string]string{"login": id}, Next: next})
		return
	}
	redirect(w, r, next)
}

func (a *app) signOut(w http.ResponseWriter, r *http.Request) {
	if err := a.auth.SignOut(w, r); err != nil {
		a.formError(w, r, "home", "Home", err, nil)
		return
	}
	redirect(w, r, "/?done=signout")
}

func (a *app) signOutEverywhere(w http.ResponseWriter, r *http.Request) {
	if err := a.auth.SignOutEverywhere(w, r); err != nil {
		a.formError(w, r, "home", "Home", err, nil)
		return
	}
	redirect(w, r, "/?done=signout")
}

func (a *app) profileForm(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, http.StatusOK, "profile", view{Title: "Profile"})
}

// profile saves the fields of the form, all or nothing.
func (a *app) profile(w http.ResponseWriter, r *http.Request) {
	var tags []string
	for t := range strings.SplitSeq(r.PostFormValue("tags"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	full, email, website := r.PostFormValue("full_name"), r.PostFormValue("email"), r.PostFormValue("website")
	_, err := a.e.UpdateUser(r.Context(), httpauth.TokenFrom(r.Context()), authcube.UserUpdate{
		FullName: &full, Email: &email, Website: &website, Tags: &tags,
	})
	if err != nil {
		a.formError(w, r, "profile", "Profile", err, nil)
		return
	}
	redirect(w, r, "/profile?done=profile")
}

// avatar stores an uploaded image as the user's avatar; the engine deletes the one it replaces.
func (a *app) avatar(w http.ResponseWriter, r *http.Request) {
	ctx, tok := r.Context(), httpauth.TokenFrom(r.Context())
	r.Body = http.MaxBytesReader(w, r.Body, MaxAvatarBytes+64<<10)
	f, hdr, err := r.FormFile("avatar")
	if err != nil {
		a.formError(w, r, "profile", "Profile", &authcube.Error{Code: authcube.CodeInvalid, Field: "avatar", Message: "choose an image of at most 2 MiB"}, nil)
		return
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	ct := http.DetectContentType(head[:n])
	if !rasterTypes[ct] {
		a.formError(w, r, "profile", "Profile", &authcube.Error{Code: authcube.CodeInvalid, Field: "avatar", Message: "must be a PNG, JPEG, GIF or WebP image"}, nil)
		return
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		a.formError(w, r, "profile", "Profile", err, nil)
		return
	}
	file, err := a.e.UploadFile(ctx, tok, authcube.NewFile{Name: hdr.Filename, ContentType: ct}, f)
	if err == nil {
		_, err = a.e.UpdateUser(ctx, tok, authcube.UserUpdate{AvatarUID: &file.UID})
	}
	if err != nil {
		a.formError(w, r, "profile", "Profile", err, nil)
		return
	}
	redirect(w, r, "/profile?done=avatar")
}

// rasterTypes are the image types served inline; nothing else is uploaded as an avatar.
var rasterTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

// file serves an image by UID (a file's UID is its read capability), through the visitor's
// session or the handler's own.
func (a *app) file(w http.ResponseWriter, r *http.Request) {
	ctx, uid := r.Context(), r.PathValue("uid")
	var rc io.ReadSeekCloser
	var f authcube.File
	var err error
	if tok := httpauth.TokenFrom(ctx); tok != "" {
		rc, f, err = a.e.OpenFile(ctx, tok, uid)
	} else {
		err = a.auth.App().Do(ctx, func(ctx context.Context, tok string) error {
			var err error
			rc, f, err = a.e.OpenFile(ctx, tok, uid)
			return err
		})
	}
	if err != nil || !rasterTypes[f.ContentType] {
		if err == nil {
			rc.Close()
		}
		http.NotFound(w, r)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", f.ContentType)
	w.Header().Set("Cache-Control", "private, max-age=300")
	http.ServeContent(w, r, "", f.CreatedAt, rc)
}

func (a *app) passwordForm(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, http.StatusOK, "password", view{Title: "Password"})
}

// password changes the password; the engine ends the user's other sessions, this one stays.
func (a *app) password(w http.ResponseWriter, r *http.Request) {
	pw := r.PostFormValue("password")
	_, err := a.e.UpdateUser(r.Context(), httpauth.TokenFrom(r.Context()), authcube.UserUpdate{Password: &pw, OldPassword: r.PostFormValue("old_password")})
	if err != nil {
		a.formError(w, r, "password", "Password", err, nil)
		return
	}
	redirect(w, r, "/?done=password")
}

func (a *app) forgotForm(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, http.StatusOK, "forgot", view{Title: "Forgot password"})
}

// forgot queues a reset mail; the answer is the same whether or not the address is known.
func (a *app) forgot(w http.ResponseWriter, r *http.Request) {
	if err := a.auth.App().ResetPassword(r.Context(), r.PostFormValue("email")); err != nil {
		a.formError(w, r, "forgot", "Forgot password", err, nil)
		return
	}
	redirect(w, r, "/forgot?done=forgot")
}

func (a *app) resetForm(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, http.StatusOK, "reset", view{Title: "Choose a new password", Form: map[string]string{"token": r.URL.Query().Get("token")}})
}

// reset sets the new password with the token from the mail; it needs no session.
func (a *app) reset(w http.ResponseWriter, r *http.Request) {
	tok := r.PostFormValue("token")
	if err := a.e.ConfirmPasswordReset(r.Context(), tok, r.PostFormValue("password")); err != nil {
		a.formError(w, r, "reset", "Choose a new password", err, map[string]string{"token": tok})
		return
	}
	redirect(w, r, "/signin?done=reset")
}

// sessions lists the user's live sessions, this one marked.
func (a *app) sessions(w http.ResponseWriter, r *http.Request) {
	list, err := a.e.Sessions(r.Context(), httpauth.TokenFrom(r.Context()))
	if err != nil {
		a.formError(w, r, "home", "Home", err, nil)
		return
	}
	a.render(w, r, http.StatusOK, "sessions", view{Title: "Sessions", Sessions: list})
}

func (a *app) revoke(w http.ResponseWriter, r *http.Request) {
	if err := a.e.RevokeSession(r.Context(), httpauth.TokenFrom(r.Context()), r.PathValue("id")); err != nil {
		a.formError(w, r, "home", "Home", err, nil)
		return
	}
	redirect(w, r, "/sessions?done=revoked")
}

// users finds users by tag, for visitors too (through the handler's own session).
func (a *app) users(w http.ResponseWriter, r *http.Request) {
	tag := strings.TrimSpace(r.URL.Query().Get("tag"))
	v := view{Title: "Users by tag", Form: map[string]string{"tag": tag}}
	if tag != "" {
		var page authcube.UserPage
		err := a.auth.App().Do(r.Context(), func(ctx context.Context, tok string) error {
			var err error
			page, err = a.e.UsersByTags(ctx, tok, []string{tag}, authcube.Page{PerPage: 100})
			return err
		})
		if err != nil {
			a.formError(w, r, "users", "Users by tag", err, v.Form)
			return
		}
		v.Users = page.Users
	}
	a.render(w, r, http.StatusOK, "users", v)
}

// apiToken serves POST /api/tokens {"login"|"email", "password"}: a new user session whose
// token the client keeps and sends as Authorization: Bearer. Errors are problem+json.
func (a *app) apiToken(w http.ResponseWriter, r *http.Request) {
	var in struct{ Login, Email, Password string }
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&in); err != nil {
		httpauth.WriteError(w, r, &authcube.Error{Code: authcube.CodeInvalid, Message: "body must be JSON"})
		return
	}
	s, err := a.e.CreateUserSession(r.Context(), authcube.Credentials{Login: in.Login, Email: in.Email, Password: in.Password, ClientAddr: a.auth.ClientAddr(r)})
	if err != nil {
		httpauth.WriteError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"token": s.Token, "expires_at": s.ExpiresAt})
}

// apiSignOut serves DELETE /api/tokens: the Bearer token's session ends.
func (a *app) apiSignOut(w http.ResponseWriter, r *http.Request) {
	if err := a.auth.SignOut(w, r); err != nil {
		httpauth.WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// apiMe serves GET /api/me: the signed-in user.
func (a *app) apiMe(w http.ResponseWriter, r *http.Request) {
	u, _ := httpauth.UserFrom(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{"id": u.ID, "login": u.Login, "email": u.Email, "full_name": u.FullName, "tags": u.Tags})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
