package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/blob/s3"
	"github.com/authcube/authcube/identity"
	"github.com/authcube/authcube/identity/firebase"
	"github.com/authcube/authcube/rest"
)

// serveOptions are the flags of authcube serve.
type serveOptions struct {
	dir, addr, authKey, resetURL, origins string
	appID                                 int64
	fullUserData, public                  bool
	idleTTL                               time.Duration
	firebaseProject, firebaseKeys         string
	trustedProxies, forwardedHeader       string
	baseURL                               string
	postgres, postgresSchema              string // a PostgreSQL store instead of SQLite in dir

	// File bytes in an S3-compatible bucket instead of DIR/blobs; keys from the environment.
	s3Endpoint, s3Bucket, s3Region, s3Prefix string
	s3Insecure                               bool
	presign                                  time.Duration

	// Connection limits (S34); zero means the default.
	readHeaderTimeout, readTimeout, writeTimeout, idleTimeout time.Duration
	minRate                                                   int64
	maxConns                                                  int
}

func serveFlags(stderr io.Writer) (*flag.FlagSet, *serveOptions) {
	o := &serveOptions{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.dir, "dir", "./authcube-data", "the data directory (created when missing)")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "the address to listen on; a loopback address unless --public")
	fs.Int64Var(&o.appID, "app-id", authcube.DefaultAppID, "the application id clients send (appId)")
	fs.StringVar(&o.authKey, "auth-key", "", "the auth key clients send (authKey); required")
	fs.BoolVar(&o.fullUserData, "full-user-data", false, "show other users' email and phone and allow substring filters on them, as ConnectyCube does")
	fs.DurationVar(&o.idleTTL, "idle-ttl", authcube.DefaultSessionIdleTTL, "sessions expire this long after their last request")
	fs.StringVar(&o.resetURL, "reset-url", "", `the link of password-reset mail, with "{token}" where the token goes; empty: the mail carries the bare token`)
	const originsUsage = "comma-separated origins browsers may call from (CORS), the only ones granted private-network access; empty: any origin, none granted private-network access"
	fs.StringVar(&o.origins, "allowed-origins", "", originsUsage)
	fs.StringVar(&o.origins, "allow-origin", "", "the same as --allowed-origins (its former name)")
	fs.StringVar(&o.baseURL, "base-url", "", "how clients reach this server (the scheme, host and port of the upload and download URLs it hands out); empty: http:// and the listen address")
	fs.DurationVar(&o.readHeaderTimeout, "read-header-timeout", defaultReadHeaderTimeout, "the time a client has to send a request's headers")
	fs.DurationVar(&o.readTimeout, "read-timeout", defaultReadTimeout, "the time a client has to send a request's body, plus one second for every --min-rate bytes received")
	fs.DurationVar(&o.writeTimeout, "write-timeout", defaultWriteTimeout, "the time a client has to take a response, plus one second for every --min-rate bytes sent")
	fs.DurationVar(&o.idleTimeout, "idle-timeout", defaultIdleTimeout, "how long a kept-alive connection may wait for its next request")
	fs.Int64Var(&o.minRate, "min-rate", defaultMinRate, "the slowest upload or download, in bytes per second, that may go on past --read-timeout or --write-timeout")
	fs.IntVar(&o.maxConns, "max-conns", defaultMaxConns, "the most connections served at once; more wait to be accepted, and the longest-idle kept-alive connection is closed for them")
	fs.StringVar(&o.firebaseProject, "firebase-project", "", "enable firebase_phone and firebase_email sessions for this Firebase project id")
	fs.StringVar(&o.firebaseKeys, "firebase-keys", firebase.GoogleKeysURL, "Firebase public keys: a file (x509 JSON or JWKS) or an http(s) URL")
	fs.StringVar(&o.trustedProxies, "trusted-proxies", "", "comma-separated addresses or CIDR prefixes of reverse proxies that append the client to --forwarded-header; empty: none, forwarded headers are ignored")
	fs.StringVar(&o.forwardedHeader, "forwarded-header", "X-Forwarded-For", "the one header the --trusted-proxies append the client to (or overwrite): X-Forwarded-For or Forwarded; the other is ignored")
	fs.StringVar(&o.s3Endpoint, "s3-endpoint", "", "keep file bytes in an S3-compatible bucket at this host[:port] (s3.amazonaws.com, 127.0.0.1:9000, ...) instead of DIR/blobs; keys from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	fs.StringVar(&o.s3Bucket, "s3-bucket", "", "the bucket of --s3-endpoint (created when missing)")
	fs.StringVar(&o.s3Region, "s3-region", "", "the region of --s3-bucket; empty: asked of the server")
	fs.StringVar(&o.s3Prefix, "s3-prefix", "", "the key prefix of the files inside --s3-bucket; empty: none")
	fs.BoolVar(&o.s3Insecure, "s3-insecure", false, "talk to --s3-endpoint over plain HTTP (a local server only)")
	fs.DurationVar(&o.presign, "s3-presign-downloads", 0, "answer file downloads with a redirect to a presigned GET of --s3-bucket valid this long (at most 1h); 0: the bytes pass through this server")
	fs.StringVar(&o.postgres, "postgres", os.Getenv(postgresEnv), "a PostgreSQL URL (postgres://user:pass@host:5432/db): keep users and sessions there, so that several servers on one database act as one service; --dir then holds only files and the mail outbox; default $"+postgresEnv)
	fs.StringVar(&o.postgresSchema, "postgres-schema", "authcube", "the PostgreSQL schema, created when missing (with --postgres)")
	fs.BoolVar(&o.public, "public", false, "allow a non-loopback --addr: anyone who can reach it and knows the auth key can create sessions")
	return fs, o
}

// runServe serves until ctx is done (SIGINT, SIGTERM), then shuts down and closes the engine.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, o := serveFlags(stderr)
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	s, err := startServer(ctx, *o, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "authcube serve: %v\n", err)
		return exitError
	}
	errc := make(chan error, 1)
	go func() { errc <- s.serve() }()
	select {
	case <-ctx.Done():
		fmt.Fprintln(stderr, "authcube: shutting down")
	case err = <-errc:
	}
	if serr := s.shutdown(); err == nil {
		err = serr
	}
	if err != nil {
		fmt.Fprintf(stderr, "authcube serve: %v\n", err)
		return exitError
	}
	return exitOK
}

// server is a started authcube serve: an engine, its REST handler and a listener.
type server struct {
	engine *authcube.Engine
	http   *http.Server
	ln     net.Listener
	url    string // the listen address as a URL, which local clients dial
}

// checkAddr refuses a non-loopback address unless public, and warns when public.
func checkAddr(o serveOptions, stderr io.Writer) error {
	host, _, err := net.SplitHostPort(o.addr)
	if err != nil {
		return fmt.Errorf("--addr %q: %w", o.addr, err)
	}
	ip := net.ParseIP(host)
	loopback := host == "localhost" || (ip != nil && ip.IsLoopback())
	switch {
	case loopback:
		return nil
	case !o.public:
		return fmt.Errorf("--addr %s is not a loopback address: anyone who can reach it and knows the auth key could create sessions and read users; pass --public to do this on purpose", o.addr)
	}
	fmt.Fprintf(stderr, "authcube: WARNING: serving on %s, beyond this machine: anyone who can reach it and knows the auth key can create sessions and read users\n", o.addr)
	return nil
}

// startServer opens the engine, builds the handler and listens; it prints the snippet to paste.
func startServer(ctx context.Context, o serveOptions, stdout, stderr io.Writer) (*server, error) {
	if o.authKey == "" {
		return nil, errors.New("--auth-key is required")
	}
	if err := checkAddr(o, stderr); err != nil {
		return nil, err
	}
	proxies, err := parseProxies(o.trustedProxies)
	if err != nil {
		return nil, err
	}
	if h := o.forwardedHeader; h != "" && !strings.EqualFold(h, "X-Forwarded-For") && !strings.EqualFold(h, "Forwarded") {
		return nil, fmt.Errorf("--forwarded-header: %q is not X-Forwarded-For or Forwarded", h)
	}
	o = o.withDefaults()
	if o.readHeaderTimeout < 0 || o.readTimeout < 0 || o.writeTimeout < 0 || o.idleTimeout < 0 || o.minRate < 0 || o.maxConns < 0 {
		return nil, errors.New("--read-header-timeout, --read-timeout, --write-timeout, --idle-timeout, --min-rate and --max-conns must not be negative")
	}
	if o.baseURL != "" {
		if err := checkBaseURL(o.baseURL); err != nil {
			return nil, err
		}
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	cfg := authcube.Config{Dir: o.dir, AppID: o.appID, SessionIdleTTL: o.idleTTL, ResetURL: o.resetURL, Logger: logger}
	if o.postgres != "" {
		st, err := openPostgres(ctx, o.postgres, o.postgresSchema, logger)
		if err != nil {
			return nil, err
		}
		cfg.Store = st
	}
	if o.firebaseProject != "" {
		v, err := firebaseVerifier(o)
		if err != nil {
			return nil, err
		}
		cfg.Providers = map[string]identity.TokenVerifier{"firebase_phone": v, "firebase_email": v}
	}
	if o.s3Endpoint != "" || o.s3Bucket != "" {
		if o.s3Endpoint == "" || o.s3Bucket == "" {
			return nil, errors.New("--s3-endpoint and --s3-bucket go together")
		}
		bs, err := s3.New(ctx, s3.Config{
			Endpoint: o.s3Endpoint, Bucket: o.s3Bucket, Region: o.s3Region, Prefix: o.s3Prefix, Insecure: o.s3Insecure,
			AccessKeyID: os.Getenv("AWS_ACCESS_KEY_ID"), SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY"), CreateBucket: true,
		})
		if err != nil {
			return nil, err
		}
		cfg.Blobs = bs
	} else if o.presign != 0 {
		return nil, errors.New("--s3-presign-downloads needs --s3-endpoint")
	}
	if o.presign < 0 || o.presign > time.Hour {
		return nil, errors.New("--s3-presign-downloads must be from 0 to 1h")
	}
	e, err := authcube.Open(ctx, cfg)
	if err != nil {
		if cfg.Blobs != nil {
			_ = cfg.Blobs.Close()
		}
		if cfg.Store != nil {
			cfg.Store.Close() // Open may have closed it already; a second Close is harmless
		}
	}
	if errors.Is(err, authcube.ErrLocked) {
		return nil, fmt.Errorf("%s is in use by another authcube", o.dir)
	}
	if err != nil {
		return nil, err
	}
	var origins []string
	if o.origins != "" {
		for _, s := range strings.Split(o.origins, ",") {
			if s = strings.TrimSpace(s); s != "" {
				origins = append(origins, s)
			}
		}
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		e.Close()
		return nil, err
	}
	local := "http://" + clientAddr(ln.Addr().(*net.TCPAddr))
	apiURL := local
	if o.baseURL != "" {
		apiURL = strings.TrimRight(o.baseURL, "/")
	}
	h, err := rest.New(e, rest.Config{AppID: o.appID, AuthKey: o.authKey, FullUserData: o.fullUserData, AllowedOrigins: origins, BaseURL: apiURL, Logger: logger,
		TrustedProxies: proxies, ForwardedHeader: o.forwardedHeader, PresignedDownloads: o.presign})
	if err != nil {
		ln.Close()
		e.Close()
		return nil, err
	}
	lim := limits{read: o.readTimeout, write: o.writeTimeout, minRate: o.minRate, now: time.Now}
	// Connections beyond the cap wait in the kernel's queue until one closes, or an idle one is
	// closed to make room (capListener).
	capped := newCapListener(ln, o.maxConns)
	s := &server{
		engine: e,
		ln:     capped,
		// ReadTimeout and WriteTimeout hold until the handler starts; from then lim sets the
		// deadlines of each request, extending them at the minimum rate.
		http: &http.Server{
			Handler:           lim.wrap(h),
			ReadHeaderTimeout: o.readHeaderTimeout,
			ReadTimeout:       o.readHeaderTimeout + o.readTimeout,
			WriteTimeout:      o.writeTimeout,
			IdleTimeout:       o.idleTimeout,
			ConnState:         capped.connState,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		},
		url: local,
	}
	printSnippet(stdout, o, apiURL)
	return s, nil
}

// withDefaults returns o with the default of every connection limit left at zero.
func (o serveOptions) withDefaults() serveOptions {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.readHeaderTimeout, defaultReadHeaderTimeout)
	def(&o.readTimeout, defaultReadTimeout)
	def(&o.writeTimeout, defaultWriteTimeout)
	def(&o.idleTimeout, defaultIdleTimeout)
	if o.minRate == 0 {
		o.minRate = defaultMinRate
	}
	if o.maxConns == 0 {
		o.maxConns = defaultMaxConns
	}
	return o
}

// checkBaseURL accepts an absolute http or https URL without query or fragment.
func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("--base-url %q: want an http or https URL such as https://auth.example.com, without query", s)
	}
	return nil
}

// clientAddr is the address a local client dials: an unspecified listen address is reached
// at 127.0.0.1.
func clientAddr(a *net.TCPAddr) string {
	ip := a.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(a.Port))
}

// printSnippet prints where the server is and the ConnectyCube.init call to paste.
func printSnippet(w io.Writer, o serveOptions, apiURL string) {
	key, _ := json.Marshal(o.authKey)
	u, _ := json.Marshal(apiURL)
	if o.postgres != "" {
		fmt.Fprintf(w, "authcube: serving the ConnectyCube API at %s (users and sessions in PostgreSQL schema %s, files and mail in %s)\n", apiURL, o.postgresSchema, o.dir)
	} else {
		fmt.Fprintf(w, "authcube: serving the ConnectyCube API at %s (data in %s)\n", apiURL, o.dir)
	}
	fmt.Fprintf(w, "Paste into your app:\n\n  ConnectyCube.init({ appId: %d, authKey: %s }, { endpoints: { api_url: %s }, debug: { mode: 0 } });\n\n", o.appID, key, u)
}

// firebaseVerifier builds the Firebase token verifier of --firebase-project and --firebase-keys.
func firebaseVerifier(o serveOptions) (identity.TokenVerifier, error) {
	fc := firebase.Config{ProjectID: o.firebaseProject}
	if strings.HasPrefix(o.firebaseKeys, "http://") || strings.HasPrefix(o.firebaseKeys, "https://") {
		fc.KeysURL = o.firebaseKeys
	} else {
		b, err := os.ReadFile(o.firebaseKeys)
		if err != nil {
			return nil, fmt.Errorf("--firebase-keys: %w", err)
		}
		fc.Keys = b
	}
	v, err := firebase.New(fc)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// serve serves until shutdown; it returns nil after a shutdown.
func (s *server) serve() error {
	if err := s.http.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// shutdown stops accepting, lets requests in flight finish (up to 10 seconds) and closes the
// engine.
func (s *server) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.http.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.http.Close()
	}
	return errors.Join(err, s.engine.Close())
}
