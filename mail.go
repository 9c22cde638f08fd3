package authcube

import (
	"context"
	"fmt"
	"log/slog"
)

// Mailer sends the engine's messages. Send must be safe for concurrent use. The engine calls it
// from a background queue, never on a caller's path, with the engine's own context.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// MessageKind says what a [Message] is for.
type MessageKind int

// The kinds of [Message].
const (
	MessagePasswordReset   MessageKind = iota + 1 // a reset link or token, to the stored address
	MessagePasswordChanged                        // a notice after a reset or change
	MessageEmailChanged                           // a notice to the old address after an email change
)

// String returns the kind's Go name.
func (k MessageKind) String() string {
	switch k {
	case MessagePasswordReset:
		return "MessagePasswordReset"
	case MessagePasswordChanged:
		return "MessagePasswordChanged"
	case MessageEmailChanged:
		return "MessageEmailChanged"
	}
	return fmt.Sprintf("MessageKind(%d)", int(k))
}

// Message is one mail the engine sends. Text is a complete plain-text body; Link and Token are
// there for mailers that render their own.
type Message struct {
	Kind     MessageKind
	UserID   int64
	From, To string
	Subject  string
	Text     string
	Link     string `json:"-"` // the rendered reset link ("" when Config.ResetURL is empty)
	Token    string `json:"-"` // the reset token, for mailers that render their own text
}

// String describes m without its link or token.
func (m Message) String() string {
	return fmt.Sprintf("Message{Kind: %v, UserID: %d, To: %q, Subject: %q}", m.Kind, m.UserID, m.To, m.Subject)
}

// GoString is String: the reset token never prints, not even with %#v.
func (m Message) GoString() string { return m.String() }

// LogValue logs m without its link or token.
func (m Message) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kind", m.Kind.String()), slog.Int64("user_id", m.UserID), slog.String("to", m.To))
}
