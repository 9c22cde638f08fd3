package authcube_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
)

// syncBuffer is a log destination safe for the engine's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// failingMailer keeps every message it is given and fails to send it.
type failingMailer struct {
	mu   sync.Mutex
	msgs []authcube.Message
}

func (m *failingMailer) Send(_ context.Context, msg authcube.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, msg)
	return errors.New("smtp: 451 try again later")
}

func (m *failingMailer) resetTokens() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var toks []string
	for _, msg := range m.msgs {
		if msg.Token != "" {
			toks = append(toks, msg.Token)
		}
	}
	return toks
}

// tokenForms returns the ways a token could reach a file: its text and its raw bytes, raw and
// in hex.
func tokenForms(t *testing.T, tok string) [][]byte {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	require.NoError(t, err)
	return [][]byte{[]byte(tok), raw, []byte(hex.EncodeToString(raw))}
}

// dbFiles reads the database and its WAL as they are now.
func dbFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	for _, name := range []string{"authcube.db", "authcube.db-wal"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		require.NoError(t, err)
		files[name] = data
	}
	return files
}

// S13: reset and session tokens reach neither the database, nor its WAL while the engine runs,
// nor the logs, also when the Mailer fails; only their SHA-256 is stored. The scan proves it
// reads the right bytes: each token's hash is found.
func TestTokensNeverReachTheDiskOrTheLogs(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	mailer := &failingMailer{}
	te := newTestEngine(t, func(c *authcube.Config) {
		c.Mailer = mailer
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.SessionCacheSize = 1 // sessions come and go through the store
	})
	app := te.appSession(t)
	_, err := te.SignUp(ctx, app.Token, authcube.NewUser{Login: "marvin18", Email: "marvin@example.org", Password: testPassword})
	require.NoError(t, err)
	user, err := te.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: testPassword})
	require.NoError(t, err)
	for range 2 { // the second voids the first: both tokens were stored once
		require.NoError(t, te.ResetPassword(ctx, app.Token, "marvin@example.org"))
		require.NoError(t, te.FlushMail(ctx))
	}
	resets := mailer.resetTokens()
	require.Len(t, resets, 2, "the mailer was asked to send both")
	assert.Contains(t, string(logs.Bytes()), "sending mail", "the failures are logged")

	tokens := append([]string{app.Token, user.Token}, resets...)
	check := func(when string, files map[string][]byte, stored []string) {
		t.Helper()
		var all []byte
		for name, data := range files {
			all = append(all, data...)
			for _, tok := range tokens {
				for _, form := range tokenForms(t, tok) {
					assert.False(t, bytes.Contains(data, form), "%s: a token in %s", when, name)
				}
			}
		}
		for _, tok := range stored {
			raw, _ := base64.RawURLEncoding.DecodeString(tok)
			h := sha256.Sum256(raw)
			assert.True(t, bytes.Contains(all, h[:]), "%s: the hash of a token is stored, so the scan reads the rows", when)
		}
	}
	check("running", dbFiles(t, te.cfg.Dir), tokens)
	for _, tok := range tokens {
		for _, form := range tokenForms(t, tok) {
			assert.False(t, bytes.Contains(logs.Bytes(), form), "a token in the logs")
		}
	}
	require.NoError(t, te.Close())
	// The voided reset token's row may be gone for good after the checkpoint.
	check("closed", dbFiles(t, te.cfg.Dir), []string{app.Token, user.Token, resets[1]})
	for _, tok := range tokens {
		for _, form := range tokenForms(t, tok) {
			assert.False(t, bytes.Contains(logs.Bytes(), form), "a token in the logs")
		}
	}
}
