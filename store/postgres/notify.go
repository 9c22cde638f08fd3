package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"

	"github.com/authcube/authcube/store"
)

// Session changes travel by LISTEN/NOTIFY on one channel per schema. Every write that ends or
// re-points sessions sends their token hashes (hex, concatenated) with pg_notify in its own
// transaction, so that the notification is delivered exactly when the change commits, to every
// listener of the database, this store's included.

var _ store.Notifier = (*Store)(nil)

// channelOf names the notification channel of a schema: short enough for any schema name
// (PostgreSQL's identifiers end at 63 bytes).
func channelOf(schema string) string {
	h := sha256.Sum256([]byte(schema))
	return "authcube_sessions_" + hex.EncodeToString(h[:8])
}

// hashesPerNotify keeps a payload (64 hex digits a hash) under PostgreSQL's 8000-byte limit.
const hashesPerNotify = 120

// notify sends the token hashes of changed sessions, inside tx: they are delivered when it
// commits, and never when it rolls back.
func (s *Store) notify(ctx context.Context, tx pgx.Tx, hashes ...[32]byte) error {
	for len(hashes) > 0 {
		n := min(len(hashes), hashesPerNotify)
		var b strings.Builder
		for _, h := range hashes[:n] {
			b.WriteString(hex.EncodeToString(h[:]))
		}
		if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, s.channel, b.String()); err != nil {
			return err
		}
		hashes = hashes[n:]
	}
	return nil
}

// parsePayload decodes a payload of notify; a malformed one yields nothing.
func parsePayload(p string) [][32]byte {
	if len(p)%64 != 0 {
		return nil
	}
	hashes := make([][32]byte, 0, len(p)/64)
	for i := 0; i < len(p); i += 64 {
		var h [32]byte
		if _, err := hex.Decode(h[:], []byte(p[i:i+64])); err != nil {
			return nil
		}
		hashes = append(hashes, h)
	}
	return hashes
}

// SubscribeSessions implements [store.Notifier]. It listens on a dedicated connection (outside
// the pool, named by application_name "authcube listener"). When that connection fails, or a
// heartbeat it sends itself is not delivered in time (Config.Heartbeat), f gets an event with
// Lost, and the store reconnects with a growing pause (at most 1s); once listening again it
// sends f an event without Lost. The subscription ends with ctx or Close.
func (s *Store) SubscribeSessions(ctx context.Context, f func(store.SessionEvent)) error {
	conn, err := s.listen(ctx)
	if err != nil {
		return wrap("subscribe sessions", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.done, cancel) // Close ends the subscription too
	go func() {
		defer stop()
		defer cancel()
		for {
			err := s.receive(ctx, conn, f)
			conn.Close(context.WithoutCancel(ctx))
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("authcube: postgres listener lost; the session cache is off until it is back", "err", err)
			f(store.SessionEvent{Lost: true})
			if conn = s.relisten(ctx); conn == nil {
				return
			}
			s.log.Info("authcube: postgres listener back")
			f(store.SessionEvent{})
		}
	}()
	return nil
}

// heartbeatPayload is the payload of the pings a listener sends itself; it is never a list of
// hashes (whose length is a multiple of 64).
const heartbeatPayload = "ping"

// errHeartbeat is the cause of a lost listener whose ping did not come back in time.
var errHeartbeat = errors.New("postgres: listener heartbeat not delivered in time")

// receive hands the notifications of conn to f until the connection fails, a heartbeat is not
// delivered within s.beat of being sent, or ctx ends; it returns why.
func (s *Store) receive(ctx context.Context, conn *pgx.Conn, f func(store.SessionEvent)) error {
	pending := false // a ping was sent and has not come back
	for {
		wctx, wcancel := context.WithTimeout(ctx, s.beat)
		n, err := conn.WaitForNotification(wctx)
		wcancel()
		switch {
		case err == nil:
			if n.Payload == heartbeatPayload {
				pending = false
			} else if hs := parsePayload(n.Payload); len(hs) > 0 {
				f(store.SessionEvent{TokenHashes: hs})
			}
			continue
		case ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded):
			return err
		case pending:
			return errHeartbeat
		}
		// Idle for a heartbeat: ping. The ping travels the whole way (to the server and back
		// on this connection), so only a live, listening connection delivers it.
		pctx, pcancel := context.WithTimeout(ctx, s.beat)
		_, err = conn.Exec(pctx, `SELECT pg_notify($1, $2)`, s.channel, heartbeatPayload)
		pcancel()
		if err != nil {
			return err
		}
		pending = true
	}
}

// listen opens the listener connection and starts listening.
func (s *Store) listen(ctx context.Context) (*pgx.Conn, error) {
	cfg := s.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = "authcube listener"
	// A wait that times out (a heartbeat) only sets a deadline on the socket: no cancel request
	// goes to the server, and the connection stays usable.
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()}
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return conn, nil
}

// relisten reconnects until it listens again or ctx ends (nil).
func (s *Store) relisten(ctx context.Context) *pgx.Conn {
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		conn, err := s.listen(ctx)
		if err == nil {
			return conn
		}
		if errors.Is(err, context.Canceled) || ctx.Err() != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}
