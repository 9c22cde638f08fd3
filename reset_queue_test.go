package authcube_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/store"
	"github.com/authcube/authcube/store/storetest"
)

// blockingMailer holds every Send until release is closed, then keeps the message.
type blockingMailer struct {
	authtest.Mailbox
	entered chan struct{}
	release chan struct{}
}

func (m *blockingMailer) Send(ctx context.Context, msg authcube.Message) error {
	m.entered <- struct{}{}
	<-m.release
	return m.Mailbox.Send(ctx, msg)
}

// S18: ResetPassword answers before the look-up and the mail happen: a look-up or a Mailer that
// blocks does not hold up the caller, for a known address or an unknown one.
func TestResetPasswordReturnsBeforeTheLookUpAndTheMail(t *testing.T) {
	t.Parallel()
	const deadline = 10 * time.Second // a failure deadline, not a wait for anything to happen
	mailer := &blockingMailer{entered: make(chan struct{}, 16), release: make(chan struct{})}
	lookups := make(chan struct{}, 16)
	releaseLookups := make(chan struct{})
	var blockLookups atomic.Bool
	te := newTestEngine(t, func(c *authcube.Config) { c.Mailer = mailer })
	authcube.WrapStore(te.Engine, func(s store.Store) store.Store {
		return &storetest.Hooked{Inner: s, Before: func(m string) error {
			if m == "UserByEmail" && blockLookups.Load() {
				lookups <- struct{}{}
				<-releaseLookups
			}
			return nil
		}}
	})
	app := te.appSession(t)
	_, err := te.SignUp(ctx, app.Token, authcube.NewUser{Login: "marvin18", Email: "marvin@example.org", Password: testPassword})
	require.NoError(t, err)
	var once1, once2 sync.Once
	unblock := func() {
		once1.Do(func() { close(releaseLookups) })
		once2.Do(func() { close(mailer.release) })
	}
	t.Cleanup(unblock) // so that Close can drain the queue whatever happened

	reset := func(email string) {
		t.Helper()
		done := make(chan error, 1)
		go func() { done <- te.ResetPassword(ctx, app.Token, email) }()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(deadline):
			unblock()
			t.Fatalf("ResetPassword(%s) waited for the look-up or the mail", email)
		}
	}
	await := func(c chan struct{}, what string) {
		t.Helper()
		select {
		case <-c:
		case <-time.After(deadline):
			unblock()
			t.Fatalf("the background %s never started", what)
		}
	}

	// The look-up blocks: both answers come at once anyway.
	blockLookups.Store(true)
	reset("marvin@example.org")
	await(lookups, "look-up")
	reset("nobody@example.org")
	once1.Do(func() { close(releaseLookups) })
	blockLookups.Store(false)

	// The Mailer blocks on the first message: a further request still answers at once.
	await(mailer.entered, "mail")
	reset("marvin@example.org")
	once2.Do(func() { close(mailer.release) })
	require.NoError(t, te.FlushMail(ctx))
	var sent int
	for _, m := range mailer.Mailbox.Messages() {
		if m.Kind == authcube.MessagePasswordReset {
			sent++
		}
	}
	assert.Equal(t, 2, sent, "both requests for the known address were mailed in the end")
}
