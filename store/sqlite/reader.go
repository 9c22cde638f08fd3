package sqlite

import (
	"context"
	"sync"
)

// readPragmas are set on every read connection. A read connection is query-only; a statement
// holds its read transaction only while it runs, so every read sees every write committed
// before it started.
var readPragmas = []string{
	"PRAGMA query_only = 1",
	"PRAGMA busy_timeout = 10000",
	"PRAGMA cache_size = -16384",    // 16 MiB per read connection
	"PRAGMA mmap_size = 2147483648", // reads map the file: no read syscall per page
}

// readPool is the pool of read connections, opened on demand up to its size.
type readPool struct {
	path string
	size int

	mu      sync.Mutex
	idle    []*conn
	opened  int
	waiters int           // callers of get waiting for a connection
	wake    chan struct{} // closed (and replaced) when a waiter may proceed
	closed  bool
}

func newReadPool(path string, size int) *readPool {
	return &readPool{path: path, size: size, wake: make(chan struct{})}
}

// get takes an idle connection, opens one while the pool has room, or waits for one until ctx
// ends or the pool closes.
func (p *readPool) get(ctx context.Context) (*conn, error) {
	p.mu.Lock()
	for {
		if p.closed {
			p.mu.Unlock()
			return nil, errClosed
		}
		if n := len(p.idle); n > 0 {
			c := p.idle[n-1]
			p.idle = p.idle[:n-1]
			p.mu.Unlock()
			return c, nil
		}
		if p.opened < p.size {
			p.opened++
			p.mu.Unlock()
			c, err := openConn(p.path, readPragmas)
			if err != nil {
				p.mu.Lock()
				p.opened--
				p.wakeLocked() // a waiter may open one in its place
				p.mu.Unlock()
			}
			return c, err
		}
		wake := p.wake
		p.waiters++
		p.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			p.mu.Lock()
			p.waiters--
			p.mu.Unlock()
			return nil, ctx.Err()
		}
		p.mu.Lock()
		p.waiters--
	}
}

// wakeLocked lets every waiting get look again. p.mu is held.
func (p *readPool) wakeLocked() {
	if p.waiters > 0 {
		close(p.wake)
		p.wake = make(chan struct{})
	}
}

// put returns c to the pool, or closes it when the pool is closed.
func (p *readPool) put(c *conn) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		c.close()
		return
	}
	p.idle = append(p.idle, c)
	p.wakeLocked()
	p.mu.Unlock()
}

// close closes the idle connections and fails every waiting get; a connection in use is
// closed when it is put back.
func (p *readPool) close() {
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.wakeLocked()
	p.mu.Unlock()
	for _, c := range idle {
		c.close()
	}
}

// read runs the query q with args on a read connection and calls each for every result row,
// in order, until each returns an error. ctx ending interrupts the statement.
func (s *Store) read(ctx context.Context, q string, args []any, each func(row) error) error {
	return s.onReader(ctx, func(c *conn) error { return c.run(ctx, q, args, each) })
}

// readRow runs q on a read connection for its first row and passes it to scan; sql.ErrNoRows
// when there is none.
func (s *Store) readRow(ctx context.Context, q string, args []any, scan func(row) error) error {
	return s.onReader(ctx, func(c *conn) error { return c.runRow(ctx, q, args, scan) })
}

// onReader runs f with a read connection of the pool.
func (s *Store) onReader(ctx context.Context, f func(*conn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c, err := s.readers.get(ctx)
	if err != nil {
		return err
	}
	defer s.readers.put(c)
	return f(c)
}
