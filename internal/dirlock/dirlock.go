// Package dirlock takes an exclusive, advisory lock on a file, so that one engine at a time owns
// a data directory. The lock is held on an open file description, so it also conflicts within
// one process, and the operating system drops it when the process dies.
package dirlock

import (
	"errors"
	"os"
)

// ErrLocked is returned by [Acquire] when another holder has the lock.
var ErrLocked = errors.New("dirlock: locked by another process or engine")

// Lock is a held lock.
type Lock struct{ f *os.File }

// Acquire creates path when missing and locks it without waiting: it returns ErrLocked when the
// lock is held elsewhere.
func Acquire(path string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := lock(f); err != nil {
		f.Close()
		return nil, err
	}
	return &Lock{f: f}, nil
}

// Release drops the lock. It is idempotent.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the descriptor releases the lock
	l.f = nil
	return err
}
