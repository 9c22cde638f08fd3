package main

import (
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
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	l := newCapListener(tcp, 1)
	defer l.Close()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", tcp.Addr().String())
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		return c
	}

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
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	l := newCapListener(tcp, 1)
	for range 2 {
		c, err := net.Dial("tcp", tcp.Addr().String())
		require.NoError(t, err)
		defer c.Close()
	}
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
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	l := newCapListener(tcp, 2)
	defer l.Close()
	for range 2 {
		c, err := net.Dial("tcp", tcp.Addr().String())
		require.NoError(t, err)
		defer c.Close()
	}
	a, err := l.Accept()
	require.NoError(t, err)
	b, err := l.Accept()
	require.NoError(t, err)
	defer b.Close()
	a.Close()
	a.Close() // the server's Close after the limiter's: no second release
	assert.Len(t, l.slots, 1, "b still holds its slot")
}
