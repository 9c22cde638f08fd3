package authcube_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/identity"
	"github.com/authcube/authcube/identity/firebase/firebasetest"
	"github.com/authcube/authcube/internal/seed"
	"github.com/authcube/authcube/store"
	"github.com/authcube/authcube/store/storetest"
)

// S29: fail closed. A store that fails its N-th call, for every N along each authentication
// flow, and a random source that fails its N-th read: the call returns an error, never a usable
// token, and leaves nothing half done (a session upgraded, a password changed).

// errFault is what an injected fault returns; every failing call must report it as the cause.
var errFault = errors.New("injected fault")

// faultBestEffort are store calls whose failure is allowed not to fail the flow: they come after
// the credentials were fully verified and only refresh data, and the engine logs their failure.
// A flow that succeeds although one of them failed is reported (t.Logf), not failed.
var faultBestEffort = map[string]string{
	"RefreshUserName": "refreshing the name a custom identity provider gives, after it accepted the password",
	"SetPasswordHash": "the rehash of a weaker stored hash after a successful verify (S5)",
	"SetThrottle":     "the throttle state is written behind the in-memory decision (S9)",
}

// faultInjector counts the calls made while it is armed and fails the failAt-th one (and, when
// sticky, every later one). Calls made while it is disarmed (setup, checks) pass untouched.
type faultInjector struct {
	mu     sync.Mutex
	armed  bool
	failAt int // 0: never
	sticky bool
	calls  []string
}

func (f *faultInjector) before(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.armed {
		return nil
	}
	f.calls = append(f.calls, method)
	n := len(f.calls)
	if f.failAt > 0 && (n == f.failAt || f.sticky && n > f.failAt) {
		return fmt.Errorf("%w: call %d (%s)", errFault, n, method)
	}
	return nil
}

func (f *faultInjector) arm(failAt int, sticky bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armed, f.failAt, f.sticky, f.calls = true, failAt, sticky, nil
}

// disarm stops counting and failing and returns the calls counted.
func (f *faultInjector) disarm() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armed = false
	return f.calls
}

// faultRand is a Config.Rand whose reads go through a faultInjector ("read").
type faultRand struct {
	inj *faultInjector
	r   io.Reader // serialised by the engine
}

func (r *faultRand) Read(p []byte) (int, error) {
	if err := r.inj.before("read"); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// faultEnv is an authtest Env whose store (or random source) goes through inj.
type faultEnv struct {
	*authtest.Env
	inj       *faultInjector
	wrapStore bool
}

// newFaultEnv makes an Env whose store calls go through the injector. The store is wrapped
// before the engine is used (authtest.New without WithUsers does not use it).
func newFaultEnv(t *testing.T, opts ...authtest.Option) *faultEnv {
	t.Helper()
	fe := &faultEnv{Env: authtest.New(t, opts...), inj: &faultInjector{}, wrapStore: true}
	fe.wrap()
	return fe
}

// newRandFaultEnv makes an Env whose random source goes through the injector.
func newRandFaultEnv(t *testing.T, opts ...authtest.Option) *faultEnv {
	t.Helper()
	inj := &faultInjector{}
	opts = append(opts, authtest.WithConfig(func(c *authcube.Config) { c.Rand = &faultRand{inj: inj, r: c.Rand} }))
	return &faultEnv{Env: authtest.New(t, opts...), inj: inj}
}

func (fe *faultEnv) wrap() {
	if fe.wrapStore {
		authcube.WrapStore(fe.Engine, func(s store.Store) store.Store {
			return &storetest.Hooked{Inner: s, Before: fe.inj.before}
		})
	}
}

// restart closes and reopens the engine (an empty session cache), wrapping the new store.
func (fe *faultEnv) restart(t *testing.T) {
	t.Helper()
	fe.Restart(t)
	fe.wrap()
}

func (fe *faultEnv) app(t *testing.T) authcube.Session {
	t.Helper()
	s, err := fe.Engine.CreateSession(ctx)
	require.NoError(t, err)
	return s
}

func (fe *faultEnv) signUp(t *testing.T, nu authcube.NewUser) authcube.User {
	t.Helper()
	u, err := fe.Engine.SignUp(ctx, fe.app(t).Token, nu)
	require.NoError(t, err)
	return u
}

// requireNotSignedIn asserts that token does not act for a user: ErrUnauthorized, or an
// application session.
func (fe *faultEnv) requireNotSignedIn(t *testing.T, token string) {
	t.Helper()
	s, err := fe.Engine.Session(ctx, token)
	if err != nil {
		requireCode(t, err, authcube.ErrUnauthorized, "")
		return
	}
	require.Zero(t, s.UserID, "a failed sign-in left the session acting for user %d", s.UserID)
}

// faultCase is one run of a flow on a prepared engine: run is the call under test (returning the
// session it gave, if any); check asserts, with faults off, that the state agrees with run's
// error. check runs before and after a restart.
type faultCase struct {
	fe    *faultEnv
	run   func() (authcube.Session, error)
	check func(t *testing.T, err error)
}

// faultFlow prepares a fresh engine for one run of a flow.
type faultFlow func(t *testing.T) faultCase

// testFaults runs flow once without faults to count its calls (N_max), then once on a fresh
// engine for every N in 1..N_max, with call N failing once and, in a second pass, call N and
// every later call failing. wantErr says the flow fails even without faults (an expired
// session). It returns the calls of the fault-free run.
func testFaults(t *testing.T, flow faultFlow, wantErr bool) []string {
	t.Helper()
	c := flow(t)
	c.fe.inj.arm(0, false)
	_, err := c.run()
	calls := c.fe.inj.disarm()
	if wantErr {
		require.Error(t, err, "the flow fails without faults")
	} else {
		require.NoError(t, err, "the flow works without faults")
	}
	c.check(t, err)
	t.Logf("N_max = %d: %s", len(calls), strings.Join(calls, ", "))

	for _, sticky := range []bool{false, true} {
		mode := "once"
		if sticky {
			mode = "from"
		}
		for n := 1; n <= len(calls); n++ {
			t.Run(fmt.Sprintf("%s-%d-%s", mode, n, calls[n-1]), func(t *testing.T) {
				t.Parallel()
				c := flow(t)
				c.fe.inj.arm(n, sticky)
				s, err := c.run()
				got := c.fe.inj.disarm()
				require.GreaterOrEqual(t, len(got), n, "the flow is deterministic: calls %v", got)
				require.Equal(t, calls[n-1], got[n-1], "the flow is deterministic: calls %v", got)
				failed := calls[n-1]
				switch {
				case err == nil && faultBestEffort[failed] != "":
					t.Logf("call %d (%s) failed and the flow succeeded: %s is best effort", n, failed, faultBestEffort[failed])
				case err == nil:
					t.Errorf("S29: store call %d (%s) failed, yet the flow returned no error (calls %v)", n, failed, got)
				default:
					if !wantErr {
						assert.ErrorIs(t, err, errFault, "the fault is the cause")
					}
					var ae *authcube.Error
					assert.ErrorAs(t, err, &ae, "a public error")
					assert.Equal(t, authcube.Session{}, s, "no session alongside an error")
					if s.Token != "" {
						_, serr := c.fe.Engine.Session(ctx, s.Token)
						assert.Error(t, serr, "a token returned alongside an error does not work")
					}
				}
				c.check(t, err)
				c.fe.restart(t)
				c.check(t, err) // what is stored agrees, not only the cache
			})
		}
	}
	return calls
}

// faultSignInCheck checks, after a SignIn on app, that the session acts for want when it returned no
// error, and for nobody when it failed.
func faultSignInCheck(fe *faultEnv, token string, want *int64) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		if err != nil {
			fe.requireNotSignedIn(t, token)
			return
		}
		s, serr := fe.Engine.Session(ctx, token)
		require.NoError(t, serr)
		if *want != 0 {
			require.Equal(t, *want, s.UserID)
		} else {
			require.NotZero(t, s.UserID)
		}
	}
}

// faultUserSessionCheck checks a session returned by CreateUserSession: it works when there was no
// error (the harness checks that none came with an error).
func faultUserSessionCheck(fe *faultEnv, s *authcube.Session) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		if err != nil {
			return
		}
		got, serr := fe.Engine.Session(ctx, s.Token)
		require.NoError(t, serr)
		require.Equal(t, s.UserID, got.UserID)
		require.NotZero(t, got.UserID)
	}
}

func faultAnn() authcube.NewUser {
	return authcube.NewUser{Login: "ann", Email: "ann@example.org", Password: authtest.Password}
}

func TestFaultsSignInPassword(t *testing.T) {
	t.Parallel()
	for _, cached := range []bool{true, false} {
		t.Run(fmt.Sprintf("cached=%v", cached), func(t *testing.T) {
			t.Parallel()
			testFaults(t, func(t *testing.T) faultCase {
				fe := newFaultEnv(t)
				ann := fe.signUp(t, faultAnn())
				app := fe.app(t)
				if !cached {
					fe.restart(t)
				}
				return faultCase{fe: fe,
					run: func() (authcube.Session, error) {
						_, err := fe.Engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "ann", Password: authtest.Password})
						return authcube.Session{}, err
					},
					check: faultSignInCheck(fe, app.Token, &ann.ID),
				}
			}, false)
		})
	}
}

// A stored hash weaker than the configured parameters is upgraded after the verify (S5); a
// failure of that write is logged and does not deny, and the password keeps working.
func TestFaultsSignInWithRehash(t *testing.T) {
	t.Parallel()
	calls := testFaults(t, func(t *testing.T) faultCase {
		fe := newFaultEnv(t, authtest.WithConfig(func(c *authcube.Config) {
			c.Hashing = authcube.HashParams{MemoryKiB: 128, Iterations: 1, Parallelism: 1} // above seed.Hash's m=64
		}))
		at := authtest.Start
		id, err := authcube.StoreOf(fe.Engine).CreateUser(ctx, store.User{
			Login: "seeded", LoginCanon: "seeded", PasswordHash: seed.Hash, CreatedAt: at, UpdatedAt: at, LastRequestAt: at,
		})
		require.NoError(t, err)
		app := fe.app(t)
		check := faultSignInCheck(fe, app.Token, &id)
		return faultCase{fe: fe,
			run: func() (authcube.Session, error) {
				_, err := fe.Engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "seeded", Password: seed.Password})
				return authcube.Session{}, err
			},
			check: func(t *testing.T, err error) {
				check(t, err)
				s, err := fe.Engine.CreateUserSession(ctx, authcube.Credentials{Login: "seeded", Password: seed.Password})
				require.NoError(t, err, "the password still works")
				require.NoError(t, fe.Engine.DestroySession(ctx, s.Token))
			},
		}
	}, false)
	assert.Contains(t, calls, "SetPasswordHash", "the flow rehashes")
}

func TestFaultsCreateUserSession(t *testing.T) {
	t.Parallel()
	testFaults(t, func(t *testing.T) faultCase {
		fe := newFaultEnv(t)
		fe.signUp(t, faultAnn())
		var s authcube.Session
		return faultCase{fe: fe,
			run: func() (authcube.Session, error) {
				var err error
				s, err = fe.Engine.CreateUserSession(ctx, authcube.Credentials{Email: "ann@example.org", Password: authtest.Password})
				return s, err
			},
			check: faultUserSessionCheck(fe, &s),
		}
	}, false)
}

// Session on a token the cache does not hold (after a restart), and on one it holds: a cached
// live token costs no store call, so there is nothing to fail.
func TestFaultsSession(t *testing.T) {
	t.Parallel()
	for _, cached := range []bool{false, true} {
		t.Run(fmt.Sprintf("cached=%v", cached), func(t *testing.T) {
			t.Parallel()
			calls := testFaults(t, func(t *testing.T) faultCase {
				fe := newFaultEnv(t)
				fe.signUp(t, faultAnn())
				us, err := fe.Engine.CreateUserSession(ctx, authcube.Credentials{Login: "ann", Password: authtest.Password})
				require.NoError(t, err)
				if !cached {
					fe.restart(t)
				}
				return faultCase{fe: fe,
					run: func() (authcube.Session, error) { return fe.Engine.Session(ctx, us.Token) },
					check: func(t *testing.T, err error) {
						// A failed read kills nothing: the session is still the user's.
						s, serr := fe.Engine.Session(ctx, us.Token)
						require.NoError(t, serr)
						require.Equal(t, us.UserID, s.UserID)
					},
				}
			}, false)
			if cached {
				assert.Empty(t, calls, "a cached live token costs no store call")
			} else {
				assert.NotEmpty(t, calls)
			}
		})
	}
}

// Session on an expired token: whatever fails, the token stays dead.
func TestFaultsSessionExpired(t *testing.T) {
	t.Parallel()
	for _, cached := range []bool{false, true} {
		t.Run(fmt.Sprintf("cached=%v", cached), func(t *testing.T) {
			t.Parallel()
			calls := testFaults(t, func(t *testing.T) faultCase {
				fe := newFaultEnv(t)
				fe.signUp(t, faultAnn())
				us, err := fe.Engine.CreateUserSession(ctx, authcube.Credentials{Login: "ann", Password: authtest.Password})
				require.NoError(t, err)
				fe.Clock.Advance(authcube.DefaultSessionIdleTTL)
				if !cached {
					fe.restart(t)
				}
				return faultCase{fe: fe,
					run: func() (authcube.Session, error) { return fe.Engine.Session(ctx, us.Token) },
					check: func(t *testing.T, err error) {
						_, serr := fe.Engine.Session(ctx, us.Token)
						requireCode(t, serr, authcube.ErrUnauthorized, "")
					},
				}
			}, true)
			assert.Contains(t, calls, "ExpireSession")
		})
	}
}

// A failed confirmation changes nothing: the old password still signs in, the new one does not.
func TestFaultsConfirmPasswordReset(t *testing.T) {
	t.Parallel()
	const newPassword = "a brand new password"
	testFaults(t, func(t *testing.T) faultCase {
		fe := newFaultEnv(t)
		fe.signUp(t, faultAnn())
		require.NoError(t, fe.Engine.ResetPassword(ctx, fe.app(t).Token, "ann@example.org"))
		resetToken := fe.Mailbox.LastResetToken()
		require.NotEmpty(t, resetToken)
		return faultCase{fe: fe,
			run: func() (authcube.Session, error) {
				return authcube.Session{}, fe.Engine.ConfirmPasswordReset(ctx, resetToken, newPassword)
			},
			check: func(t *testing.T, err error) {
				works, fails := authtest.Password, newPassword
				if err == nil {
					works, fails = newPassword, authtest.Password
				}
				s, serr := fe.Engine.CreateUserSession(ctx, authcube.Credentials{Login: "ann", Password: works})
				require.NoError(t, serr, "the password in force signs in")
				require.NoError(t, fe.Engine.DestroySession(ctx, s.Token))
				_, serr = fe.Engine.CreateUserSession(ctx, authcube.Credentials{Login: "ann", Password: fails})
				requireCode(t, serr, authcube.ErrInvalidCredentials, "")
			},
		}
	}, false)
}

// faultIssuer is one Firebase issuer for all the engines of a test (making keys is slow); its
// clock is authtest's start, where the engines' clocks stay.
func faultIssuer() *firebasetest.Issuer {
	issuer := firebasetest.NewIssuer("demo-project")
	issuer.Now = func() time.Time { return authtest.Start }
	return issuer
}

func faultFirebaseOption(issuer *firebasetest.Issuer) authtest.Option {
	return authtest.WithConfig(func(c *authcube.Config) {
		c.Providers = map[string]identity.TokenVerifier{"firebase_phone": issuer.Verifier()}
	})
}

func TestFaultsPhoneSignIn(t *testing.T) {
	t.Parallel()
	issuer := faultIssuer()
	for _, existing := range []bool{false, true} {
		t.Run(fmt.Sprintf("existing=%v", existing), func(t *testing.T) {
			t.Parallel()
			testFaults(t, func(t *testing.T) faultCase {
				fe := newFaultEnv(t, faultFirebaseOption(issuer))
				var want int64
				if existing {
					s, err := fe.Engine.CreateUserSession(ctx, authcube.Credentials{Provider: "firebase_phone", Token: issuer.PhoneToken("uid-1", "+447911123456")})
					require.NoError(t, err)
					want = s.UserID
				}
				app := fe.app(t)
				tok := issuer.PhoneToken("uid-1", "+447911123456")
				return faultCase{fe: fe,
					run: func() (authcube.Session, error) {
						_, err := fe.Engine.SignIn(ctx, app.Token, authcube.Credentials{Provider: "firebase_phone", Token: tok})
						return authcube.Session{}, err
					},
					check: faultSignInCheck(fe, app.Token, &want),
				}
			}, false)
		})
	}
}

func TestFaultsPhoneCreateUserSession(t *testing.T) {
	t.Parallel()
	issuer := faultIssuer()
	testFaults(t, func(t *testing.T) faultCase {
		fe := newFaultEnv(t, faultFirebaseOption(issuer))
		tok := issuer.PhoneToken("uid-2", "+447911123457")
		var s authcube.Session
		return faultCase{fe: fe,
			run: func() (authcube.Session, error) {
				var err error
				s, err = fe.Engine.CreateUserSession(ctx, authcube.Credentials{Provider: "firebase_phone", Token: tok})
				return s, err
			},
			check: faultUserSessionCheck(fe, &s),
		}
	}, false)
}

// The custom identity provider: a first sign-in (the local user is created) and a later one
// whose name changed at the provider (the local name is refreshed, best effort).
func TestFaultsCustomProviderSignIn(t *testing.T) {
	t.Parallel()
	for _, existing := range []bool{false, true} {
		t.Run(fmt.Sprintf("existing=%v", existing), func(t *testing.T) {
			t.Parallel()
			calls := testFaults(t, func(t *testing.T) faultCase {
				idp := &fakeIdP{}
				idp.add("bigbird", "external secret", identity.Profile{Subject: "ext-1", Login: "bigbird", Email: "bird@example.org", FullName: "Big Bird"})
				fe := newFaultEnv(t, authtest.WithConfig(func(c *authcube.Config) { c.Identity = idp }))
				var want int64
				if existing {
					s, err := fe.Engine.CreateUserSession(ctx, authcube.Credentials{Login: "bigbird", Password: "external secret"})
					require.NoError(t, err)
					want = s.UserID
					idp.add("bigbird", "external secret", identity.Profile{Subject: "ext-1", Login: "bigbird", FullName: "Big Bird Jr"})
				}
				app := fe.app(t)
				return faultCase{fe: fe,
					run: func() (authcube.Session, error) {
						_, err := fe.Engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "bigbird", Password: "external secret"})
						return authcube.Session{}, err
					},
					check: faultSignInCheck(fe, app.Token, &want),
				}
			}, false)
			if existing {
				assert.Contains(t, calls, "RefreshUserName")
			} else {
				assert.Contains(t, calls, "CreateIdentityUser")
			}
		})
	}
}

// A random source that fails its N-th read: CreateSession, SignUp and CreateUserSession fail
// cleanly (an internal error, no session, no user), and work again once it recovers.
func TestFaultsRandomSource(t *testing.T) {
	t.Parallel()
	t.Run("CreateSession", func(t *testing.T) {
		t.Parallel()
		testFaults(t, func(t *testing.T) faultCase {
			fe := newRandFaultEnv(t)
			var s authcube.Session
			return faultCase{fe: fe,
				run: func() (authcube.Session, error) {
					var err error
					s, err = fe.Engine.CreateSession(ctx)
					return s, err
				},
				check: func(t *testing.T, err error) {
					if err == nil {
						_, serr := fe.Engine.Session(ctx, s.Token)
						require.NoError(t, serr)
					}
					_, serr := fe.Engine.CreateSession(ctx)
					require.NoError(t, serr, "works again once the source recovers")
				},
			}
		}, false)
	})
	t.Run("SignUp", func(t *testing.T) {
		t.Parallel()
		testFaults(t, func(t *testing.T) faultCase {
			fe := newRandFaultEnv(t)
			app := fe.app(t)
			return faultCase{fe: fe,
				run: func() (authcube.Session, error) {
					_, err := fe.Engine.SignUp(ctx, app.Token, faultAnn())
					return authcube.Session{}, err
				},
				check: func(t *testing.T, err error) {
					_, lerr := fe.Engine.UserByLogin(ctx, app.Token, "ann")
					if err != nil {
						requireCode(t, lerr, authcube.ErrNotFound, "")
					} else {
						require.NoError(t, lerr)
					}
				},
			}
		}, false)
	})
	t.Run("CreateUserSession", func(t *testing.T) {
		t.Parallel()
		testFaults(t, func(t *testing.T) faultCase {
			fe := newRandFaultEnv(t)
			fe.signUp(t, faultAnn())
			var s authcube.Session
			return faultCase{fe: fe,
				run: func() (authcube.Session, error) {
					var err error
					s, err = fe.Engine.CreateUserSession(ctx, authcube.Credentials{Login: "ann", Password: authtest.Password})
					return s, err
				},
				check: faultUserSessionCheck(fe, &s),
			}
		}, false)
	})
	t.Run("always", func(t *testing.T) {
		t.Parallel()
		fe := newRandFaultEnv(t)
		fe.signUp(t, faultAnn())
		app := fe.app(t)
		fe.inj.arm(1, true)
		s, err := fe.Engine.CreateSession(ctx)
		faultRequireInternal(t, err)
		assert.Equal(t, authcube.Session{}, s)
		s, err = fe.Engine.CreateUserSession(ctx, authcube.Credentials{Login: "ann", Password: authtest.Password})
		faultRequireInternal(t, err)
		assert.Equal(t, authcube.Session{}, s)
		_, err = fe.Engine.SignUp(ctx, app.Token, authcube.NewUser{Login: "bob", Password: authtest.Password})
		faultRequireInternal(t, err)
		fe.inj.disarm()
		_, err = fe.Engine.UserByLogin(ctx, app.Token, "bob")
		requireCode(t, err, authcube.ErrNotFound, "")
	})
}

func faultRequireInternal(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, errFault)
	var ae *authcube.Error
	require.ErrorAs(t, err, &ae)
	require.Equal(t, authcube.CodeInternal, ae.Code, "%v", err)
}
