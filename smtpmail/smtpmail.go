// Package smtpmail is an [authcube.Mailer] that delivers each message to one SMTP server
// (a submission port or a relay), over STARTTLS or implicit TLS by default.
//
// It is an adapter: it imports the root package and is wired in through
// authcube.Config.Mailer.
package smtpmail

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/smtp"
	"strconv"
	"strings"
	"time"

	"github.com/authcube/authcube"
)

// TLSMode says how a [Mailer] protects the connection. The zero value is [StartTLSRequired].
type TLSMode int

// The TLS modes.
const (
	// StartTLSRequired upgrades with STARTTLS and fails, sending nothing, if the server does
	// not offer it. The default.
	StartTLSRequired TLSMode = iota
	// StartTLSOpportunistic upgrades with STARTTLS when the server offers it and otherwise
	// goes on in plain text; AUTH is then refused unless the server is on a loopback address.
	StartTLSOpportunistic
	// ImplicitTLS speaks TLS from the first byte (the "smtps" port 465 style).
	ImplicitTLS
	// Insecure never uses TLS: for tests and loopback relays only. AUTH is refused unless the
	// server is on a loopback address.
	Insecure
)

// String returns the mode's Go name.
func (m TLSMode) String() string {
	switch m {
	case StartTLSRequired:
		return "StartTLSRequired"
	case StartTLSOpportunistic:
		return "StartTLSOpportunistic"
	case ImplicitTLS:
		return "ImplicitTLS"
	case Insecure:
		return "Insecure"
	}
	return "TLSMode(" + strconv.Itoa(int(m)) + ")"
}

// Defaults of [Config].
const (
	DefaultTimeout   = 30 * time.Second // Config.Timeout
	DefaultLocalName = "localhost"      // Config.LocalName, for EHLO
	// DefaultIDDomain is the right-hand side of Message-IDs when Config.LocalName is empty.
	DefaultIDDomain = "authcube"
)

// Config configures a [Mailer]. Its String, GoString and LogValue never show the password.
type Config struct {
	// Addr is the host:port of the SMTP server ("smtp.example.org:587"); required.
	Addr string
	// Username and Password are the AUTH PLAIN credentials; an empty Username means no
	// authentication. Credentials are never sent in plain text to a non-loopback address.
	Username string
	Password string `json:"-"`
	// TLS is how the connection is protected; the zero value is StartTLSRequired.
	TLS TLSMode
	// TLSConfig is the client TLS configuration, cloned; nil means ServerName from Addr's host
	// and MinVersion TLS 1.2. An empty ServerName is filled from Addr's host, a zero MinVersion
	// with TLS 1.2.
	TLSConfig *tls.Config
	// Timeout bounds the dial and the whole conversation of one Send, on top of ctx; 0 means
	// DefaultTimeout (30s).
	Timeout time.Duration
	// LocalName is the EHLO name and the Message-ID domain; "" means EHLO "localhost" and
	// Message-IDs at DefaultIDDomain.
	LocalName string
	// Now gives the Date header; nil means time.Now. Deadlines always use the real clock.
	Now func() time.Time
}

// String describes c with the password redacted.
func (c Config) String() string {
	return fmt.Sprintf("smtpmail.Config{Addr: %q, Username: %q, Password: %s, TLS: %v, TLSConfig: %s, Timeout: %v, LocalName: %q}",
		c.Addr, c.Username, redacted(c.Password), c.TLS, setOrNil(c.TLSConfig != nil), c.Timeout, c.LocalName)
}

// GoString is String: the password never prints, not even with %#v.
func (c Config) GoString() string { return c.String() }

// LogValue logs c without the password.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("addr", c.Addr), slog.String("username", c.Username),
		slog.String("tls", c.TLS.String()), slog.Duration("timeout", c.Timeout))
}

func redacted(s string) string {
	if s == "" {
		return `""`
	}
	return "[redacted]"
}

func setOrNil(set bool) string {
	if set {
		return "set"
	}
	return "nil"
}

// Mailer sends each [authcube.Message] over its own SMTP connection. It holds no connection
// between calls and is safe for concurrent use. Build one with [New].
type Mailer struct {
	cfg      Config // defaults filled
	host     string // Addr's host
	tls      *tls.Config
	idDomain string
}

var _ authcube.Mailer = (*Mailer)(nil)

// New checks cfg and returns a Mailer. It returns an error if Addr is not host:port with a
// port from 1 to 65535, TLS is not one of the modes, Timeout is negative, LocalName is not one
// word, the credentials hold a NUL or a password comes without a username, or authentication is
// asked for in Insecure mode to a host that is not loopback. New does not connect.
func New(cfg Config) (*Mailer, error) {
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("smtpmail: new: addr: %w", err)
	}
	if host == "" {
		return nil, errors.New("smtpmail: new: addr: missing host")
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return nil, errors.New("smtpmail: new: addr: port must be a number from 1 to 65535")
	}
	if cfg.TLS < StartTLSRequired || cfg.TLS > Insecure {
		return nil, fmt.Errorf("smtpmail: new: tls: unknown mode %v", cfg.TLS)
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("smtpmail: new: timeout: must not be negative")
	}
	if strings.ContainsFunc(cfg.LocalName, func(r rune) bool {
		return r <= ' ' || r == 0x7f || strings.ContainsRune("<>@", r)
	}) {
		return nil, errors.New("smtpmail: new: local name: must be one domain or address literal")
	}
	if strings.ContainsRune(cfg.Username+cfg.Password, 0) {
		return nil, errors.New("smtpmail: new: credentials: must not contain NUL")
	}
	if cfg.Username == "" && cfg.Password != "" {
		return nil, errors.New("smtpmail: new: password: given without a username")
	}
	if cfg.Username != "" && cfg.TLS == Insecure && !loopbackName(host) {
		return nil, errors.New("smtpmail: new: username: authentication in Insecure mode needs a loopback host")
	}
	m := &Mailer{host: host, idDomain: cfg.LocalName}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.LocalName == "" {
		cfg.LocalName, m.idDomain = DefaultLocalName, DefaultIDDomain
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m.tls = &tls.Config{}
	if cfg.TLSConfig != nil {
		m.tls = cfg.TLSConfig.Clone()
	}
	if m.tls.ServerName == "" {
		m.tls.ServerName = host
	}
	if m.tls.MinVersion == 0 {
		m.tls.MinVersion = tls.VersionTLS12
	}
	m.cfg = cfg
	return m, nil
}

// String describes m with the password redacted.
func (m Mailer) String() string {
	return "smtpmail.Mailer" + strings.TrimPrefix(m.cfg.String(), "smtpmail.Config")
}

// GoString is String.
func (m Mailer) GoString() string { return m.String() }

// LogValue logs m's configuration without the password.
func (m Mailer) LogValue() slog.Value { return m.cfg.LogValue() }

// Send renders msg (see [authcube.Message.RFC5322]: From and To must each be one bare address,
// anything else is refused before any connection is made) and delivers it to msg.To: EHLO,
// STARTTLS as the TLS mode says, AUTH PLAIN when a Username is set, MAIL, RCPT, DATA, QUIT.
// ctx and Config.Timeout bound the dial and the whole conversation. Errors name the step that
// failed ("smtpmail: send: starttls: ...") and wrap ctx's error when ctx ended; they never carry
// the password or the message body. Once the server has accepted the data, Send returns nil even
// if QUIT fails, so that a retry does not deliver twice.
func (m *Mailer) Send(ctx context.Context, msg authcube.Message) error {
	var rnd [16]byte
	rand.Read(rnd[:]) // never fails (crypto/rand)
	data, err := msg.RFC5322(m.cfg.Now(), hex.EncodeToString(rnd[:])+"@"+m.idDomain)
	if err != nil {
		return fmt.Errorf("smtpmail: send: render: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	step, err := m.deliver(ctx, msg.From, msg.To, data)
	if err == nil {
		return nil
	}
	err = m.scrub(err)
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("smtpmail: send: %s: %w: %w", step, ctxErr, err)
	}
	return fmt.Errorf("smtpmail: send: %s: %w", step, err)
}

// deliver speaks one SMTP conversation and returns the step that failed.
func (m *Mailer) deliver(ctx context.Context, from, to string, data []byte) (step string, err error) {
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", m.cfg.Addr)
	if err != nil {
		return "dial", err
	}
	defer raw.Close()
	// When ctx ends (cancelled, or its deadline, which Send bounds by Timeout, passes), a past
	// deadline unblocks whatever read or write is in flight. Relying on ctx alone, rather than
	// also on a conn deadline, means a timeout always surfaces as ctx's error.
	stop := context.AfterFunc(ctx, func() { raw.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	conn := raw
	if m.cfg.TLS == ImplicitTLS {
		tc := tls.Client(raw, m.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return "tls handshake", err
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, m.host)
	if err != nil {
		return "greeting", err
	}
	defer c.Close()
	if err := c.Hello(m.cfg.LocalName); err != nil {
		return "ehlo", err
	}
	switch offered, _ := c.Extension("STARTTLS"); {
	case m.cfg.TLS == StartTLSRequired && !offered:
		return "starttls", errors.New("server does not offer STARTTLS")
	case (m.cfg.TLS == StartTLSRequired || m.cfg.TLS == StartTLSOpportunistic) && offered:
		if err := c.StartTLS(m.tls); err != nil {
			return "starttls", err
		}
	}
	if m.cfg.Username != "" {
		_, isTLS := c.TLSConnectionState()
		if !isTLS && !loopbackAddr(raw.RemoteAddr()) {
			return "auth", errors.New("refusing plain-text authentication to a non-loopback host")
		}
		if ok, mechs := c.Extension("AUTH"); !ok || !hasWord(mechs, "PLAIN") {
			return "auth", errors.New("server does not offer AUTH PLAIN")
		}
		if err := c.Auth(plainAuth{m.cfg.Username, m.cfg.Password}); err != nil {
			return "auth", err
		}
	}
	// A body with UTF-8 text goes as 8bit, which needs 8BITMIME; net/smtp then declares
	// BODY=8BITMIME. The engine's own mail is ASCII (7bit) and needs nothing.
	if ok, _ := c.Extension("8BITMIME"); !ok && !isASCII(data) {
		return "mail from", errors.New("server does not offer 8BITMIME, needed for a message with non-ASCII text")
	}
	if err := c.Mail(from); err != nil {
		return "mail from", err
	}
	if err := c.Rcpt(to); err != nil {
		return "rcpt to", err
	}
	w, err := c.Data()
	if err != nil {
		return "data", err
	}
	if _, err := w.Write(data); err != nil {
		return "data", err
	}
	if err := w.Close(); err != nil {
		return "data", err
	}
	c.Quit() // the message is accepted: a failed QUIT is no failure to deliver
	return "", nil
}

// scrub replaces err with a plain error if its text carries the password in any form a server
// could echo back.
func (m *Mailer) scrub(err error) error {
	if m.cfg.Password == "" {
		return err
	}
	s := err.Error()
	blob := "\x00" + m.cfg.Username + "\x00" + m.cfg.Password
	secrets := []string{m.cfg.Password, base64.StdEncoding.EncodeToString([]byte(blob)),
		base64.StdEncoding.EncodeToString([]byte(m.cfg.Password))}
	found := false
	for _, secret := range secrets {
		if strings.Contains(s, secret) {
			s, found = strings.ReplaceAll(s, secret, "[redacted]"), true
		}
	}
	if !found {
		return err
	}
	return errors.New(s)
}

// plainAuth is AUTH PLAIN (RFC 4616). Unlike smtp.PlainAuth it does not judge loopback by the
// host name: deliver checks the connected address before calling it.
type plainAuth struct{ username, password string }

func (a plainAuth) Start(*smtp.ServerInfo) (string, []byte, error) {
	return "PLAIN", []byte("\x00" + a.username + "\x00" + a.password), nil
}

func (a plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected server challenge")
	}
	return nil, nil
}

func hasWord(list, word string) bool {
	for _, f := range strings.Fields(list) {
		if strings.EqualFold(f, word) {
			return true
		}
	}
	return false
}

// loopbackName reports whether host names the loopback interface.
func loopbackName(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackAddr reports whether a is a loopback TCP address.
func loopbackAddr(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// isASCII reports whether b holds only 7-bit bytes.
func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}
