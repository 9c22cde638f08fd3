// Command fakes3 serves an in-memory S3-compatible server (github.com/johannesboyne/gofakes3)
// on loopback HTTP, for running the blob/s3 tests against an endpoint of their own through
// AUTHCUBE_TEST_S3, as .ci/run does. It prints the AUTHCUBE_TEST_S3 value on its first line
// and serves until killed:
//
//	go run ./blob/s3/internal/fakes3 -addr 127.0.0.1:0
//	http://KEY:SECRET@127.0.0.1:PORT/authcube-ci
//
// gofakes3 checks no signature, so any keys do; the bucket is created at start.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "the loopback address to listen on")
	bucket := flag.String("bucket", "authcube-ci", "the bucket to create")
	flag.Parse()
	backend := s3mem.New()
	if err := backend.CreateBucket(*bucket); err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stdout, "http://FAKEKEY:FAKESECRET@%s/%s\n", ln.Addr(), *bucket)
	srv := &http.Server{Handler: gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server()}
	log.Fatal(srv.Serve(ln))
}
