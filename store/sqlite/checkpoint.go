package sqlite

import (
	"context"
	"database/sql"
)

// checkpointEvery is how many commits pass between checkpoints.
const checkpointEvery = 32

// checkpointer copies WAL frames back into the database file on its own connection, so that
// committing writes never pays for it: the writer's connection has wal_autocheckpoint off. A
// PASSIVE checkpoint never blocks the writer or the readers.
type checkpointer struct {
	db      *sql.DB
	kick    chan struct{}
	done    chan struct{}
	commits int // counted by the writer goroutine only
}

func newCheckpointer(db *sql.DB) *checkpointer {
	c := &checkpointer{db: db, kick: make(chan struct{}, 1), done: make(chan struct{})}
	go c.loop()
	return c
}

// committed is called by the writer after each commit.
func (c *checkpointer) committed() {
	if c.commits++; c.commits%checkpointEvery != 0 {
		return
	}
	select {
	case c.kick <- struct{}{}:
	default: // one is pending already
	}
}

func (c *checkpointer) loop() {
	defer close(c.done)
	for range c.kick {
		// Errors (busy, say) only postpone the copy: the frames stay safe in the WAL.
		_, _ = c.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
	}
}

// close stops the checkpointer; SQLite checkpoints when the last connection closes.
func (c *checkpointer) close() {
	close(c.kick)
	<-c.done
	c.db.Close()
}
