package main

import (
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCapListenerClosesAConnectionThatGoesIdleWhileAnotherWaits(t *testing.T) {
	// The order a server does not show: every slot is in a request when a connection arrives,
	// and one goes idle only afterwards. The waiting connection gets that slot at once.
	l, dial := capped(t, 1)
	client1 := dial()
	first, err := l.Accept()
	require.NoError(t, err)
	l.connState(first, http.StateActive)

	dial()
	waiting := make(chan struct{})
	l.waiting = func() { close(waiting) }
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		assert.NoError(t, err)
		accepted <- c
	}()
	select {
	case <-accepted:
		t.Fatal("a second connection was accepted while the only slot was in a request")
	case <-waiting: // it waits for the slot
	}

	l.connState(first, http.StateIdle)
	select {
	case c := <-accepted:
		require.NotNil(t, c)
		c.Close()
	case <-time.After(20 * time.Second):
		t.Fatal("the waiting connection was not accepted when the first went idle")
	}
	require.NoError(t, client1.SetReadDeadline(time.Now().Add(20*time.Second)))
	_, err = client1.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF, "the idle connection was closed to make room")
}

func TestCapListenerCloseWakesAWaitingAccept(t *testing.T) {
	l, dial := capped(t, 1)
	dial()
	dial()
	first, err := l.Accept()
	require.NoError(t, err)
	defer first.Close()
	l.connState(first, http.StateActive)
	waiting := make(chan struct{})
	l.waiting = func() { close(waiting) }
	errc := make(chan error, 1)
	go func() {
		_, err := l.Accept()
		errc <- err
	}()
	<-waiting // the second connection is accepted and waits for the slot
	require.NoError(t, l.Close())
	select {
	case err := <-errc:
		assert.ErrorIs(t, err, net.ErrClosed)
	case <-time.After(20 * time.Second):
		t.Fatal("Accept still waits for a slot after Close")
	}
}

func TestCappedConnReleasesItsSlotOnce(t *testing.T) {
	l, dial := capped(t, 2)
	dial()
	dial()
	a, err := l.Accept()
	require.NoError(t, err)
	b, err := l.Accept()
	require.NoError(t, err)
	defer b.Close()
	a.Close()
	a.Close() // the server's Close after the limiter's: no second release
	assert.Len(t, l.slots, 1, "b still holds its slot")
}

// capped returns a capListener of n slots on loopback and a dial function whose connections
// are closed at the test's end.
func capped(t *testing.T, n int) (*capListener, func() net.Conn) {
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	l := newCapListener(tcp, n)
	t.Cleanup(func() { l.Close() })
	return l, func() net.Conn {
		c, err := net.Dial("tcp", tcp.Addr().String())
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		return c
	}
}

// closedByServer reports whether the server closed c (its client reads EOF), waiting at most
// wait for it.
func closedByServer(t *testing.T, c net.Conn, wait time.Duration) bool {
	require.NoError(t, c.SetReadDeadline(time.Now().Add(wait)))
	_, err := c.Read(make([]byte, 1))
	return errors.Is(err, io.EOF)
}

func TestCapListenerClosesTheLongestIdleFirst(t *testing.T) {
	l, dial := capped(t, 2)
	clientA, clientB := dial(), dial()
	a, err := l.Accept()
	require.NoError(t, err)
	b, err := l.Accept()
	require.NoError(t, err)
	l.connState(b, http.StateIdle) // b first, then a
	l.connState(a, http.StateIdle)

	dial()
	c, err := l.Accept()
	require.NoError(t, err)
	defer c.Close()
	assert.True(t, closedByServer(t, clientB, 20*time.Second), "b, idle the longest, was closed")
	assert.False(t, closedByServer(t, clientA, 50*time.Millisecond), "a was not") // a bound on a wrong answer
}

func TestCapListenerKeepsAConnectionWhoseRequestBegan(t *testing.T) {
	// Between the first byte of a request and the server's report that the connection is
	// active, the connection must not be chosen: its Read takes it off the idle set.
	l, dial := capped(t, 1)
	clientA := dial()
	a, err := l.Accept()
	require.NoError(t, err)
	defer a.Close()
	l.connState(a, http.StateIdle)
	_, err = io.WriteString(clientA, "G")
	require.NoError(t, err)
	n, err := a.Read(make([]byte, 1)) // the server reads the next request's first byte
	require.NoError(t, err)
	require.Equal(t, 1, n)

	dial()
	waiting := make(chan struct{})
	l.waiting = func() { close(waiting) }
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	select {
	case c := <-accepted:
		c.Close()
		t.Fatal("the connection whose request began was closed for another")
	case <-waiting: // the new connection waits for a slot instead
	}
	assert.False(t, closedByServer(t, clientA, 50*time.Millisecond), "a was not closed") // a bound on a wrong answer
	require.NoError(t, l.Close())
	assert.Nil(t, <-accepted, "Close ends the wait")
}

func TestCapListenerForgetsAConnectionItClosed(t *testing.T) {
	// The server may report a connection idle after it was chosen and closed: it must not be
	// counted as idle again (closing it twice would free no second slot).
	l, dial := capped(t, 1)
	dial()
	a, err := l.Accept()
	require.NoError(t, err)
	l.connState(a, http.StateIdle)
	require.True(t, l.closeLongestIdle())
	l.connState(a, http.StateIdle)
	assert.False(t, l.closeLongestIdle(), "the closed connection is not idle again")
	assert.Empty(t, l.slots, "its slot was released once")
}
