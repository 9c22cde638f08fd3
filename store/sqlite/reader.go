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
	idle chan *conn
	size int

	mu     sync.Mutex // guards opened and closed
	opened int
	closed bool
}

func newReadPool(path string, size int) *readPool {
	return &readPool{path: path, idle: make(chan *conn, size), size: size}
}

// get takes an idle connection, opens one while the pool has room, or waits for one.
func (p *readPool) get(ctx context.Context) (*conn, error) {
	select {
	case c := <-p.idle:
		return c, nil
	default:
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errClosed
	}
	if p.opened < p.size {
		p.opened++
		p.mu.Unlock()
		c, err := openConn(p.path, readPragmas)
		if err != nil {
			p.mu.Lock()
			p.opened--
			p.mu.Unlock()
		}
		return c, err
	}
	p.mu.Unlock()
	select {
	case c := <-p.idle:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// put returns c to the pool, or closes it when the pool is closed.
func (p *readPool) put(c *conn) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		c.close()
		return
	}
	p.idle <- c
}

// close closes the idle connections; one in use is closed when it is put back.
func (p *readPool) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	for {
		select {
		case c := <-p.idle:
			c.close()
		default:
			return
		}
	}
}

// read runs the query q with args on a read connection and calls each for every result row,
// in order, until each returns an error. ctx ending interrupts the statement.
func (s *Store) read(ctx context.Context, q string, args []any, each func(row) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c, err := s.readers.get(ctx)
	if err != nil {
		return err
	}
	defer s.readers.put(c)
	return c.run(ctx, q, args, each)
}

// readRow runs q on a read connection for its first row and passes it to scan; sql.ErrNoRows
// when there is none.
func (s *Store) readRow(ctx context.Context, q string, args []any, scan func(row) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c, err := s.readers.get(ctx)
	if err != nil {
		return err
	}
	defer s.readers.put(c)
	return c.runRow(ctx, q, args, scan)
}
