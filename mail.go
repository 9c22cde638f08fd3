package authcube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
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
	MessageVerifyEmail                            // a verification link or token, to a new address
	MessageSignInCode                             // a sign-in code and link (RequestSignInCode)
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
	case MessageVerifyEmail:
		return "MessageVerifyEmail"
	case MessageSignInCode:
		return "MessageSignInCode"
	}
	return fmt.Sprintf("MessageKind(%d)", int(k))
}

// Message is one mail the engine sends. Text is a complete plain-text body; Link and Token are
// there for mailers that render their own. Text, Link and Token hold the reset token: they never
// print, log or marshal to JSON (S37).
type Message struct {
	Kind     MessageKind
	UserID   int64
	From, To string
	Subject  string
	Text     string `json:"-"`
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

// checkAddress accepts exactly one bare address (S20): no display name, no list, no CR or LF.
func checkAddress(a string) error {
	if strings.ContainsAny(a, "\r\n,;<>") {
		return errors.New("must be one bare address")
	}
	p, err := mail.ParseAddress(a)
	if err != nil || p.Name != "" || p.Address != a {
		return errors.New("must be one bare address")
	}
	return nil
}

// RFC5322 renders m as an Internet message (RFC 5322, MIME text/plain in UTF-8) dated date with
// the Message-ID id (without angle brackets). The body is m.Text with CRLF line ends, written as
// is so that links and tokens read exactly as written: Content-Transfer-Encoding 7bit when it
// is ASCII, 8bit when it holds other UTF-8; only a body with a line longer than RFC 5322's 998
// octets is quoted-printable. Every message the engine writes itself is 7bit when
// Config.ResetURL is ASCII. From and To must each be one bare address and the subject one line:
// anything else is refused (S20), so no header can be injected.
func (m Message) RFC5322(date time.Time, id string) ([]byte, error) {
	if err := checkAddress(m.From); err != nil {
		return nil, fmt.Errorf("authcube: message from: %w", err)
	}
	if err := checkAddress(m.To); err != nil {
		return nil, fmt.Errorf("authcube: message to: %w", err)
	}
	if strings.ContainsAny(m.Subject+id, "\r\n") || strings.ContainsAny(id, "<> ") {
		return nil, errors.New("authcube: message subject or id: must be one line")
	}
	text := strings.ReplaceAll(strings.ReplaceAll(m.Text, "\r\n", "\n"), "\r", "\n")
	if !utf8.ValidString(text) {
		return nil, errors.New("authcube: message text: must be UTF-8")
	}
	text = strings.ReplaceAll(text, "\n", "\r\n")
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\n", m.From)
	fmt.Fprintf(&b, "To: %s\r\n", m.To)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", m.Subject))
	fmt.Fprintf(&b, "Date: %s\r\n", date.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s>\r\n", id)
	b.WriteString("MIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	cte := bodyEncoding(text)
	fmt.Fprintf(&b, "Content-Transfer-Encoding: %s\r\n\r\n", cte)
	if cte != "quoted-printable" {
		b.WriteString(text)
		return b.Bytes(), nil
	}
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(text)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// maxLineOctets is RFC 5322's limit on a line, without its CRLF.
const maxLineOctets = 998

// bodyEncoding is the Content-Transfer-Encoding of a CRLF text: "7bit" for ASCII, "8bit" for
// other UTF-8, "quoted-printable" when a line is longer than maxLineOctets.
func bodyEncoding(text string) string {
	enc := "7bit"
	for line := range strings.SplitSeq(text, "\r\n") {
		if len(line) > maxLineOctets {
			return "quoted-printable"
		}
		for i := 0; i < len(line); i++ {
			if line[i] >= utf8.RuneSelf {
				enc = "8bit"
				break
			}
		}
	}
	return enc
}

const (
	// DefaultMailFrom is the From address of every message unless Config.MailFrom says otherwise.
	DefaultMailFrom = "authcube@localhost"

	mailQueueSize = 1024             // jobs waiting for the mail worker before queueMail waits
	sendTimeout   = 30 * time.Second // the time budget of one job
)

// mailJob is one piece of background mail work: a reset request to look up (email set), or a
// message to send.
type mailJob struct {
	emailCanon string
	signInCode string // the canonical address a sign-in code was asked for
	msg        Message
	barrier    chan struct{} // closed when the worker reaches it (FlushMail)
}

// FlushMail waits until the mail queued before the call has been handled: reset requests
// looked up and their mail sent, notices sent. Mail is queued off the caller's path (S18), so
// tests and tools call FlushMail before looking at what was sent. It returns ctx's error if ctx
// ends first, and ErrClosed after Close (which flushes the queue itself).
func (e *Engine) FlushMail(ctx context.Context) error {
	const op = "flush mail"
	if err := e.begin(op); err != nil {
		return err
	}
	defer e.done()
	done := make(chan struct{})
	if err := e.queueMail(ctx, mailJob{barrier: done}); err != nil {
		return internal(op, err)
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return internal(op, ctx.Err())
	}
}

// queueMail hands a job to the background mail worker, waiting while the queue is full.
func (e *Engine) queueMail(ctx context.Context, job mailJob) error {
	select {
	case e.mail <- job:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// notify queues a notice (password changed, email changed) to address; "" sends nothing.
func (e *Engine) notify(ctx context.Context, kind MessageKind, userID int64, address string) {
	if address == "" {
		return
	}
	m := Message{Kind: kind, UserID: userID, From: e.cfg.MailFrom, To: address}
	switch kind {
	case MessagePasswordChanged:
		m.Subject = "Your password was changed"
		m.Text = "The password of your account was just changed.\n\n" +
			"If it was you, there is nothing to do. If it was not, reset your password at once:\n" +
			"someone else may have it.\n"
	case MessageEmailChanged:
		m.Subject = "Your email address was changed"
		m.Text = "The email address of your account was just changed, so mail about it no longer\n" +
			"comes here.\n\nIf it was not you, contact the service at once.\n"
	}
	if err := e.queueMail(context.WithoutCancel(ctx), mailJob{msg: m}); err != nil {
		e.log.Error("authcube: queueing a notice", "kind", kind.String(), "err", err)
	}
}

// mailWorker drains the mail queue until it is closed (at Close, after the calls in flight).
func (e *Engine) mailWorker() {
	defer close(e.mailDone)
	for job := range e.mail {
		if job.barrier != nil {
			close(job.barrier)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
		var err error
		switch {
		case job.signInCode != "":
			err = e.sendSignInCode(ctx, job.signInCode)
		case job.emailCanon != "":
			err = e.sendReset(ctx, job.emailCanon)
		default:
			err = e.cfg.Mailer.Send(ctx, job.msg)
		}
		cancel()
		if err != nil {
			e.log.Error("authcube: sending mail", "err", err)
		}
	}
}
