package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/authcube/authcube/store"
)

// errClosed answers writes queued after Close.
var errClosed = errors.New("sqlite: store closed")

// The states of a queued operation. The writer takes an operation by moving it from queued to
// taken; a caller whose ctx ends first moves it to abandoned and stops waiting. Once taken, an
// operation runs and its caller waits for the commit, whatever its ctx says: cancelling a
// statement would interrupt SQLite and roll back every operation of the shared transaction.
const (
	opQueued int32 = iota
	opTaken
	opAbandoned
)

// op is one logical write: a function of the transaction. It may run more than once (see
// writer.try): it must not keep state from a run that was rolled back.
type op struct {
	fn    func(tx *wtx) error
	lazy  bool // may commit without waiting for the disk (see doLazy)
	done  chan error
	state atomic.Int32
}

// writer owns the single write connection. It takes an operation from the queue, drains what
// else is queued (up to maxBatch), runs them in one transaction (see try), commits
// once and then answers every caller: a caller returns only after its write is durable.
type writer struct {
	conn     *conn // used only by the writer goroutine
	queue    chan *op
	maxBatch int
	careful  int  // batches still to run with a savepoint per operation (see try)
	lazy     bool // the connection is at synchronous=NORMAL (see setSync)

	cp *checkpointer

	mu     sync.RWMutex // held for reading while sending, for writing while closing
	closed bool
	done   chan struct{}
}

func newWriter(c *conn, maxBatch int, cp *checkpointer) *writer {
	w := &writer{
		cp:       cp,
		conn:     c,
		queue:    make(chan *op, maxBatch),
		maxBatch: maxBatch,
		done:     make(chan struct{}),
	}
	go w.loop()
	return w
}

// do queues fn and waits until it has committed durably (nil), failed on its own (its error),
// or ctx ended before the writer took it (ctx.Err()).
func (w *writer) do(ctx context.Context, fn func(tx *wtx) error) error {
	return w.submit(ctx, &op{fn: fn, done: make(chan error, 1)})
}

// doLazy is do, except that fn's commit may return before it is durable: a batch made of lazy
// operations only commits at synchronous=NORMAL, so its frames reach the WAL file but not
// necessarily the disk; readers see them at once. The next durable commit syncs the WAL file,
// and with it every frame before its own, so a lazy write is durable once any later write is.
func (w *writer) doLazy(ctx context.Context, fn func(tx *wtx) error) error {
	return w.submit(ctx, &op{fn: fn, lazy: true, done: make(chan error, 1)})
}

func (w *writer) submit(ctx context.Context, o *op) error {
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return errClosed
	}
	select {
	case w.queue <- o:
	case <-ctx.Done():
		w.mu.RUnlock()
		return ctx.Err()
	}
	w.mu.RUnlock()
	select {
	case err := <-o.done:
		return err
	case <-ctx.Done():
		if o.state.CompareAndSwap(opQueued, opAbandoned) {
			return ctx.Err()
		}
		return <-o.done
	}
}

// close lets the writer commit what is queued, then stops it and closes the connection.
func (w *writer) close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.mu.Unlock()
	<-w.done
	w.cp.close()
	w.conn.close()
}

func (w *writer) loop() {
	defer close(w.done)
	batch := make([]*op, 0, w.maxBatch)
	for o := range w.queue {
		batch = append(batch[:0], o)
	drain:
		for len(batch) < w.maxBatch {
			select {
			case o, ok := <-w.queue:
				if !ok {
					break drain
				}
				batch = append(batch, o)
			default:
				break drain
			}
		}
		taken := batch[:0]
		for _, o := range batch {
			if o.state.CompareAndSwap(opQueued, opTaken) {
				taken = append(taken, o)
			}
		}
		w.run(taken)
	}
}

// run commits batch in as few transactions as it takes. An operation's own failure (not found,
// a constraint) rolls back to its savepoint and the batch goes on. Any other error (I/O, busy,
// interrupt) may have ended the transaction: the batch is rolled back, the culprit fails, and the
// others are retried in a fresh transaction.
func (w *writer) run(batch []*op) {
	lazy := len(batch) > 0
	for _, o := range batch {
		lazy = lazy && o.lazy
	}
	if err := w.setSync(lazy); err != nil && !lazy {
		for _, o := range batch { // never commit durable writes without the sync
			o.done <- err
		}
		return
	}
	for len(batch) > 0 {
		errs, culprit, err := w.try(batch)
		switch {
		case err == nil:
			w.cp.committed()
			for i, o := range batch {
				o.done <- errs[i]
			}
			return
		case culprit >= 0:
			batch[culprit].done <- err
			batch = append(batch[:culprit:culprit], batch[culprit+1:]...)
		default: // BEGIN or COMMIT failed: nothing of the batch is known to be durable
			for _, o := range batch {
				o.done <- err
			}
			return
		}
	}
}

// setSync puts the connection at synchronous=NORMAL for a batch of lazy operations only, and
// back at FULL for any other, between transactions (SQLite refuses the change inside one).
// When it fails the mode is unchanged: a lazy batch then runs durably, a durable one must not
// run.
func (w *writer) setSync(lazy bool) error {
	if w.lazy == lazy {
		return nil
	}
	mode := "FULL"
	if lazy {
		mode = "NORMAL"
	}
	if _, err := w.exec("PRAGMA synchronous = " + mode); err != nil {
		return err
	}
	w.lazy = lazy
	return nil
}

// carefulBatches is how many batches after an operation's own failure run with a savepoint per
// operation.
const carefulBatches = 16

// try runs batch in one transaction. It returns each operation's own error, or the batch-ending
// error with the index of the operation that caused it (-1 when BEGIN or COMMIT failed).
//
// Operations rarely fail on their own (a taken login, a session ended meanwhile), so a batch
// first runs without savepoints: a SAVEPOINT and RELEASE per operation cost two statements, and
// at every RELEASE the full-name index (FTS5) flushes its pending terms to a new segment. When
// an operation does fail on its own, its partial writes may be in the transaction: the batch
// is rolled back and run again with a savepoint per operation, and so are the next
// carefulBatches batches, which bounds what a stream of failing operations can cost.
func (w *writer) try(batch []*op) (errs []error, culprit int, err error) {
	careful := len(batch) > 1 && w.careful > 0
	if careful {
		w.careful--
	}
	if _, err := w.exec("BEGIN IMMEDIATE"); err != nil {
		return nil, -1, err
	}
	errs = make([]error, len(batch))
	tx := &wtx{w: w}
	for i, o := range batch {
		if careful {
			if _, err := w.exec("SAVEPOINT op"); err != nil {
				w.rollback()
				return nil, i, err
			}
		}
		if err := o.fn(tx); err != nil {
			if !opOwnError(err) {
				w.rollback()
				return nil, i, err
			}
			if !careful {
				w.rollback()
				if len(batch) == 1 {
					return []error{err}, 0, nil // nothing else to commit
				}
				w.careful = 1 + carefulBatches // this rerun, then the next carefulBatches
				return w.try(batch)
			}
			errs[i] = err
			if _, err := w.exec("ROLLBACK TO op"); err != nil {
				w.rollback()
				return nil, i, err
			}
		}
		if careful {
			if _, err := w.exec("RELEASE op"); err != nil {
				w.rollback()
				return nil, i, err
			}
		}
	}
	if _, err := w.exec("COMMIT"); err != nil {
		w.rollback()
		return nil, -1, err
	}
	return errs, 0, nil
}

// opOwnError reports whether err is the operation's own outcome, leaving the transaction usable.
func opOwnError(err error) bool {
	var ce *store.ConflictError
	return errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrStale) || errors.Is(err, store.ErrInvalidAvatar) || errors.As(err, &ce) || isConstraint(err)
}

func (w *writer) rollback() { w.conn.exec("ROLLBACK") } //nolint:errcheck // best effort: the transaction may already be gone

// exec runs q on the write connection with a statement prepared once.
func (w *writer) exec(q string, args ...any) (sql.Result, error) { return w.conn.exec(q, args...) }

// wtx is what an operation sees of the transaction: statements on the write connection.
type wtx struct{ w *writer }

func (t *wtx) exec(q string, args ...any) (sql.Result, error) { return t.w.conn.exec(q, args...) }

// queryRow returns q's first row, run when it is scanned, like database/sql's QueryRow.
func (t *wtx) queryRow(q string, args ...any) pendingRow { return pendingRow{t.w.conn, q, args} }

// query runs q and calls each for every row (a DELETE … RETURNING, say).
func (t *wtx) query(q string, args []any, each func(row) error) error {
	return t.w.conn.run(context.Background(), q, args, each)
}

// pendingRow is a query whose first row Scan reads; Scan answers sql.ErrNoRows when there is
// none.
type pendingRow struct {
	c    *conn
	q    string
	args []any
}

func (p pendingRow) Scan(dest ...any) error {
	return p.c.runRow(context.Background(), p.q, p.args, scanInto(dest...))
}

// readRow runs q for its first row and passes it to scan; sql.ErrNoRows when there is none.
func (t *wtx) readRow(q string, args []any, scan func(row) error) error {
	return t.w.conn.runRow(context.Background(), q, args, scan)
}

// affected returns store.ErrNotFound when res changed no row.
func affected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}
