package postgres_test

import (
	"context"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/blob"
	"github.com/authcube/authcube/store/postgres"
)

// silentProxy forwards TCP to target until silence is set; then it drops every byte in both
// directions and keeps the sockets open, as a NAT or firewall that forgot the connection does.
type silentProxy struct {
	ln      net.Listener
	silence atomic.Bool
	mu      sync.Mutex
	conns   []net.Conn
}

func newSilentProxy(t *testing.T, target string) *silentProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &silentProxy{ln: ln}
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if err != nil {
				return
			}
			if !p.silence.Load() {
				if _, err := dst.Write(buf[:n]); err != nil {
					return
				}
			}
		}
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go pipe(s, c)
			go pipe(c, s)
		}
	}()
	return p
}

// close ends the proxy and every connection through it, so that what waits on them fails.
func (p *silentProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// A session listener whose connection dies silently is noticed by its heartbeat: the engine
// stops answering from its cache within a few heartbeats, instead of accepting a session
// revoked elsewhere until the cache's last guard.
func TestSilentListenerIsNoticed(t *testing.T) {
	rawURL := testURL(t)
	cfg, err := pgx.ParseConfig(rawURL)
	require.NoError(t, err)
	schema := freshSchema(t, rawURL)
	open := func(u string) *authcube.Engine {
		st, err := postgres.Open(t.Context(), postgres.Config{URL: u, Schema: schema, MaxConns: 4, Heartbeat: 50 * time.Millisecond})
		require.NoError(t, err)
		blobs, err := blob.OpenDir(filepath.Join(t.TempDir(), "blobs"))
		require.NoError(t, err)
		e, err := authcube.Open(t.Context(), authcube.Config{Store: st, Blobs: blobs, Mailer: &authtest.Mailbox{},
			Hashing: authtest.CheapHashing, Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		return e
	}
	a := open(rawURL)
	t.Cleanup(func() { a.Close() })
	p := newSilentProxy(t, net.JoinHostPort(cfg.Host, fmtPort(cfg.Port)))
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	u.Host = p.ln.Addr().String()
	b := open(u.String())
	t.Cleanup(func() {
		p.close() // B's connections fail now, so B closes without waiting on them
		b.Close()
	})

	ctx := t.Context()
	app, err := a.CreateSession(ctx)
	require.NoError(t, err)
	_, err = a.SignUp(ctx, app.Token, authcube.NewUser{Login: "victim01", Password: "correct horse battery"})
	require.NoError(t, err)
	s, err := a.CreateUserSession(ctx, authcube.Credentials{Login: "victim01", Password: "correct horse battery"})
	require.NoError(t, err)
	_, err = b.Session(ctx, s.Token) // now in B's cache
	require.NoError(t, err)
	time.Sleep(200 * time.Millisecond) // a few heartbeats pass on a live connection: nothing is lost

	p.silence.Store(true) // every connection of B, its listener's too, goes silent
	require.NoError(t, a.DestroySession(ctx, s.Token))
	// Without the heartbeat B answers from its cache (no error) until the last guard, a minute
	// later; with it, B soon stops trusting its cache and its database reads cannot succeed.
	require.Eventually(t, func() bool {
		cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_, err := b.Session(cctx, s.Token)
		return err != nil
	}, 10*time.Second, 20*time.Millisecond, "a silently dead listener went unnoticed: B still accepts a revoked session")
}

func fmtPort(p uint16) string { return (&net.TCPAddr{Port: int(p)}).String()[1:] }
