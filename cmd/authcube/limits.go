package main

import (
	"io"
	"net/http"
	"time"
)

// Connection limits of authcube serve (S34). A client that trickles its headers, its body or
// its reading of the answer is cut off; one that transfers at least the minimum rate may take
// as long as its upload or download needs.
const (
	// defaultReadHeaderTimeout bounds reading a request's headers.
	defaultReadHeaderTimeout = 10 * time.Second
	// defaultReadTimeout bounds reading a request's body, before the minimum-rate allowance.
	defaultReadTimeout = 30 * time.Second
	// defaultWriteTimeout bounds writing a response, before the minimum-rate allowance.
	defaultWriteTimeout = 30 * time.Second
	// defaultIdleTimeout bounds how long a kept-alive connection waits for its next request.
	defaultIdleTimeout = 2 * time.Minute
	// defaultMinRate is the slowest transfer, in bytes per second, that a body or a response
	// may keep up once its base timeout is spent: 10 KiB/s.
	defaultMinRate = 10 << 10
	// defaultMaxConns caps the connections served at once; more wait to be accepted, an idle
	// kept-alive connection giving way to them (capListener).
	defaultMaxConns = 512
)

// limits are the per-request read and write deadlines of the server.
type limits struct {
	read, write time.Duration // base allowance for the body and for the response
	minRate     int64         // bytes per second that earn one more second
	now         func() time.Time
}

// deadline is when a transfer that started at start and has moved n bytes must have moved
// its next byte: start + base + n/minRate. A client at or above minRate never reaches it.
func (l limits) deadline(start time.Time, base time.Duration, n int64) time.Time {
	return start.Add(base + time.Duration(float64(n)/float64(l.minRate)*float64(time.Second)))
}

// wrap sets the read deadline of each request body and the write deadline of each response
// with http.ResponseController, extending them as bytes move at the minimum rate. Once the
// body is read (or when there is none) the read deadline is lifted: the write deadline then
// bounds the request.
func (l limits) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		start := l.now()
		// Errors mean the connection cannot take deadlines (never for the server authcube
		// serve runs); the server's own ReadTimeout and WriteTimeout still hold then.
		_ = rc.SetWriteDeadline(l.deadline(start, l.write, 0))
		if r.Body != nil && r.Body != http.NoBody {
			_ = rc.SetReadDeadline(l.deadline(start, l.read, 0))
			r.Body = &rateBody{ReadCloser: r.Body, l: l, rc: rc, start: start}
		} else {
			// Nothing more to read: no deadline, or the server's background read of the idle
			// connection would time out during a long response and cancel its context.
			_ = rc.SetReadDeadline(time.Time{})
		}
		h.ServeHTTP(&rateWriter{ResponseWriter: w, l: l, rc: rc, start: start}, r)
	})
}

// rateBody extends the read deadline as the body arrives.
type rateBody struct {
	io.ReadCloser
	l     limits
	rc    *http.ResponseController
	start time.Time
	n     int64
}

func (b *rateBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	switch {
	case err == io.EOF:
		_ = b.rc.SetReadDeadline(time.Time{}) // the body is in: as for a request without one
	case n > 0:
		b.n += int64(n)
		_ = b.rc.SetReadDeadline(b.l.deadline(b.start, b.l.read, b.n))
	}
	return n, err
}

// rateWriter extends the write deadline as the response is written.
type rateWriter struct {
	http.ResponseWriter
	l     limits
	rc    *http.ResponseController
	start time.Time
	n     int64
}

func (w *rateWriter) Write(p []byte) (int, error) {
	// Extend before writing: the deadline covers the bytes about to be sent.
	_ = w.rc.SetWriteDeadline(w.l.deadline(w.start, w.l.write, w.n+int64(len(p))))
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the server's ResponseWriter.
func (w *rateWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
