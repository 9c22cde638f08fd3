package authcube

import (
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// outbox is the default Mailer: each message becomes an RFC 5322 .eml file in Dir/outbox (mode
// 0600 in a 0700 directory), where an offline prototype can read its mail. Files older than
// ResetTTL are pruned by the sweeper, so reset links do not linger (S13).
type outbox struct {
	dir  string
	now  func() time.Time
	rand func([]byte) error
}

const outboxTimeFormat = "20060102T150405.000Z"

// newOutbox opens the outbox directory, creating it, and removes the temporary files a crash
// left between writing a message and renaming it into place.
func newOutbox(dir string, now func() time.Time, rand func([]byte) error) (*outbox, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	stray, err := filepath.Glob(filepath.Join(dir, "*.tmp"))
	if err != nil {
		return nil, err
	}
	for _, f := range stray {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			return nil, err
		}
	}
	return &outbox{dir: dir, now: now, rand: rand}, nil
}

// Send writes m as <time>-<kind>-<random>.eml, through a temporary file renamed into place.
func (o *outbox) Send(_ context.Context, m Message) error {
	var r [8]byte
	if err := o.rand(r[:]); err != nil {
		return err
	}
	now := o.now()
	id := hex.EncodeToString(r[:])
	body, err := m.RFC5322(now, id+"@authcube")
	if err != nil {
		return err
	}
	kind := strings.ToLower(strings.TrimPrefix(m.Kind.String(), "Message"))
	name := filepath.Join(o.dir, now.UTC().Format(outboxTimeFormat)+"-"+kind+"-"+id+".eml")
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, body, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, name); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// prune deletes the messages written before `before`, by the time in their names.
func (o *outbox) prune(before time.Time) error {
	entries, err := os.ReadDir(o.dir)
	if err != nil {
		return err
	}
	for _, ent := range entries {
		name := ent.Name()
		if len(name) < len(outboxTimeFormat) {
			continue
		}
		at, err := time.Parse(outboxTimeFormat, name[:len(outboxTimeFormat)])
		if err == nil && at.Before(before) {
			if err := os.Remove(filepath.Join(o.dir, name)); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
	}
	return nil
}
