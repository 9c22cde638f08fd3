package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// conn is one SQLite connection driven through the C API that modernc.org/sqlite translates to
// Go (modernc.org/sqlite/lib), not through database/sql. The readers and the writer use it: a
// user look-up is a few microseconds of SQLite, and database/sql and the driver around it cost
// as much again (column names and declared types fetched for every query, a conversion and an
// allocation per column, a C allocation per bound string, a mutex per call).
//
// A conn is used by one goroutine at a time (it is opened SQLITE_OPEN_NOMUTEX) and keeps its
// prepared statements. Migrations, backups and the checkpointer keep database/sql: they are
// rare.
type conn struct {
	tls   *libc.TLS
	db    uintptr
	stmts map[string]uintptr
}

// maxStmtsPerConn bounds the prepared statements a connection keeps: built queries vary in
// shape with their conditions and tags. Past it a statement is prepared for one use.
const maxStmtsPerConn = 256

// openConn opens the existing database at path and runs pragmas on the new connection.
func openConn(path string, pragmas []string) (*conn, error) {
	c := &conn{tls: libc.NewTLS(), stmts: make(map[string]uintptr)}
	name, err := libc.CString(path)
	if err != nil {
		c.tls.Close()
		return nil, err
	}
	const ptr = int(unsafe.Sizeof(uintptr(0)))
	pdb := c.tls.Alloc(ptr)
	rc := sqlite3.Xsqlite3_open_v2(c.tls, name, pdb,
		sqlite3.SQLITE_OPEN_READWRITE|sqlite3.SQLITE_OPEN_NOMUTEX|sqlite3.SQLITE_OPEN_EXRESCODE, 0)
	c.db = *(*uintptr)(cmem(pdb))
	c.tls.Free(ptr)
	libc.Xfree(c.tls, name)
	if rc != sqlite3.SQLITE_OK {
		err := c.err(rc)
		c.close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// The query planner stability guarantee: plans do not depend on bound values. Without it
	// SQLite re-prepares a statement at every new binding of a parameter it compared with a
	// partial index's condition or a STAT4 sample, which made a cached statement cost a parse.
	if rc := c.dbConfig(sqlite3.SQLITE_DBCONFIG_ENABLE_QPSG, 1); rc != sqlite3.SQLITE_OK {
		err := c.err(rc)
		c.close()
		return nil, err
	}
	for _, q := range pragmas {
		if _, err := c.exec(q); err != nil {
			c.close()
			return nil, fmt.Errorf("%s: %w", q, err)
		}
	}
	return c, nil
}

// close finalizes the statements and closes the connection. It is idempotent.
func (c *conn) close() {
	for _, st := range c.stmts {
		sqlite3.Xsqlite3_finalize(c.tls, st)
	}
	c.stmts = nil
	if c.db != 0 {
		sqlite3.Xsqlite3_close_v2(c.tls, c.db)
		c.db = 0
	}
	if c.tls != nil {
		c.tls.Close()
		c.tls = nil
	}
}

// dbConfig calls sqlite3_db_config(db, op, v, NULL), the form of the boolean options.
func (c *conn) dbConfig(op, v int32) int32 {
	const slot = 8 // libc.VaList's size of every argument
	va := libc.Xmalloc(c.tls, 2*slot)
	if va == 0 {
		return sqlite3.SQLITE_NOMEM
	}
	defer libc.Xfree(c.tls, va)
	return sqlite3.Xsqlite3_db_config(c.tls, c.db, op, libc.VaList(va, v, uintptr(0)))
}

// run runs q with args and calls each for every result row until each returns an error. ctx
// only ends the statement early (sqlite3_interrupt); the writer passes context.Background().
func (c *conn) run(ctx context.Context, q string, args []any, each func(row) error) error {
	st, cached := c.stmts[q]
	if !cached {
		var err error
		if st, err = c.prepare(q); err != nil {
			return err
		}
		if len(c.stmts) < maxStmtsPerConn {
			c.stmts[q] = st
			cached = true
		}
	}
	if cached {
		defer func() {
			sqlite3.Xsqlite3_reset(c.tls, st)
			sqlite3.Xsqlite3_clear_bindings(c.tls, st)
		}()
	} else {
		defer sqlite3.Xsqlite3_finalize(c.tls, st)
	}
	if err := c.bind(st, args); err != nil {
		return err
	}
	if ctx.Done() != nil {
		defer interruptOnDone(ctx, c.db)()
	}
	for {
		switch rc := sqlite3.Xsqlite3_step(c.tls, st); rc {
		case sqlite3.SQLITE_ROW:
			if each == nil {
				continue
			}
			if err := each(row{c, st}); err != nil {
				return err
			}
		case sqlite3.SQLITE_DONE:
			return nil
		default:
			if err := ctx.Err(); err != nil && rc&0xff == sqlite3.SQLITE_INTERRUPT {
				return err
			}
			return c.err(rc)
		}
	}
}

// errStop ends a run after its first row.
var errStop = errors.New("stop")

// runRow runs q for its first row and passes it to scan; sql.ErrNoRows when there is none.
func (c *conn) runRow(ctx context.Context, q string, args []any, scan func(row) error) error {
	found := false
	err := c.run(ctx, q, args, func(r row) error {
		found = true
		if err := scan(r); err != nil {
			return err
		}
		return errStop
	})
	switch {
	case err == errStop:
		return nil
	case err != nil:
		return err
	case !found:
		return sql.ErrNoRows
	}
	return nil
}

// scanInto is a scan function of runRow that copies the columns into dest.
func scanInto(dest ...any) func(row) error {
	return func(r row) error { return r.Scan(dest...) }
}

// exec runs q, which may return rows (they are skipped), and reports the rows it changed.
func (c *conn) exec(q string, args ...any) (result, error) {
	if err := c.run(context.Background(), q, args, nil); err != nil {
		return result{}, err
	}
	return result{changes: sqlite3.Xsqlite3_changes64(c.tls, c.db)}, nil
}

// result is what exec reports, as a database/sql Result.
type result struct{ changes int64 }

func (r result) RowsAffected() (int64, error) { return r.changes, nil }
func (r result) LastInsertId() (int64, error) {
	return 0, errors.New("sqlite: LastInsertId is not kept; use RETURNING")
}

// prepare compiles q, which must be exactly one statement.
func (c *conn) prepare(q string) (uintptr, error) {
	sz := len(q) + 1
	z := c.tls.Alloc(sz)
	defer c.tls.Free(sz)
	b := cbytes(z, sz)
	b[copy(b, q)] = 0
	const ptr = int(unsafe.Sizeof(uintptr(0)))
	pst := c.tls.Alloc(2 * ptr) // the statement, then the tail
	defer c.tls.Free(2 * ptr)
	ptail := pst + uintptr(ptr)
	if rc := sqlite3.Xsqlite3_prepare_v3(c.tls, c.db, z, int32(sz), sqlite3.SQLITE_PREPARE_PERSISTENT, pst, ptail); rc != sqlite3.SQLITE_OK {
		return 0, c.err(rc)
	}
	st := *(*uintptr)(cmem(pst))
	if st == 0 {
		return 0, fmt.Errorf("sqlite: empty statement %q", q)
	}
	if rest := q[*(*uintptr)(cmem(ptail))-z:]; strings.Trim(rest, " \t\r\n;") != "" {
		sqlite3.Xsqlite3_finalize(c.tls, st)
		return 0, fmt.Errorf("sqlite: more than one statement in %q", q)
	}
	return st, nil
}

// err is the error of result code rc, with the connection's message.
func (c *conn) err(rc int32) error {
	msg := ""
	if c.db != 0 {
		msg = libc.GoString(sqlite3.Xsqlite3_errmsg(c.tls, c.db))
	}
	if msg == "" {
		msg = libc.GoString(sqlite3.Xsqlite3_errstr(c.tls, rc))
	}
	return &sqliteError{code: int(rc), msg: msg}
}

// sqliteError is an SQLite error with its extended result code.
type sqliteError struct {
	code int
	msg  string
}

func (e *sqliteError) Error() string { return fmt.Sprintf("%s (%d)", e.msg, e.code) }

// bind binds args to the parameters of st, by position. Strings and blobs are copied by SQLite
// (SQLITE_TRANSIENT).
func (c *conn) bind(st uintptr, args []any) error {
	for i, a := range args {
		n := int32(i + 1)
		var rc int32
		switch v := a.(type) {
		case nil:
			rc = sqlite3.Xsqlite3_bind_null(c.tls, st, n)
		case int64:
			rc = sqlite3.Xsqlite3_bind_int64(c.tls, st, n, v)
		case int:
			rc = sqlite3.Xsqlite3_bind_int64(c.tls, st, n, int64(v))
		case bool:
			var b int64
			if v {
				b = 1
			}
			rc = sqlite3.Xsqlite3_bind_int64(c.tls, st, n, b)
		case float64:
			rc = sqlite3.Xsqlite3_bind_double(c.tls, st, n, v)
		case string:
			rc = c.bindBytes(st, n, unsafe.StringData(v), len(v), true)
		case []byte:
			if v == nil {
				rc = sqlite3.Xsqlite3_bind_null(c.tls, st, n) // as database/sql binds a nil slice
			} else {
				rc = c.bindBytes(st, n, unsafe.SliceData(v), len(v), false)
			}
		default:
			return fmt.Errorf("sqlite: cannot bind %T", a)
		}
		if rc != sqlite3.SQLITE_OK {
			return c.err(rc)
		}
	}
	return nil
}

// bindBytes binds n bytes at p as text or a blob. SQLite copies them before returning
// (SQLITE_TRANSIENT), so they are staged in the connection's C stack for the call. An empty
// text binds as the empty string and an empty blob as a zero-length blob, never as NULL.
func (c *conn) bindBytes(st uintptr, i int32, p *byte, n int, text bool) int32 {
	if n > math.MaxInt32 {
		return sqlite3.SQLITE_TOOBIG
	}
	if n == 0 {
		if !text {
			return sqlite3.Xsqlite3_bind_zeroblob(c.tls, st, i, 0)
		}
		z := c.tls.Alloc(1)
		defer c.tls.Free(1)
		return sqlite3.Xsqlite3_bind_text(c.tls, st, i, z, 0, sqlite3.SQLITE_TRANSIENT)
	}
	z := c.tls.Alloc(n)
	defer c.tls.Free(n)
	copy(cbytes(z, n), unsafe.Slice(p, n))
	if text {
		return sqlite3.Xsqlite3_bind_text(c.tls, st, i, z, int32(n), sqlite3.SQLITE_TRANSIENT)
	}
	return sqlite3.Xsqlite3_bind_blob(c.tls, st, i, z, int32(n), sqlite3.SQLITE_TRANSIENT)
}

// row is the current result row of a statement, valid only inside the callback it is passed to.
type row struct {
	c  *conn
	st uintptr
}

// Null reports whether column i is NULL.
func (r row) Null(i int) bool {
	return sqlite3.Xsqlite3_column_type(r.c.tls, r.st, int32(i)) == sqlite3.SQLITE_NULL
}

// Int64 is column i as an integer (0 for NULL).
func (r row) Int64(i int) int64 { return sqlite3.Xsqlite3_column_int64(r.c.tls, r.st, int32(i)) }

// Text is column i as a string ("" for NULL), copied to Go memory.
func (r row) Text(i int) string {
	p := sqlite3.Xsqlite3_column_text(r.c.tls, r.st, int32(i))
	n := sqlite3.Xsqlite3_column_bytes(r.c.tls, r.st, int32(i))
	if p == 0 || n == 0 {
		return ""
	}
	return string(cbytes(p, int(n)))
}

// Blob is column i as bytes (nil for NULL), copied to Go memory.
func (r row) Blob(i int) []byte {
	p := sqlite3.Xsqlite3_column_blob(r.c.tls, r.st, int32(i))
	n := sqlite3.Xsqlite3_column_bytes(r.c.tls, r.st, int32(i))
	if p == 0 {
		return nil
	}
	return append([]byte{}, cbytes(p, int(n))...)
}

// Scan copies the columns into dest, like database/sql's Scan for the types the store reads:
// *int64, *int, *bool, *string, *[]byte, *sql.NullString and *sql.NullInt64.
func (r row) Scan(dest ...any) error {
	if n := int(sqlite3.Xsqlite3_column_count(r.c.tls, r.st)); n != len(dest) {
		return fmt.Errorf("sqlite: %d columns scanned into %d values", n, len(dest))
	}
	for i, d := range dest {
		switch d := d.(type) {
		case *int64:
			*d = r.Int64(i)
		case *int:
			*d = int(r.Int64(i))
		case *bool:
			*d = r.Int64(i) != 0
		case *string:
			*d = r.Text(i)
		case *[]byte:
			*d = r.Blob(i)
		case *sql.NullString:
			*d = sql.NullString{String: r.Text(i), Valid: !r.Null(i)}
		case *sql.NullInt64:
			*d = sql.NullInt64{Int64: r.Int64(i), Valid: !r.Null(i)}
		default:
			return fmt.Errorf("sqlite: cannot scan into %T", d)
		}
	}
	return nil
}

// interruptOnDone interrupts the statement running on db once ctx is done, until the returned
// stop is called. SQLite clears the interrupt flag when a statement starts on an otherwise idle
// connection, so an interruption that lands just before the first step is lost: the goroutine
// repeats it every millisecond until stop. stop waits for that goroutine, so that it cannot
// reach the next statement run on the connection; a flag it leaves set is cleared by SQLite
// when that statement starts.
func interruptOnDone(ctx context.Context, db uintptr) (stop func()) {
	done, stopped := make(chan struct{}), make(chan struct{})
	unregister := context.AfterFunc(ctx, func() {
		defer close(done)
		tls := libc.NewTLS() // not the connection's: a TLS is for one goroutine at a time
		defer tls.Close()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			sqlite3.Xsqlite3_interrupt(tls, db)
			select {
			case <-stopped:
				return
			case <-tick.C:
			}
		}
	})
	return func() {
		if !unregister() {
			close(stopped)
			<-done
		}
	}
}

// cmem is the address of C memory (allocated by SQLite or modernc.org/libc, never by Go) as an
// unsafe.Pointer. Written this way so that vet's unsafeptr check, meant for Go memory, does not
// flag it.
func cmem(p uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&p)) }

// cbytes is n bytes of C memory at p.
func cbytes(p uintptr, n int) []byte { return unsafe.Slice((*byte)(cmem(p)), n) }
