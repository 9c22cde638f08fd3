// Package dirlock takes an exclusive, advisory lock on a file, so that one engine at a time owns
// a data directory, across processes and within one.
//
// On unix it uses POSIX record locks (fcntl F_SETLK), as LevelDB does, rather than flock: a
// flock lock lives on the open file description, which a child process shares between fork and
// exec, so a program that spawns processes could see its own released lock still held for a
// moment and a reopen fail. Record locks belong to the process and are not inherited. They do
// not conflict within one process, and any close of the file drops them, so a process-wide
// registry refuses a second Acquire of a held file before it is ever opened again.
package dirlock

import (
	"errors"
	"os"
	"sync"
)

// ErrLocked is returned by [Acquire] when another holder has the lock.
var ErrLocked = errors.New("dirlock: locked by another process or engine")

// Lock is a held lock.
type Lock struct {
	f    *os.File
	info os.FileInfo
}

var (
	mu   sync.Mutex
	held []*Lock // locks this process holds
)

// Acquire creates path when missing and locks it without waiting: it returns ErrLocked when the
// lock is held elsewhere, in this process or another.
func Acquire(path string) (*Lock, error) {
	mu.Lock()
	defer mu.Unlock()
	if info, err := os.Stat(path); err == nil {
		for _, l := range held {
			if os.SameFile(info, l.info) {
				return nil, ErrLocked
			}
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err == nil {
		err = lock(f)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	l := &Lock{f: f, info: info}
	held = append(held, l)
	return l, nil
}

// Release drops the lock. It is idempotent.
func (l *Lock) Release() error {
	mu.Lock()
	defer mu.Unlock()
	if l == nil || l.f == nil {
		return nil
	}
	for i, h := range held {
		if h == l {
			held = append(held[:i], held[i+1:]...)
			break
		}
	}
	err := l.f.Close() // closing the file releases the lock
	l.f = nil
	return err
}
