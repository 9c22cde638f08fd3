package smtpmail_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/smtpmail"
)

var testNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func testMessage() authcube.Message {
	return authcube.Message{
		Kind:    authcube.MessagePasswordReset,
		UserID:  7,
		From:    "authcube@example.org",
		To:      "ann@example.com",
		Subject: "Reset your password",
		Text:    "Grüße, Ann.\n.this line starts with a dot\nbye\n",
		Token:   "the-token",
	}
}

// testConfig is a Config for s with the right credentials and a client trusting the test CA.
func testConfig(s *testServer, mode smtpmail.TLSMode) smtpmail.Config {
	return smtpmail.Config{
		Addr:      s.addr,
		Username:  testUser,
		Password:  testPassword,
		TLS:       mode,
		TLSConfig: clientTLS(),
		LocalName: "mail.test",
		Now:       func() time.Time { return testNow },
	}
}

func newMailer(t *testing.T, cfg smtpmail.Config) *smtpmail.Mailer {
	t.Helper()
	m, err := smtpmail.New(cfg)
	require.NoError(t, err)
	return m
}

var messageID = regexp.MustCompile(`(?m)^Message-ID: <([0-9a-f]{32}@mail\.test)>\r$`)

func TestSendStartTLSWithAuth(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOpts{startTLS: true})
	msg := testMessage()
	require.NoError(t, newMailer(t, testConfig(s, smtpmail.StartTLSRequired)).Send(t.Context(), msg))

	conns, auths, commands, messages := s.snapshot()
	assert.Equal(t, 1, conns)
	assert.Equal(t, 1, auths)
	assert.Equal(t, []string{"EHLO", "STARTTLS", "EHLO", "AUTH", "MAIL", "RCPT", "DATA", "QUIT"}, commands)
	require.Len(t, messages, 1)
	got := messages[0]
	assert.True(t, got.tls, "delivered over TLS")
	assert.Equal(t, "mail.test", got.helo)
	assert.Equal(t, msg.From, got.from)
	assert.Equal(t, []string{msg.To}, got.to)

	for _, h := range []string{
		"From: authcube@example.org\r\n",
		"To: ann@example.com\r\n",
		"Subject: Reset your password\r\n",
		"Date: Thu, 26 Nov 2026 12:00:00 +0000\r\n",
		"Content-Transfer-Encoding: 8bit\r\n",
		"Grüße, Ann.\r\n.this line starts with a dot\r\n", // dot-stuffed on the wire
	} {
		assert.Contains(t, got.data, h)
	}
	id := messageID.FindStringSubmatch(got.data)
	require.NotNil(t, id, "Message-ID in %q", got.data)
	want, err := msg.RFC5322(testNow, id[1])
	require.NoError(t, err)
	assert.Equal(t, strings.TrimSuffix(string(want), "\r\n"), strings.TrimSuffix(got.data, "\r\n"))
	assert.NotContains(t, got.data, "the-token")
}

func TestSendModes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		server  serverOpts
		mode    smtpmail.TLSMode
		wantTLS bool
	}{
		{"opportunistic with STARTTLS", serverOpts{startTLS: true}, smtpmail.StartTLSOpportunistic, true},
		{"opportunistic without STARTTLS on loopback", serverOpts{}, smtpmail.StartTLSOpportunistic, false},
		{"implicit TLS", serverOpts{implicitTLS: true}, smtpmail.ImplicitTLS, true},
		{"insecure ignores STARTTLS", serverOpts{startTLS: true}, smtpmail.Insecure, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, tc.server)
			cfg := testConfig(s, tc.mode)
			if tc.mode == smtpmail.Insecure {
				cfg.TLSConfig = nil
			}
			require.NoError(t, newMailer(t, cfg).Send(t.Context(), testMessage()))
			_, auths, _, messages := s.snapshot()
			assert.Equal(t, 1, auths)
			require.Len(t, messages, 1)
			assert.Equal(t, tc.wantTLS, messages[0].tls)
			assert.Equal(t, []string{"ann@example.com"}, messages[0].to)
		})
	}
}

func TestSendWrongPassword(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOpts{startTLS: true})
	cfg := testConfig(s, smtpmail.StartTLSRequired)
	cfg.Password = "not-the-password-42"
	err := newMailer(t, cfg).Send(t.Context(), testMessage())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "smtpmail: send: auth: ")
	assert.Contains(t, err.Error(), "535") // the server's answer, with its echo of the secret scrubbed
	t.Log(err)
	assertNoSecret(t, err.Error(), cfg)
	_, auths, commands, messages := s.snapshot()
	assert.Equal(t, 1, auths)
	assert.NotContains(t, commands, "MAIL")
	assert.Empty(t, messages)
}

func TestSendStartTLSRequiredWithoutStartTLS(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOpts{})
	err := newMailer(t, testConfig(s, smtpmail.StartTLSRequired)).Send(t.Context(), testMessage())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "smtpmail: send: starttls: server does not offer STARTTLS")
	_, auths, commands, messages := s.snapshot()
	assert.Zero(t, auths, "no AUTH in plain text")
	assert.Equal(t, []string{"EHLO"}, commands)
	assert.Empty(t, messages)
}

func TestSendWithout8BitMIME(t *testing.T) {
	t.Parallel()
	// Mail is sent as written (7bit or 8bit, never quoted-printable for short lines), so links
	// survive; a non-ASCII text needs the server's 8BITMIME, an ASCII one does not.
	s := newServer(t, serverOpts{startTLS: true, no8BitMIME: true})
	m := newMailer(t, testConfig(s, smtpmail.StartTLSRequired))
	err := m.Send(t.Context(), testMessage())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "smtpmail: send: mail from: server does not offer 8BITMIME")
	msg := testMessage()
	msg.Text = "Open https://app.example/reset?token=abc-DEF_123 within 1 hour.\n"
	require.NoError(t, m.Send(t.Context(), msg))
	_, _, _, messages := s.snapshot()
	require.Len(t, messages, 1)
	assert.Contains(t, messages[0].data, "Content-Transfer-Encoding: 7bit\r\n")
	assert.Contains(t, messages[0].data, "\r\nOpen https://app.example/reset?token=abc-DEF_123 within 1 hour.\r\n")
}

func TestSendRefusesBadMessagesBeforeDialing(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOpts{startTLS: true})
	m := newMailer(t, testConfig(s, smtpmail.StartTLSRequired))
	for _, tc := range []struct {
		name string
		edit func(*authcube.Message)
	}{
		{"CRLF in To", func(m *authcube.Message) { m.To = "ann@example.com\r\nBcc: eve@evil.example" }},
		{"LF in To", func(m *authcube.Message) { m.To = "ann@example.com\nBcc: eve@evil.example" }},
		{"list in To", func(m *authcube.Message) { m.To = "ann@example.com, eve@evil.example" }},
		{"display name in To", func(m *authcube.Message) { m.To = "Ann <ann@example.com>" }},
		{"empty To", func(m *authcube.Message) { m.To = "" }},
		{"CRLF in From", func(m *authcube.Message) { m.From = "a@example.org\r\nRCPT TO:<eve@evil.example>" }},
		{"CRLF in Subject", func(m *authcube.Message) { m.Subject = "hi\r\nBcc: eve@evil.example" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := testMessage()
			tc.edit(&msg)
			err := m.Send(t.Context(), msg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "smtpmail: send: render: ")
		})
	}
	conns, _, _, _ := s.snapshot()
	assert.Zero(t, conns, "no connection for a refused message")
}

// A server that never answers: Send ends with ctx, whatever Config.Timeout says.
func TestSendContext(t *testing.T) {
	t.Parallel()
	t.Run("cancelled while waiting for the greeting", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		s := newServer(t, serverOpts{block: true, onAccept: cancel})
		cfg := testConfig(s, smtpmail.StartTLSRequired)
		cfg.Timeout = time.Hour // so only ctx can end it
		err := newMailer(t, cfg).Send(ctx, testMessage())
		require.ErrorIs(t, err, context.Canceled)
		assertNoSecret(t, err.Error(), cfg)
	})
	t.Run("ctx deadline", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, serverOpts{block: true})
		cfg := testConfig(s, smtpmail.StartTLSRequired)
		cfg.Timeout = time.Hour
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		err := newMailer(t, cfg).Send(ctx, testMessage())
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Regexp(t, `^smtpmail: send: (dial|greeting): `, err.Error())
	})
	t.Run("Config.Timeout", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, serverOpts{block: true, implicitTLS: true})
		cfg := testConfig(s, smtpmail.ImplicitTLS)
		cfg.Timeout = 50 * time.Millisecond
		err := newMailer(t, cfg).Send(t.Context(), testMessage())
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Regexp(t, `^smtpmail: send: (dial|tls handshake): `, err.Error())
	})
	t.Run("cancelled before Send", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, serverOpts{startTLS: true})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := newMailer(t, testConfig(s, smtpmail.StartTLSRequired)).Send(ctx, testMessage())
		require.ErrorIs(t, err, context.Canceled)
		_, _, _, messages := s.snapshot()
		assert.Empty(t, messages)
	})
}

func TestSendConcurrent(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOpts{startTLS: true})
	m := newMailer(t, testConfig(s, smtpmail.StartTLSRequired))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { assert.NoError(t, m.Send(t.Context(), testMessage())) })
	}
	wg.Wait()
	_, _, _, messages := s.snapshot()
	ids := map[string]bool{}
	for _, msg := range messages {
		ids[messageID.FindString(msg.data)] = true
	}
	assert.Len(t, ids, 8, "8 messages with distinct Message-IDs")
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	ok := smtpmail.Config{Addr: "smtp.example.org:587", Username: "u", Password: testPassword}
	for _, tc := range []struct {
		name string
		edit func(*smtpmail.Config)
		want string // "" means valid
	}{
		{"valid", func(*smtpmail.Config) {}, ""},
		{"valid without auth", func(c *smtpmail.Config) { c.Username, c.Password = "", "" }, ""},
		{"insecure auth on localhost", func(c *smtpmail.Config) { c.Addr, c.TLS = "localhost:25", smtpmail.Insecure }, ""},
		{"insecure auth on ::1", func(c *smtpmail.Config) { c.Addr, c.TLS = "[::1]:25", smtpmail.Insecure }, ""},
		{"no addr", func(c *smtpmail.Config) { c.Addr = "" }, "addr"},
		{"no port", func(c *smtpmail.Config) { c.Addr = "smtp.example.org" }, "addr"},
		{"no host", func(c *smtpmail.Config) { c.Addr = ":587" }, "addr: missing host"},
		{"port 0", func(c *smtpmail.Config) { c.Addr = "smtp.example.org:0" }, "addr: port"},
		{"port too big", func(c *smtpmail.Config) { c.Addr = "smtp.example.org:65536" }, "addr: port"},
		{"named port", func(c *smtpmail.Config) { c.Addr = "smtp.example.org:smtp" }, "addr: port"},
		{"unknown mode", func(c *smtpmail.Config) { c.TLS = 9 }, "tls: unknown mode TLSMode(9)"},
		{"negative timeout", func(c *smtpmail.Config) { c.Timeout = -time.Second }, "timeout"},
		{"local name with space", func(c *smtpmail.Config) { c.LocalName = "a b" }, "local name"},
		{"local name with CRLF", func(c *smtpmail.Config) { c.LocalName = "a\r\nMAIL" }, "local name"},
		{"password without username", func(c *smtpmail.Config) { c.Username = "" }, "password"},
		{"NUL in username", func(c *smtpmail.Config) { c.Username = "u\x00x" }, "credentials"},
		{"insecure auth off loopback", func(c *smtpmail.Config) { c.TLS = smtpmail.Insecure }, "username"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			_, err := smtpmail.New(cfg)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), "smtpmail: new: "+tc.want)
			assertNoSecret(t, err.Error(), cfg)
		})
	}
}

func TestPasswordNeverPrints(t *testing.T) {
	t.Parallel()
	cfg := smtpmail.Config{Addr: "smtp.example.org:465", Username: "mailer", Password: testPassword, TLS: smtpmail.ImplicitTLS}
	m := newMailer(t, cfg)
	for _, v := range []any{cfg, &cfg, m, *m} {
		s := fmt.Sprintf("%v/%+v/%#v/%s", v, v, v, v)
		assertNoSecret(t, s, cfg)
		assert.Contains(t, s, "[redacted]")
		assert.Contains(t, s, "ImplicitTLS")
		var logged bytes.Buffer
		slog.New(slog.NewJSONHandler(&logged, nil)).Info("mailer", "cfg", v)
		assertNoSecret(t, logged.String(), cfg)
		assert.Contains(t, logged.String(), `"addr":"smtp.example.org:465"`)
	}
	assert.Equal(t, `smtpmail.Mailer{Addr: "smtp.example.org:465", Username: "mailer", Password: [redacted], TLS: ImplicitTLS, TLSConfig: nil, Timeout: 30s, LocalName: "localhost"}`, m.String())
}

// assertNoSecret checks that s carries cfg's password in no form.
func assertNoSecret(t *testing.T, s string, cfg smtpmail.Config) {
	t.Helper()
	if cfg.Password == "" {
		return
	}
	assert.NotContains(t, s, cfg.Password)
	assert.NotContains(t, s, base64.StdEncoding.EncodeToString([]byte("\x00"+cfg.Username+"\x00"+cfg.Password)))
}
