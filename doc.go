// Package authcube is an embeddable, in-process auth and users engine: sessions, sign-up and
// sign-in, user profiles and look-ups, as plain Go calls backed by pure-Go SQLite in a local
// directory. No network, no cgo, no server. It follows ConnectyCube's "Authentication and Users"
// model: every call carries a session token; an application session may read, a user session may
// also write its own user's data.
//
//	e, err := authcube.Open(ctx, authcube.Config{Dir: "./authcube-data"})
//	if err != nil { ... }
//	defer e.Close()
//
//	app, _ := e.CreateSession(ctx)                                  // application session
//	_, err = e.SignUp(ctx, app.Token, authcube.NewUser{Login: "marvin18", Password: "supersecurepwd"})
//	user, err := e.SignIn(ctx, app.Token, authcube.Credentials{Login: "marvin18", Password: "supersecurepwd"})
//	// app.Token now acts for user (same token, upgraded); SignOut downgrades it again.
//
// Sessions expire [Config.SessionIdleTTL] (2 hours) after their last request and at the latest
// [Config.SessionMaxAge] (30 days) after sign-in. Every error is an [*Error]; match it with
// errors.Is against [ErrUnauthorized], [ErrInvalidCredentials], [ErrConflict], [ErrInvalid], ...
//
// SignIn keeps the token when it upgrades a session, as ConnectyCube's SDKs require. Programs
// that carry tokens in cookies or URLs should instead call [Engine.CreateUserSession] and
// [Engine.DestroySession] the old token, so a token planted before sign-in is never upgraded
// (session fixation, S17). Package httpauth does that for net/http apps, with cookies, a
// middleware and CSRF protection.
package authcube
