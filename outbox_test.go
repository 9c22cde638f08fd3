package authcube_test

import (
	"bytes"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
)

// The reset mail in the outbox reads as written: its link, copied from the raw .eml file,
// works, and its validity is in words.
func TestOutboxMailIsReadableAndItsLinkWorks(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		ttl   time.Duration
		words string
	}{{0, "within 1 hour:"}, {90 * time.Minute, "within 1 hour 30 minutes:"}, {30 * time.Minute, "within 30 minutes:"}} {
		env := authtest.New(t, authtest.WithConfig(func(cfg *authcube.Config) {
			cfg.Mailer = nil // the outbox
			cfg.ResetTTL = c.ttl
			// A long link: quoted-printable would break it at 76 characters.
			cfg.ResetURL = "https://app.example/account/password/reset/confirm?lang=en&utm_source=mail&token={token}"
		}), authtest.WithUsers(authcube.NewUser{Email: "ann@example.org", Password: "correct horse battery"}))
		e := env.Engine
		app, err := e.CreateSession(t.Context())
		require.NoError(t, err)
		require.NoError(t, e.ResetPassword(t.Context(), app.Token, "ann@example.org"))
		require.NoError(t, e.FlushMail(t.Context()))

		files, err := filepath.Glob(filepath.Join(env.Dir, "outbox", "*-passwordreset-*.eml"))
		require.NoError(t, err)
		require.Len(t, files, 1)
		raw, err := os.ReadFile(files[0])
		require.NoError(t, err)

		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		require.NoError(t, err)
		assert.Equal(t, "7bit", msg.Header.Get("Content-Transfer-Encoding"))
		body, err := io.ReadAll(msg.Body)
		require.NoError(t, err)
		assert.Contains(t, string(body), c.words)
		assert.NotContains(t, string(body), "m0s")

		// The link is one whole line of the raw file, exactly as written.
		link := regexp.MustCompile(`(?m)^https://app\.example/account/password/reset/confirm\?lang=en&utm_source=mail&token=([A-Za-z0-9_-]+)\r$`).FindSubmatch(raw)
		require.NotNil(t, link, "no verbatim link in\n%s", raw)
		require.NoError(t, e.ConfirmPasswordReset(t.Context(), string(link[1]), "a brand new passphrase"))
		_, err = e.SignIn(t.Context(), app.Token, authcube.Credentials{Email: "ann@example.org", Password: "a brand new passphrase"})
		require.NoError(t, err, "the token from the link reset the password")
		assert.False(t, strings.Contains(string(raw), "=3D"))
	}
}

func TestRFC5322BodyEncodings(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	render := func(text string) (*mail.Message, []byte) {
		t.Helper()
		raw, err := authcube.Message{From: "a@example.org", To: "b@example.org", Subject: "hi", Text: text}.RFC5322(at, "1@x")
		require.NoError(t, err)
		m, err := mail.ReadMessage(bytes.NewReader(raw))
		require.NoError(t, err)
		return m, raw
	}
	m, raw := render("plain ascii a=b\nnext line\n")
	assert.Equal(t, "7bit", m.Header.Get("Content-Transfer-Encoding"))
	assert.True(t, bytes.HasSuffix(raw, []byte("\r\n\r\nplain ascii a=b\r\nnext line\r\n")))
	m, raw = render("Grüße, Ann.\n")
	assert.Equal(t, "8bit", m.Header.Get("Content-Transfer-Encoding"))
	assert.True(t, bytes.HasSuffix(raw, []byte("\r\n\r\nGrüße, Ann.\r\n")))
	// Only a line beyond RFC 5322's 998 octets needs quoted-printable.
	m, _ = render(strings.Repeat("x", 999) + "\n")
	assert.Equal(t, "quoted-printable", m.Header.Get("Content-Transfer-Encoding"))
	_, err := authcube.Message{From: "a@example.org", To: "b@example.org", Text: "\xff"}.RFC5322(at, "1@x")
	assert.Error(t, err)
}
