package firebase_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/identity"
	"github.com/authcube/authcube/identity/firebase"
	"github.com/authcube/authcube/identity/firebase/firebasetest"
)

// keyServer serves an issuer's keys, counting fetches, in a mode the test switches.
type keyServer struct {
	*httptest.Server
	fetches atomic.Int32

	mu   sync.Mutex
	mode string // "google" (the issuer's KeysHandler), "jwks", or a failure
	cc   string // Cache-Control for "jwks"
}

func newKeyServer(t *testing.T, iss *firebasetest.Issuer) *keyServer {
	ks := &keyServer{mode: "google"}
	google := iss.KeysHandler()
	ks.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ks.fetches.Add(1)
		ks.mu.Lock()
		mode, cc := ks.mode, ks.cc
		ks.mu.Unlock()
		switch mode {
		case "google":
			google.ServeHTTP(w, r)
		case "jwks":
			if cc != "" {
				w.Header().Set("Cache-Control", cc)
			}
			w.Write(iss.JWKS())
		case "at cap", "over cap": // keys padded with white space to the cap, or one byte more
			keys := iss.JWKS()
			n := firebase.MaxKeysSize - len(keys)
			if mode == "over cap" {
				n++
			}
			w.Write(append(keys, bytes.Repeat([]byte(" "), n)...))
		case "500":
			http.Error(w, "oops", http.StatusInternalServerError)
		case "garbage":
			w.Write([]byte("<html>not keys</html>"))
		case "empty":
			w.Write([]byte(`{"keys":[]}`))
		case "redirect":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		case "down":
			panic(http.ErrAbortHandler) // drops the connection
		}
	}))
	t.Cleanup(ks.Close)
	return ks
}

func (ks *keyServer) set(mode, cc string) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.mode, ks.cc = mode, cc
}

func remoteVerifier(t *testing.T, ks *keyServer, clk *clock) *firebase.Verifier {
	t.Helper()
	v, err := firebase.New(firebase.Config{ProjectID: project, KeysURL: ks.URL, Client: exactClient(), Now: clk.Now})
	require.NoError(t, err)
	return v
}

// exactClient makes one request per fetch, so that fetches can be counted: no redirects
// followed, and no connection reuse (the transport retries a GET once on a reused connection
// that is dropped).
func exactClient() *http.Client {
	return &http.Client{
		Transport:     &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func TestKeysURLCacheControl(t *testing.T) {
	iss, clk := newIssuer(t)
	ctx := context.Background()
	check := func(t *testing.T, v *firebase.Verifier, ks *keyServer, wantFetches int32) {
		t.Helper()
		_, err := v.VerifyToken(ctx, iss.PhoneToken("uid-1", phone))
		require.NoError(t, err)
		assert.Equal(t, wantFetches, ks.fetches.Load())
	}

	t.Run("max-age 3600", func(t *testing.T) {
		ks := newKeyServer(t, iss)
		v := remoteVerifier(t, ks, clk)
		check(t, v, ks, 1)
		check(t, v, ks, 1)
		clk.Advance(59 * time.Minute)
		check(t, v, ks, 1)
		clk.Advance(time.Minute)
		check(t, v, ks, 2)
		check(t, v, ks, 2)
	})
	t.Run("max-age 120", func(t *testing.T) {
		ks := newKeyServer(t, iss)
		ks.set("jwks", "public, max-age=120, must-revalidate")
		v := remoteVerifier(t, ks, clk)
		check(t, v, ks, 1)
		clk.Advance(119 * time.Second)
		check(t, v, ks, 1)
		clk.Advance(time.Second)
		check(t, v, ks, 2)
	})
	t.Run("no max-age means an hour", func(t *testing.T) {
		ks := newKeyServer(t, iss)
		ks.set("jwks", "")
		v := remoteVerifier(t, ks, clk)
		check(t, v, ks, 1)
		clk.Advance(59 * time.Minute)
		check(t, v, ks, 1)
		clk.Advance(time.Minute)
		check(t, v, ks, 2)
	})
	t.Run("no-cache still at most once a minute", func(t *testing.T) {
		ks := newKeyServer(t, iss)
		ks.set("jwks", "no-cache")
		v := remoteVerifier(t, ks, clk)
		check(t, v, ks, 1)
		clk.Advance(59 * time.Second)
		check(t, v, ks, 1)
		clk.Advance(time.Second)
		check(t, v, ks, 2)
	})
	t.Run("max-age over a day means a day", func(t *testing.T) {
		ks := newKeyServer(t, iss)
		ks.set("jwks", "max-age=9223372036854775807") // whose nanoseconds overflow int64
		v := remoteVerifier(t, ks, clk)
		check(t, v, ks, 1)
		ks.set("jwks", "max-age=172800")
		clk.Advance(firebase.MaxCacheMaxAge - time.Second)
		check(t, v, ks, 1)
		clk.Advance(time.Second)
		check(t, v, ks, 2)
		clk.Advance(firebase.MaxCacheMaxAge - time.Second)
		check(t, v, ks, 2)
		clk.Advance(time.Second)
		check(t, v, ks, 3)
	})
	t.Run("negative or signed max-age means no caching", func(t *testing.T) {
		for _, cc := range []string{"max-age=-5", "max-age=+3600"} {
			ks := newKeyServer(t, iss)
			ks.set("jwks", cc)
			v := remoteVerifier(t, ks, clk)
			check(t, v, ks, 1)
			clk.Advance(firebase.MinRefetchInterval)
			check(t, v, ks, 2)
		}
	})
	t.Run("one fetch for concurrent callers", func(t *testing.T) {
		ks := newKeyServer(t, iss)
		v := remoteVerifier(t, ks, clk)
		token := iss.PhoneToken("uid-1", phone)
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				_, err := v.VerifyToken(ctx, token)
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		assert.Equal(t, int32(1), ks.fetches.Load())
	})
}

func TestKeysURLRotation(t *testing.T) {
	iss, clk := newIssuer(t)
	other := firebasetest.NewIssuer(project)
	other.Now = clk.Now
	ks := newKeyServer(t, iss)
	v := remoteVerifier(t, ks, clk)
	ctx := context.Background()

	oldToken := iss.PhoneToken("uid-1", phone)
	_, err := v.VerifyToken(ctx, oldToken)
	require.NoError(t, err)
	require.Equal(t, int32(1), ks.fetches.Load())

	iss.Rotate()
	newToken := iss.PhoneToken("uid-1", phone)
	_, err = v.VerifyToken(ctx, newToken)
	requireRejected(t, err, "unknown kid")
	assert.Equal(t, int32(1), ks.fetches.Load(), "refetch rate-limited to once a minute")

	clk.Advance(time.Minute)
	_, err = v.VerifyToken(ctx, newToken)
	require.NoError(t, err, "an unknown kid triggers a refetch")
	assert.Equal(t, int32(2), ks.fetches.Load())

	_, err = v.VerifyToken(ctx, oldToken)
	requireRejected(t, err, "unknown kid")

	// Forged kids cannot make the verifier hammer the server.
	for range 5 {
		_, err = v.VerifyToken(ctx, other.PhoneToken("uid-1", phone))
		requireRejected(t, err, "unknown kid")
	}
	assert.Equal(t, int32(2), ks.fetches.Load())
	clk.Advance(time.Minute)
	for range 5 {
		_, err = v.VerifyToken(ctx, other.PhoneToken("uid-1", phone))
		requireRejected(t, err, "unknown kid")
	}
	assert.Equal(t, int32(3), ks.fetches.Load())
}

func TestKeysURLFailureKeepsLastGood(t *testing.T) {
	iss, clk := newIssuer(t)
	ks := newKeyServer(t, iss)
	v := remoteVerifier(t, ks, clk)
	ctx := context.Background()
	_, err := v.VerifyToken(ctx, iss.PhoneToken("uid-1", phone))
	require.NoError(t, err)

	fetches := int32(1)
	for _, mode := range []string{"500", "garbage", "empty", "redirect", "down"} {
		ks.set(mode, "")
		clk.Advance(2 * time.Hour)
		_, err := v.VerifyToken(ctx, iss.PhoneToken("uid-1", phone))
		require.NoError(t, err, mode)
		fetches++
		assert.Equal(t, fetches, ks.fetches.Load(), mode)
	}
	ks.set("google", "")
	clk.Advance(time.Minute)
	_, err = v.VerifyToken(ctx, iss.PhoneToken("uid-1", phone))
	require.NoError(t, err)
	assert.Equal(t, fetches+1, ks.fetches.Load())
}

func TestKeysURLNoKeys(t *testing.T) {
	iss, clk := newIssuer(t)
	ctx := context.Background()
	for _, mode := range []string{"500", "garbage", "empty", "redirect", "down"} {
		t.Run(mode, func(t *testing.T) {
			ks := newKeyServer(t, iss)
			ks.set(mode, "")
			// The default client, which must not follow the redirect.
			v, err := firebase.New(firebase.Config{ProjectID: project, KeysURL: ks.URL, Now: clk.Now})
			require.NoError(t, err)
			for range 2 {
				_, err = v.VerifyToken(ctx, iss.PhoneToken("uid-1", phone))
				require.Error(t, err)
				assert.False(t, errors.Is(err, identity.ErrRejected), "the provider could not say: %v", err)
				assert.Contains(t, err.Error(), "no usable keys")
			}
			assert.Equal(t, int32(1), ks.fetches.Load(), "a failed fetch is retried after a minute")

			ks.set("google", "")
			clk.Advance(time.Minute)
			_, err = v.VerifyToken(ctx, iss.PhoneToken("uid-1", phone))
			require.NoError(t, err)
		})
	}
}

func TestKeysURLInitialKeys(t *testing.T) {
	iss, clk := newIssuer(t)
	ks := newKeyServer(t, iss)
	ks.set("500", "")
	v, err := firebase.New(firebase.Config{
		ProjectID: project, Keys: iss.JWKS(), KeysURL: ks.URL, Client: exactClient(), Now: clk.Now,
	})
	require.NoError(t, err)
	_, err = v.VerifyToken(context.Background(), iss.PhoneToken("uid-1", phone))
	require.NoError(t, err, "Config.Keys serve until a fetch succeeds")
	assert.Equal(t, int32(1), ks.fetches.Load())
}

func TestKeysURLSlowServer(t *testing.T) {
	iss, clk := newIssuer(t)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first: lets the handlers end

	t.Run("ctx deadline", func(t *testing.T) {
		v, err := firebase.New(firebase.Config{ProjectID: project, KeysURL: srv.URL, Client: srv.Client(), Now: clk.Now})
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err = v.VerifyToken(ctx, iss.PhoneToken("uid-1", phone))
		require.Error(t, err)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.False(t, errors.Is(err, identity.ErrRejected))
	})
	t.Run("client timeout", func(t *testing.T) {
		client := &http.Client{Timeout: 50 * time.Millisecond}
		v, err := firebase.New(firebase.Config{ProjectID: project, KeysURL: srv.URL, Client: client, Now: clk.Now})
		require.NoError(t, err)
		_, err = v.VerifyToken(context.Background(), iss.PhoneToken("uid-1", phone))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "no usable keys")
		assert.False(t, errors.Is(err, identity.ErrRejected))
	})
}

// TestKeysURLSizeCap: a key set of MaxKeysSize bytes is read whole; one byte more is refused.
func TestKeysURLSizeCap(t *testing.T) {
	iss, clk := newIssuer(t)
	ks := newKeyServer(t, iss)
	ks.set("at cap", "")
	_, err := remoteVerifier(t, ks, clk).VerifyToken(context.Background(), iss.PhoneToken("uid-1", phone))
	require.NoError(t, err)

	ks.set("over cap", "")
	_, err = remoteVerifier(t, ks, clk).VerifyToken(context.Background(), iss.PhoneToken("uid-1", phone))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "response too large")
}

// TestKeysURLUnknownKid: with keys fetched, a token under a kid not among them is rejected
// (identity.ErrRejected: a bad token); with no keys at all it is an error of the verifier, not
// a rejection.
func TestKeysURLUnknownKid(t *testing.T) {
	iss, clk := newIssuer(t)
	other := firebasetest.NewIssuer(project)
	other.Now = clk.Now
	ctx := context.Background()

	ks := newKeyServer(t, iss)
	_, err := remoteVerifier(t, ks, clk).VerifyToken(ctx, other.PhoneToken("uid-1", phone))
	requireRejected(t, err, "unknown kid")

	ks.set("empty", "")
	_, err = remoteVerifier(t, ks, clk).VerifyToken(ctx, iss.PhoneToken("uid-1", phone))
	require.Error(t, err)
	assert.NotErrorIs(t, err, identity.ErrRejected)
	assert.Contains(t, err.Error(), "no usable keys")
}
