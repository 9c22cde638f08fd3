package main

import (
	"net"
	"net/http"
	"sync"
)

// capListener caps the connections served at once (--max-conns, S34), as
// golang.org/x/net/netutil.LimitListener does, with one difference: a kept-alive connection
// waiting for its next request does not hold its slot against a new client. When every slot is
// taken and a connection arrives, the connection idle the longest is closed to make room, as
// HTTP/1.1 allows a server to do at any moment (clients open a new connection, and retry an
// idempotent request that met the close); nginx does the same when it runs out of connections.
// With a plain cap, as many clients as slots that keep their connections open between requests
// would hold them all for up to the idle timeout while every other client waited.
//
// A connection is idle from the server's report (http.Server's ConnState) until the first byte
// of its next request arrives: cappedConn.Read takes it off the idle set then, under the same
// lock under which a connection is chosen to be closed, so a request that has begun to arrive
// is never cut off for another, and a connection chosen first drops what arrives after (its
// client sees the close before any answer, and its request was not served). The one exception:
// the next request of a client that pipelines, already read with the previous one, is not seen
// arriving. When no connection is idle, the new one waits, accepted, until a slot frees (at most
// one connection waits so, since the server accepts one at a time) and the kernel's queue holds
// the rest.
type capListener struct {
	net.Listener
	slots    chan struct{} // one token per connection served
	wentIdle chan struct{} // a connection went idle (capacity 1: a wake-up, not a count)
	done     chan struct{} // closed by Close: no connection waits for a slot any more
	close    sync.Once

	mu   sync.Mutex
	seq  uint64                 // counts the transitions to idle, to find the longest idle
	idle map[*cappedConn]uint64 // connections between requests, and when they got there

	waiting func() // tests: called when an accepted connection starts to wait for a slot
}

func newCapListener(ln net.Listener, n int) *capListener {
	return &capListener{Listener: ln, slots: make(chan struct{}, n), wentIdle: make(chan struct{}, 1), done: make(chan struct{}),
		idle: map[*cappedConn]uint64{}}
}

// Accept accepts a connection and then waits for its slot, closing an idle connection to free
// one, now or as soon as one goes idle.
func (l *capListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	waited := false
	for {
		select {
		case l.slots <- struct{}{}:
			return &cappedConn{Conn: c, l: l}, nil
		default:
		}
		if l.closeLongestIdle() {
			continue // its slot is free now (or taken by nothing else: Accept is not concurrent)
		}
		if l.waiting != nil && !waited {
			l.waiting()
		}
		waited = true
		select {
		case l.slots <- struct{}{}:
			return &cappedConn{Conn: c, l: l}, nil
		case <-l.wentIdle: // close it for this one (or a stale wake-up: look again)
		case <-l.done:
			c.Close()
			return nil, net.ErrClosed
		}
	}
}

// closeLongestIdle closes the connection idle the longest and reports whether there was one.
func (l *capListener) closeLongestIdle() bool {
	l.mu.Lock()
	var (
		oldest *cappedConn
		since  uint64
	)
	for c, at := range l.idle {
		if oldest == nil || at < since {
			oldest, since = c, at
		}
	}
	if oldest != nil {
		delete(l.idle, oldest)
		oldest.closing = true // from now on its reads drop what arrives
	}
	l.mu.Unlock()
	if oldest == nil {
		return false
	}
	oldest.Close() // releases its slot; the server's own Close of it later does nothing more
	return true
}

// connState is the server's ConnState hook: it keeps the set of idle connections.
func (l *capListener) connState(nc net.Conn, s http.ConnState) {
	c, ok := nc.(*cappedConn)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if s != http.StateIdle {
		delete(l.idle, c)
		return
	}
	if c.closing {
		return
	}
	l.seq++
	l.idle[c] = l.seq
	select {
	case l.wentIdle <- struct{}{}:
	default:
	}
}

// Close stops the listener and wakes a connection waiting for a slot.
func (l *capListener) Close() error {
	l.close.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// cappedConn is a connection holding a slot: it leaves the idle set when bytes arrive, and
// releases its slot once, at its first Close.
type cappedConn struct {
	net.Conn
	l       *capListener
	once    sync.Once
	closing bool // guarded by l.mu: chosen to be closed for another connection
}

func (c *cappedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.l.mu.Lock()
		closing := c.closing
		delete(c.l.idle, c)
		c.l.mu.Unlock()
		if closing {
			return 0, net.ErrClosed // arrived after it was chosen: not served
		}
	}
	return n, err
}

func (c *cappedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { <-c.l.slots })
	return err
}
