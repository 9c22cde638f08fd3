package browser_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/examples/webapp/app"
	"github.com/authcube/authcube/httpauth"
)

// envBrowser names Chromium for these tests: a path, or any other value to look it up in
// PATH. When it is set, a missing browser fails the tests; when it is unset, they skip.
const envBrowser = "AUTHCUBE_TEST_BROWSER"

// envShots names the directory failed tests save their screenshots in; "" means
// $TMPDIR/authcube-browser-screenshots.
const envShots = "AUTHCUBE_BROWSER_SCREENSHOTS"

// stepTimeout bounds one step (a page load, a click and the page it leads to).
const stepTimeout = 20 * time.Second

// The browser is started once for the package and shared: each test gets its own browser
// context (its own cookie jar) in it.
var shared struct {
	once    sync.Once
	ctx     context.Context // the browser's context
	err     error
	cancel  []context.CancelFunc
	dataDir string
}

func TestMain(m *testing.M) {
	code := m.Run()
	for i := len(shared.cancel) - 1; i >= 0; i-- {
		shared.cancel[i]()
	}
	if shared.dataDir != "" {
		os.RemoveAll(shared.dataDir)
	}
	os.Exit(code)
}

// chromium returns the browser's path, skipping the test when there is none and envBrowser
// is unset.
func chromium(t *testing.T) string {
	t.Helper()
	want := os.Getenv(envBrowser)
	if want != "" && strings.ContainsRune(want, filepath.Separator) {
		if _, err := os.Stat(want); err != nil {
			t.Fatalf("%s=%s: %v", envBrowser, want, err)
		}
		return want
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if want != "" {
		t.Fatalf("%s is set but no Chromium is in PATH (apt-get install chromium)", envBrowser)
	}
	t.Skipf("no Chromium found: install it (apt-get install chromium) and set %s=1 to run the browser tests", envBrowser)
	return ""
}

// browserContext returns the shared browser's context, starting it on first use.
func browserContext(t *testing.T) context.Context {
	t.Helper()
	path := chromium(t)
	shared.once.Do(func() {
		shared.dataDir, shared.err = os.MkdirTemp("", "authcube-chromium-")
		if shared.err != nil {
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.Headless,
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.NoFirstRun,
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.UserDataDir(shared.dataDir),
		)
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancelBrowser := chromedp.NewContext(alloc)
		shared.cancel = append(shared.cancel, cancelAlloc, cancelBrowser)
		shared.err = chromedp.Do(ctx) // starts the browser
		shared.ctx = ctx
	})
	require.NoError(t, shared.err, "starting Chromium")
	return shared.ctx
}

// site is the example app served for one test, over its own engine.
type site struct {
	env  *authtest.Env
	base string // "http://127.0.0.1:port"
}

func newSite(t *testing.T, opts ...authtest.Option) *site {
	t.Helper()
	return newSiteWith(t, httpauth.Config{Insecure: true}, "127.0.0.1", opts...)
}

// newSiteWith serves the app with cfg, reached by host.
func newSiteWith(t *testing.T, cfg httpauth.Config, host string, opts ...authtest.Option) *site {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	base := "http://" + net.JoinHostPort(host, port)
	opts = append(opts, authtest.WithConfig(func(c *authcube.Config) { c.ResetURL = base + "/reset?token={token}" }))
	env := authtest.New(t, opts...)
	h, err := app.New(env.Engine, cfg)
	require.NoError(t, err)
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: h}}
	srv.Start()
	t.Cleanup(srv.Close)
	return &site{env: env, base: base}
}

// tab is one browser context (its own cookies) driving a site, keeping a screenshot of each
// page it saw to save when the test fails.
type tab struct {
	t     *testing.T
	ctx   context.Context
	s     *site
	name  string
	shots []shot
}

type shot struct {
	name string
	png  []byte
}

func newTab(t *testing.T, s *site, name string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browserContext(t), chromedp.WithNewBrowserContext())
	tb := &tab{t: t, ctx: ctx, s: s, name: name}
	t.Cleanup(func() {
		if t.Failed() {
			tb.snap("at-failure")
			tb.saveShots()
		}
		cancel()
	})
	require.NoError(t, chromedp.Do(ctx), "opening a browser context")
	return tb
}

// run runs actions within stepTimeout, then keeps a screenshot of the page; it fails the
// test on error.
func (b *tab) run(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	err := chromedp.Do(ctx, actions...)
	b.snap(step)
	require.NoError(b.t, err, "%s: %s", b.name, step)
}

// snap keeps a screenshot of the current page.
func (b *tab) snap(step string) {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	if buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
		b.shots = append(b.shots, shot{name: step, png: buf})
	}
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// saveShots writes the screenshots of a failed test.
func (b *tab) saveShots() {
	dir := os.Getenv(envShots)
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "authcube-browser-screenshots")
	}
	dir = filepath.Join(dir, unsafeName.ReplaceAllString(b.t.Name(), "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Logf("screenshots: %v", err)
		return
	}
	for i, s := range b.shots {
		name := fmt.Sprintf("%s-%02d-%s.png", unsafeName.ReplaceAllString(b.name, "_"), i, unsafeName.ReplaceAllString(s.name, "_"))
		if err := os.WriteFile(filepath.Join(dir, name), s.png, 0o644); err != nil {
			b.t.Logf("screenshots: %v", err)
			return
		}
	}
	b.t.Logf("%s: %d screenshots in %s", b.name, len(b.shots), dir)
}

// open loads a page of the site.
func (b *tab) open(path string) {
	b.t.Helper()
	b.run("open "+path, chromedp.Navigate(b.s.base+path), chromedp.WaitReady(chromedp.CSS("body")))
}

// markStale and loaded tell one document from the next: a click that submits a form is done
// when the page it leads to has loaded.
const (
	markStale = `document.documentElement.dataset.stale = "1"`
	loaded    = `document.readyState === "complete" && !document.documentElement.dataset.stale`
)

// submit fills the fields (selector, value pairs; values are typed as a user would) and
// clicks button, waiting for the next page.
func (b *tab) submit(step, button string, fields ...string) {
	b.t.Helper()
	var actions []chromedp.Action[chromedp.Void]
	for i := 0; i+1 < len(fields); i += 2 {
		// Focus then KeyEvent is what chromedp.SendKeys does for a text field, without its
		// read of the node's attributes outside the node's lock (chromedp v0.23.1), which
		// races with the attribute change Clear causes and fails the test under -race.
		sel := chromedp.CSS(fields[i])
		actions = append(actions, chromedp.Clear(sel), chromedp.Focus(sel, chromedp.NodeVisible), chromedp.KeyEvent(fields[i+1]))
	}
	b.run(step, append(actions, b.clickAndWait(button)...)...)
}

func (b *tab) clickAndWait(button string) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		void(chromedp.Evaluate[chromedp.Void](markStale)),
		chromedp.Click(chromedp.CSS(button)),
		waitLoaded(),
	}
}

// waitLoaded waits until the next document has loaded. Evaluations fail while the old
// document goes away (its execution context is destroyed), so failures are retried.
func waitLoaded() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for {
			ok, err := chromedp.Evaluate[bool](loaded)(ctx, t)
			if err == nil && ok {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for the next page: %w (last error: %v)", ctx.Err(), err)
			case <-time.After(25 * time.Millisecond): // polling the page, not waiting for an expiry
			}
		}
	})
}

// void drops an action's value.
func void[T any](a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := a(ctx, t)
		return chromedp.Void{}, err
	}
}

// text returns the text of the first element matching sel, "" when there is none.
func (b *tab) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {}).innerText || ""`, sel)))
	require.NoError(b.t, err)
	return strings.TrimSpace(s)
}

// location returns the page's path and query.
func (b *tab) location() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	require.NoError(b.t, err)
	u, err := url.Parse(loc)
	require.NoError(b.t, err)
	return u.RequestURI()
}

// cookies returns the browser's cookies for the site, by name.
func (b *tab) cookies() map[string]*network.Cookie {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.s.base + "/"}})
	require.NoError(b.t, err)
	m := map[string]*network.Cookie{}
	for _, c := range res.Cookies {
		m[c.Name] = c
	}
	return m
}

const password = "correct horse battery staple"

// signUp signs up through the form and lands on the profile page.
func (b *tab) signUp(login, email string) {
	b.t.Helper()
	b.open("/signup")
	b.submit("sign up "+login, "#submit", "#login", login, "#email", email, "#full_name", "Ann Example", "#password", password)
	require.Equal(b.t, "/profile?done=signup", b.location(), b.text("#error"))
}

// signIn signs in through the form.
func (b *tab) signIn(login, pw string, remember bool) {
	b.t.Helper()
	b.open("/signin")
	if remember {
		b.run("tick remember me", chromedp.Click(chromedp.CSS("#remember")))
	}
	b.submit("sign in "+login, "#submit", "#login", login, "#password", pw)
}

func (b *tab) whoami() string { return b.text("#whoami") }

// TestBrowserSignUpProfileAvatar: sign up, edit the profile, upload an avatar that the page
// then shows, sign out.
func TestBrowserSignUpProfileAvatar(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := newTab(t, s, "ann")
	b.open("/")
	assert.Contains(t, b.text("#greeting"), "not signed in")
	b.signUp("ann01", "ann@example.com")
	assert.Equal(t, "Signed in as ann01", b.whoami())
	assert.Equal(t, "Welcome! Your account is ready.", b.text("#notice"))

	b.submit("edit the profile", "#submit", "#full_name", "Ann Other", "#tags", "hiking, chess", "#website", "https://ann.example.com")
	assert.Equal(t, "Profile saved.", b.text("#notice"))
	u, err := s.env.Engine.UserByLogin(context.Background(), appToken(t, s), "ann01")
	require.NoError(t, err)
	assert.Equal(t, "Ann Other", u.FullName)
	assert.Equal(t, []string{"hiking", "chess"}, u.Tags)

	b.submit("a website the engine refuses", "#submit", "#website", "javascript:alert(1)")
	assert.Contains(t, b.text("#error"), "website")

	avatar := filepath.Join(t.TempDir(), "avatar.png")
	require.NoError(t, os.WriteFile(avatar, pngBytes(t), 0o600))
	b.open("/profile")
	b.run("choose the avatar", chromedp.SetUploadFiles(chromedp.CSS("#avatar-file"), []string{avatar}))
	b.run("upload the avatar", b.clickAndWait("#avatar-submit")...)
	assert.Equal(t, "Avatar updated.", b.text("#notice"))
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	width, err := chromedp.Run(ctx, chromedp.Poll[int](`(() => { const i = document.querySelector("#avatar"); return i && i.complete && i.naturalWidth })()`,
		chromedp.WithPollingTimeout(stepTimeout)))
	require.NoError(t, err)
	assert.Equal(t, 8, width, "the avatar is displayed")

	b.run("sign out", b.clickAndWait("#signout")...)
	assert.Equal(t, "Signed out.", b.text("#notice"))
	assert.Empty(t, b.whoami())
	_, ok := b.cookies()["authcube"]
	assert.False(t, ok, "the session cookie is gone")
	_, ok = b.cookies()["authcube-device"]
	assert.True(t, ok, "the device cookie stays")
}

// TestBrowserSignInRememberMeAndCookies: a wrong password is refused; a protected page leads
// to the sign-in form and back; the cookie is HttpOnly, SameSite=Lax, Path=/, a browser-session
// cookie, or persistent for 30 days with remember me.
func TestBrowserSignInRememberMeAndCookies(t *testing.T) {
	t.Parallel()
	s := newSite(t, authtest.WithUsers(authcube.NewUser{Login: "bob02", Email: "bob@example.com", Password: password}))
	b := newTab(t, s, "bob")

	b.signIn("bob02", "a wrong password", false)
	assert.Equal(t, "Wrong login or password.", b.text("#error"))
	assert.Empty(t, b.whoami())

	b.open("/sessions")
	require.Equal(t, "/signin?next=%2Fsessions", b.location(), "a protected page asks to sign in")
	b.submit("sign in to reach the page", "#submit", "#login", "bob@example.com", "#password", password)
	assert.Equal(t, "/sessions", b.location(), "and comes back")
	assert.Equal(t, "Signed in as bob02", b.whoami())

	c := b.cookies()["authcube"]
	require.NotNil(t, c)
	assert.True(t, c.HTTPOnly)
	assert.Equal(t, network.CookieSameSiteLax, c.SameSite)
	assert.Equal(t, "/", c.Path)
	assert.True(t, c.Session, "without remember me the cookie ends with the browser session")
	first := c.Value
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	visible, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`))
	require.NoError(t, err)
	assert.NotContains(t, visible, "authcube", "HttpOnly: page scripts cannot read it")

	b.signIn("bob02", password, true)
	c = b.cookies()["authcube"]
	require.NotNil(t, c)
	assert.False(t, c.Session)
	days := time.Until(time.Unix(int64(c.Expires), 0)).Hours() / 24
	assert.InDelta(t, 30, days, 0.1, "remember me: persistent for the session's lifetime")
	assert.NotEqual(t, first, c.Value, "every sign-in makes a fresh token")
	_, err = s.env.Engine.Session(context.Background(), first)
	assert.ErrorIs(t, err, authcube.ErrUnauthorized, "and the replaced session is gone")
}

// TestBrowserSecureCookie: with the default configuration the cookie is __Host-authcube,
// Secure, HttpOnly, SameSite=Lax, Path=/ and host-only. Browsers treat http://localhost as a
// secure context, so the default cookie works there without TLS.
func TestBrowserSecureCookie(t *testing.T) {
	t.Parallel()
	s := newSiteWith(t, httpauth.Config{}, "localhost", authtest.WithUsers(authcube.NewUser{Login: "jan10", Password: password}))
	b := newTab(t, s, "jan")
	b.signIn("jan10", password, false)
	require.Equal(t, "Signed in as jan10", b.whoami(), "the browser kept the __Host- cookie")
	c := b.cookies()["__Host-authcube"]
	require.NotNil(t, c)
	assert.True(t, c.Secure)
	assert.True(t, c.HTTPOnly)
	assert.Equal(t, network.CookieSameSiteLax, c.SameSite)
	assert.Equal(t, "/", c.Path)
	assert.Equal(t, "localhost", c.Domain, "host-only: no Domain attribute")
	d := b.cookies()["__Host-authcube-device"]
	require.NotNil(t, d)
	assert.True(t, d.Secure && d.HTTPOnly)
}

// TestBrowserChangePassword: a wrong current password is an error on the form (422, not a
// sign-out); the right one changes it, and the new password signs in.
func TestBrowserChangePassword(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := newTab(t, s, "carol")
	b.signUp("carol03", "carol@example.com")
	b.open("/password")
	b.submit("a wrong current password", "#submit", "#old_password", "not my password", "#password", "a brand new passphrase")
	assert.Equal(t, "The current password is not right.", b.text("#error"))
	assert.Equal(t, "Signed in as carol03", b.whoami(), "still signed in")

	b.submit("change the password", "#submit", "#old_password", password, "#password", "a brand new passphrase")
	assert.Equal(t, "Password changed. Your other sessions were signed out.", b.text("#notice"))
	assert.Equal(t, "Signed in as carol03", b.whoami())
	b.run("sign out", b.clickAndWait("#signout")...)
	b.signIn("carol03", password, false)
	assert.Equal(t, "Wrong login or password.", b.text("#error"))
	b.signIn("carol03", "a brand new passphrase", false)
	assert.Equal(t, "Signed in as carol03", b.whoami())
}

// TestBrowserPasswordReset: forgot password, follow the link from the mail, set a new
// password, sign in with it.
func TestBrowserPasswordReset(t *testing.T) {
	t.Parallel()
	s := newSite(t, authtest.WithUsers(authcube.NewUser{Login: "dave04", Email: "dave@example.com", Password: password}))
	b := newTab(t, s, "dave")
	b.open("/signin")
	b.run("follow forgot", b.clickAndWait("#forgot-link")...)
	b.submit("ask for a link", "#submit", "#email", "dave@example.com")
	assert.Equal(t, "If an account has this address, a reset link is on its way.", b.text("#notice"))

	link := waitForResetLink(t, s)
	require.True(t, strings.HasPrefix(link, s.base+"/reset?token="), link)
	b.run("open the link", chromedp.Navigate(link), chromedp.WaitReady(chromedp.CSS("#reset-form")))
	b.submit("set a new password", "#submit", "#password", "reset to something new")
	assert.Equal(t, "/signin?done=reset", b.location())
	assert.Equal(t, "Password reset. Sign in with the new one.", b.text("#notice"))
	b.signIn("dave04", "reset to something new", false)
	assert.Equal(t, "Signed in as dave04", b.whoami())

	b.run("the link again", chromedp.Navigate(link), chromedp.WaitReady(chromedp.CSS("#reset-form")))
	b.submit("reuse the link", "#submit", "#password", "and once more please")
	assert.NotEmpty(t, b.text("#error"), "a reset link works once")
}

// waitForResetLink waits for the reset mail, which the engine sends from a background queue.
func waitForResetLink(t *testing.T, s *site) string {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for time.Now().Before(deadline) {
		if m, ok := s.env.Mailbox.Last(); ok && m.Kind == authcube.MessagePasswordReset {
			return m.Link
		}
		time.Sleep(20 * time.Millisecond) // polling for the queued mail, not for an expiry
	}
	t.Fatal("no reset mail")
	return ""
}

// TestBrowserSessionsRevokeAndSignOutEverywhere: two browsers signed in as one user; the
// sessions page lists both; revoking the other signs it out; sign out everywhere ends all.
func TestBrowserSessionsRevokeAndSignOutEverywhere(t *testing.T) {
	t.Parallel()
	s := newSite(t, authtest.WithUsers(authcube.NewUser{Login: "erin05", Password: password}))
	laptop, phone := newTab(t, s, "laptop"), newTab(t, s, "phone")
	laptop.signIn("erin05", password, false)
	phone.signIn("erin05", password, false)
	require.Equal(t, "Signed in as erin05", phone.whoami())

	laptop.open("/sessions")
	assert.Equal(t, 2, countOf(t, laptop, "#sessions tr.session"))
	assert.Equal(t, "this browser", laptop.text(".current"))
	laptop.run("revoke the phone", laptop.clickAndWait("button.revoke")...)
	assert.Equal(t, "Session revoked.", laptop.text("#notice"))
	assert.Equal(t, 1, countOf(t, laptop, "#sessions tr.session"))
	phone.open("/")
	assert.Empty(t, phone.whoami(), "the phone is signed out")

	phone.signIn("erin05", password, false)
	require.Equal(t, "Signed in as erin05", phone.whoami())
	laptop.open("/sessions")
	laptop.run("sign out everywhere", laptop.clickAndWait("#signout-everywhere")...)
	assert.Empty(t, laptop.whoami())
	phone.open("/")
	assert.Empty(t, phone.whoami(), "everywhere")
}

func countOf(t *testing.T, b *tab, sel string) int {
	t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
	require.NoError(t, err)
	return n
}

// TestBrowserUsersByTag: visitors find users by tag.
func TestBrowserUsersByTag(t *testing.T) {
	t.Parallel()
	s := newSite(t, authtest.WithUsers(
		authcube.NewUser{Login: "fay06", Password: password, FullName: "Fay Chess", Tags: []string{"chess"}},
		authcube.NewUser{Login: "gus07", Password: password, FullName: "Gus Chess", Tags: []string{"chess", "go"}},
		authcube.NewUser{Login: "hal08", Password: password, FullName: "Hal Go", Tags: []string{"go"}},
	))
	b := newTab(t, s, "visitor")
	b.open("/users")
	b.submit("find chess players", "#submit", "#tag", "chess")
	assert.Equal(t, "/users?tag=chess", b.location())
	assert.Equal(t, 2, countOf(t, b, "#users li.user"))
	assert.Contains(t, b.text("#users"), "fay06")
	assert.Contains(t, b.text("#users"), "gus07")
	assert.NotContains(t, b.text("#users"), "hal08")
}

// TestBrowserCrossOriginFormIsRefused: a page on another origin of the same site (so the
// SameSite=Lax cookie goes along) posts a form to the app; CrossOriginProtection refuses it
// and the profile is unchanged (S41).
func TestBrowserCrossOriginFormIsRefused(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := newTab(t, s, "victim")
	b.signUp("ivy09", "ivy@example.com")

	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><form method="post" action="%s/profile">
<input type="hidden" name="full_name" value="pwned"><input type="hidden" name="email" value="evil@example.com">
<button id="go">Win a prize</button></form>`, s.base)
	}))
	t.Cleanup(evil.Close)
	require.NotEqual(t, evil.URL, s.base)
	b.run("visit the other origin", chromedp.Navigate(evil.URL), chromedp.WaitReady(chromedp.CSS("#go")))
	b.run("click its button", b.clickAndWait("#go")...)
	assert.Contains(t, b.text("body"), "cross-origin request refused")

	u, err := s.env.Engine.UserByLogin(context.Background(), appToken(t, s), "ivy09")
	require.NoError(t, err)
	assert.Equal(t, "Ann Example", u.FullName, "the profile is unchanged")
	assert.Equal(t, "ivy@example.com", u.Email)
}

// appToken is an application session of the site's engine, for checks.
func appToken(t *testing.T, s *site) string {
	t.Helper()
	sess, err := s.env.Engine.CreateSession(context.Background())
	require.NoError(t, err)
	return sess.Token
}

// pngBytes is an 8×8 PNG.
func pngBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for x := range 8 {
		for y := range 8 {
			img.Set(x, y, color.RGBA{R: uint8(x * 30), G: uint8(y * 30), B: 200, A: 255})
		}
	}
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}
