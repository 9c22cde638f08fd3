package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/internal/pwhash"
)

// jsonlUser is one line of the jsonl format, what export writes and import reads.
type jsonlUser struct {
	ID           int64      `json:"id,omitempty"`
	Login        string     `json:"login,omitempty"`
	Email        string     `json:"email,omitempty"`
	PasswordHash string     `json:"password_hash,omitempty"`
	FullName     string     `json:"full_name,omitempty"`
	Phone        string     `json:"phone,omitempty"`
	Website      string     `json:"website,omitempty"`
	ExternalID   string     `json:"external_id,omitempty"`
	Tags         []string   `json:"tags,omitempty"`
	CustomData   string     `json:"custom_data,omitempty"`
	CreatedAt    *time.Time `json:"created_at,omitempty"`
	Disabled     bool       `json:"disabled,omitempty"`
}

// item is one record read from an import file, with its position ("line 12", "user #3").
type item struct {
	where string
	rec   authcube.UserRecord
	err   error // the record could not be read
}

// reader yields the records of an import file in order; it returns io.EOF at the end.
type reader interface {
	next() (item, error)
}

// jsonlReader reads one JSON object per line. Unknown fields are refused: a misspelt
// "pasword_hash" must not import users without passwords.
type jsonlReader struct {
	sc   *bufio.Scanner
	line int
}

func newJSONL(r io.Reader) *jsonlReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	return &jsonlReader{sc: sc}
}

func (j *jsonlReader) next() (item, error) {
	for j.sc.Scan() {
		j.line++
		b := bytes.TrimSpace(j.sc.Bytes())
		if len(b) == 0 {
			continue
		}
		it := item{where: "line " + strconv.Itoa(j.line)}
		var u jsonlUser
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&u); err != nil {
			it.err = fmt.Errorf("not a user object: %v", err)
			return it, nil
		}
		it.rec = authcube.UserRecord{
			ID: u.ID, Login: u.Login, Email: u.Email, PasswordHash: u.PasswordHash, FullName: u.FullName,
			Phone: u.Phone, Website: u.Website, ExternalID: u.ExternalID, Tags: u.Tags, CustomData: u.CustomData,
			Disabled: u.Disabled,
		}
		if u.CreatedAt != nil {
			it.rec.CreatedAt = *u.CreatedAt
		}
		return it, nil
	}
	if err := j.sc.Err(); err != nil {
		return item{}, fmt.Errorf("line %d: %w", j.line+1, err)
	}
	return item{}, io.EOF
}

// firebaseParams are the project's password hash parameters, as `firebase auth:import` takes
// them.
type firebaseParams struct {
	hashKey, saltSeparator string
	rounds, memCost        int
}

// firebaseReader reads the JSON of `firebase auth:export`: {"users": [...]}, streaming.
type firebaseReader struct {
	dec *json.Decoder
	p   firebaseParams
	n   int
	in  bool
}

type firebaseUser struct {
	LocalID      string `json:"localId"`
	Email        string `json:"email"`
	PasswordHash string `json:"passwordHash"`
	Salt         string `json:"salt"`
	DisplayName  string `json:"displayName"`
	PhoneNumber  string `json:"phoneNumber"`
	CreatedAt    string `json:"createdAt"` // milliseconds, as a string
	Disabled     bool   `json:"disabled"`
}

func (f *firebaseReader) next() (item, error) {
	if !f.in {
		if err := expectUsersArray(f.dec); err != nil {
			return item{}, err
		}
		f.in = true
	}
	if !f.dec.More() {
		return item{}, io.EOF
	}
	f.n++
	it := item{where: "user #" + strconv.Itoa(f.n)}
	var u firebaseUser
	if err := f.dec.Decode(&u); err != nil {
		return item{}, fmt.Errorf("%s: %w", it.where, err)
	}
	if u.LocalID != "" {
		it.where += " (" + u.LocalID + ")"
	}
	it.rec = authcube.UserRecord{Email: u.Email, FullName: u.DisplayName, Phone: u.PhoneNumber, ExternalID: u.LocalID, Disabled: u.Disabled}
	if u.Email == "" {
		it.rec.Login = u.LocalID // phone-only users: their uid is their login
	}
	if ms, err := strconv.ParseInt(u.CreatedAt, 10, 64); err == nil && ms > 0 {
		it.rec.CreatedAt = time.UnixMilli(ms)
	}
	if u.PasswordHash != "" {
		it.rec.PasswordHash = pwhash.Firebase(u.PasswordHash, u.Salt, f.p.saltSeparator, f.p.hashKey, f.p.rounds, f.p.memCost)
	}
	return it, nil
}

// expectUsersArray reads up to the start of the "users" array ({"users": [) or of a bare
// array.
func expectUsersArray(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); ok && d == '[' {
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errors.New(`want {"users": [...]}`)
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return err
		}
		if key == "users" || key == "items" {
			tok, err := dec.Token()
			if d, ok := tok.(json.Delim); err != nil || !ok || d != '[' {
				return fmt.Errorf("%q is not an array", key)
			}
			return nil
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return err
		}
	}
	return errors.New(`no "users" array`)
}

// pocketbaseReader reads PocketBase's users collection: a JSON array of records (or
// {"items": [...]}) with id, email, username, name, passwordHash (bcrypt) and created, as an
// export of the users table gives them.
type pocketbaseReader struct {
	dec *json.Decoder
	n   int
	in  bool
}

type pocketbaseUser struct {
	ID           string `json:"id"`
	Email        string `json:"email"`
	Username     string `json:"username"`
	Name         string `json:"name"`
	PasswordHash string `json:"passwordHash"`
	Created      string `json:"created"`
}

func (p *pocketbaseReader) next() (item, error) {
	if !p.in {
		if err := expectUsersArray(p.dec); err != nil {
			return item{}, err
		}
		p.in = true
	}
	if !p.dec.More() {
		return item{}, io.EOF
	}
	p.n++
	it := item{where: "record #" + strconv.Itoa(p.n)}
	var u pocketbaseUser
	if err := p.dec.Decode(&u); err != nil {
		return item{}, fmt.Errorf("%s: %w", it.where, err)
	}
	it.rec = authcube.UserRecord{Login: u.Username, Email: u.Email, FullName: u.Name, ExternalID: u.ID, PasswordHash: u.PasswordHash}
	it.rec.CreatedAt, _ = parseTime(u.Created)
	return it, nil
}

// supabaseReader reads a CSV export of Supabase's auth.users table (a header row, then one
// user per row): id, email, encrypted_password (bcrypt), phone, created_at, banned_until and
// raw_user_meta_data (its full_name or name).
type supabaseReader struct {
	r    *csv.Reader
	cols map[string]int
	line int
}

func newSupabase(r io.Reader) (*supabaseReader, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("line 1: %w", err)
	}
	s := &supabaseReader{r: cr, cols: map[string]int{}, line: 1}
	for i, h := range head {
		s.cols[strings.TrimSpace(h)] = i
	}
	for _, need := range []string{"id", "email", "encrypted_password"} {
		if _, ok := s.cols[need]; !ok {
			return nil, fmt.Errorf("line 1: no %q column", need)
		}
	}
	return s, nil
}

func (s *supabaseReader) next() (item, error) {
	row, err := s.r.Read()
	if errors.Is(err, io.EOF) {
		return item{}, io.EOF
	}
	s.line++
	it := item{where: "line " + strconv.Itoa(s.line)}
	if err != nil {
		it.err = err
		return it, nil
	}
	col := func(name string) string {
		if i, ok := s.cols[name]; ok && i < len(row) {
			return row[i]
		}
		return ""
	}
	it.rec = authcube.UserRecord{Email: col("email"), ExternalID: col("id"), PasswordHash: col("encrypted_password"), Phone: col("phone")}
	it.rec.CreatedAt, _ = parseTime(col("created_at"))
	if until, err := parseTime(col("banned_until")); err == nil && until.After(time.Now()) {
		it.rec.Disabled = true
	}
	if meta := col("raw_user_meta_data"); meta != "" {
		var m struct {
			FullName string `json:"full_name"`
			Name     string `json:"name"`
		}
		if json.Unmarshal([]byte(meta), &m) == nil {
			it.rec.FullName = m.FullName
			if m.FullName == "" {
				it.rec.FullName = m.Name
			}
		}
	}
	return it, nil
}

// parseTime reads the time forms of the exports: RFC 3339 and PostgreSQL's and PocketBase's
// "2006-01-02 15:04:05.999999-07".
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999Z", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not a time: %q", s)
}

// countingReader counts the bytes read through it, for progress.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func usersImport(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int {
	fs, c := commonFlags(name, stderr)
	format := fs.String("format", "", "jsonl, firebase, supabase or pocketbase")
	dryRun := fs.Bool("dry-run", false, "validate every record and look for conflicts; write nothing")
	onConflict := fs.String("on-conflict", "fail", "fail: stop at a login, email or id another user has; skip: skip such records")
	batch := fs.Int("batch", 5000, "records per transaction (at most 10000)")
	bulk := fs.String("bulk", "auto", "auto: into a store without users, rebuild search and indexes once at the end (much faster); on: even into one with users; off: keep them up to date user by user")
	var fb firebaseParams
	fs.StringVar(&fb.hashKey, "hash-key", "", "firebase: the project's base64 signer key")
	fs.StringVar(&fb.saltSeparator, "salt-separator", "", "firebase: the project's base64 salt separator")
	fs.IntVar(&fb.rounds, "rounds", 8, "firebase: rounds")
	fs.IntVar(&fb.memCost, "mem-cost", 14, "firebase: memory cost")
	return withEngine(ctx, fs, c, args, 1, stderr, func(e *authcube.Engine, pos []string) int {
		opt := authcube.ImportOptions{DryRun: *dryRun}
		switch *onConflict {
		case "fail":
		case "skip":
			opt.OnConflict = authcube.ConflictSkip
		default:
			fmt.Fprintf(stderr, "authcube %s: --on-conflict must be fail or skip\n", name)
			return exitUsage
		}
		switch *bulk {
		case "auto":
			opt.Bulk = authcube.BulkIfEmpty
		case "on":
			opt.Bulk = authcube.BulkAlways
		case "off":
		default:
			fmt.Fprintf(stderr, "authcube %s: --bulk must be auto, on or off\n", name)
			return exitUsage
		}
		if *batch < 1 || *batch > authcube.MaxAdminPage {
			fmt.Fprintf(stderr, "authcube %s: --batch must be 1 to %d\n", name, authcube.MaxAdminPage)
			return exitUsage
		}
		var in io.Reader = stdin
		size := int64(-1)
		if pos[0] != "-" {
			f, err := os.Open(pos[0])
			if err != nil {
				fmt.Fprintf(stderr, "authcube %s: %v\n", name, err)
				return exitError
			}
			defer f.Close()
			if fi, err := f.Stat(); err == nil {
				size = fi.Size()
			}
			in = f
		}
		cr := &countingReader{r: bufio.NewReaderSize(in, 1<<20)}
		var rd reader
		switch *format {
		case "jsonl":
			rd = newJSONL(cr)
		case "firebase":
			if _, err := base64.StdEncoding.DecodeString(fb.hashKey); err != nil || fb.hashKey == "" {
				fmt.Fprintf(stderr, "authcube %s: --hash-key must be the project's base64 signer key\n", name)
				return exitUsage
			}
			if _, err := base64.StdEncoding.DecodeString(fb.saltSeparator); err != nil || fb.saltSeparator == "" {
				fmt.Fprintf(stderr, "authcube %s: --salt-separator must be the project's base64 salt separator\n", name)
				return exitUsage
			}
			if fb.rounds < 1 || fb.rounds > 32 || fb.memCost < 1 || fb.memCost > 17 {
				fmt.Fprintf(stderr, "authcube %s: --rounds must be 1 to 32 and --mem-cost 1 to 17 (Firebase uses 8 and 14)\n", name)
				return exitUsage
			}
			rd = &firebaseReader{dec: json.NewDecoder(cr), p: fb}
		case "pocketbase":
			rd = &pocketbaseReader{dec: json.NewDecoder(cr)}
		case "supabase":
			sr, err := newSupabase(cr)
			if err != nil {
				fmt.Fprintf(stderr, "authcube %s: %v\n", name, err)
				return exitInvalid
			}
			rd = sr
		default:
			fmt.Fprintf(stderr, "authcube %s: --format must be jsonl, firebase, supabase or pocketbase\n", name)
			return exitUsage
		}
		return importAll(ctx, e.Admin(), rd, cr, size, *batch, opt, name, stdout, stderr)
	})
}

// importAll reads and validates batches in one goroutine while the previous batch is written
// in this one. It holds at most four batches at a time (one being read, two queued, one being
// written), so its memory does not grow with the file.
func importAll(ctx context.Context, a *authcube.Admin, rd reader, cr *countingReader, size int64, batch int,
	opt authcube.ImportOptions, name string, stdout, stderr io.Writer) int {
	type chunk struct {
		bad      []item // records that could not be read
		where    []string
		prepared *authcube.PreparedImport
		err      error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan chunk, 2)
	go func() {
		defer close(chunks)
		for {
			var ch chunk
			recs := make([]authcube.UserRecord, 0, batch)
			n := 0
			for n < batch {
				var it item
				if it, ch.err = rd.next(); ch.err != nil {
					break
				}
				n++
				if it.err != nil {
					ch.bad = append(ch.bad, it)
					continue
				}
				recs = append(recs, it.rec)
				ch.where = append(ch.where, it.where)
			}
			if errors.Is(ch.err, io.EOF) {
				ch.err = nil
			}
			if len(recs) > 0 {
				var err error
				if ch.prepared, err = a.PrepareImport(recs); err != nil {
					ch.err = err // cannot happen: batch is at most MaxAdminPage
				}
			}
			if n > 0 || ch.err != nil {
				select {
				case chunks <- ch:
				case <-ctx.Done():
					return
				}
			}
			if ch.err != nil || n < batch {
				return
			}
		}
	}()

	prog := newProgress(stderr, size, "importing")
	var inserted, existing, skipped, invalid, valid int
	code := exitOK
	bad := func(where string, err error) {
		fmt.Fprintf(stderr, "%s: %v\n", where, err)
		invalid++
	}
loop:
	for ch := range chunks {
		for _, it := range ch.bad {
			bad(it.where, it.err)
		}
		if ch.prepared != nil {
			res, err := a.ImportPrepared(ctx, ch.prepared, opt)
			for i, r := range res {
				switch r.Status {
				case authcube.ImportInserted:
					inserted++
				case authcube.ImportExisting:
					existing++
				case authcube.ImportValid:
					valid++
				case authcube.ImportInvalid:
					bad(ch.where[i], reason(r.Err))
				case authcube.ImportSkipped:
					skipped++
					if opt.OnConflict == authcube.ConflictSkip {
						fmt.Fprintf(stderr, "%s: skipped: %v\n", ch.where[i], reason(r.Err))
					}
				}
			}
			if err != nil {
				if errors.Is(err, authcube.ErrConflict) {
					fmt.Fprintf(stderr, "%s: %v; stopped (the users before it are imported: fix it and run again, or use --on-conflict skip)\n", ch.where[len(res)-1], reason(err))
					code = exitConflict
				} else {
					fmt.Fprintf(stderr, "authcube %s: %v\n", name, err)
					code = exitError
				}
				break loop
			}
		}
		if ch.err != nil {
			fmt.Fprintf(stderr, "authcube %s: %v\n", name, ch.err)
			code = exitInvalid
			break
		}
		prog.set(cr.n.Load(), inserted+existing+skipped+invalid+valid)
	}
	if !opt.DryRun && opt.Bulk != authcube.BulkNever {
		// Whatever happened: what the import deferred is rebuilt now (or, if this fails or
		// never runs, at the next opening of the store).
		if err := a.FinishImport(ctx); err != nil {
			fmt.Fprintf(stderr, "authcube %s: %v (the next opening of the directory finishes the import's indexes)\n", name, err)
			if code == exitOK {
				code = exitError
			}
		}
	}
	prog.done(cr.n.Load(), inserted+existing+skipped+invalid+valid)
	if code == exitOK && invalid > 0 {
		code = exitInvalid
	}
	if opt.DryRun {
		fmt.Fprintf(stdout, "dry run: %d valid, %d already there, %d conflicts, %d invalid; nothing written\n", valid, existing, skipped, invalid)
	} else {
		fmt.Fprintf(stdout, "imported %d, already there %d, conflicts %d, invalid %d\n", inserted, existing, skipped, invalid)
	}
	return code
}

// reason is an import error's field and message, without the operation.
func reason(err error) error {
	var ae *authcube.Error
	if errors.As(err, &ae) {
		if ae.Field != "" {
			return fmt.Errorf("%s: %s", ae.Field, ae.Message)
		}
		return errors.New(ae.Message)
	}
	return err
}

func usersExport(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int {
	fs, c := commonFlags(name, stderr)
	format := fs.String("format", "jsonl", "jsonl")
	out := fs.String("out", "", "write to this file instead of stdout")
	return withEngine(ctx, fs, c, args, 0, stderr, func(e *authcube.Engine, _ []string) int {
		if *format != "jsonl" {
			fmt.Fprintf(stderr, "authcube %s: --format must be jsonl\n", name)
			return exitUsage
		}
		w := stdout
		if *out != "" {
			f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				fmt.Fprintf(stderr, "authcube %s: %v\n", name, err)
				return exitError
			}
			defer f.Close()
			w = f
		}
		a := e.Admin()
		st, err := a.Stats(ctx)
		if err != nil {
			return fail(stderr, name, err)
		}
		prog := newProgress(stderr, st.Users, "exporting")
		bw := bufio.NewWriterSize(w, 1<<20)
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		n := 0
		for after := int64(0); ; {
			recs, err := a.ExportUsers(ctx, after, authcube.MaxAdminPage)
			if err != nil {
				return fail(stderr, name, err)
			}
			if len(recs) == 0 {
				break
			}
			for _, r := range recs {
				created := r.CreatedAt
				if err := enc.Encode(jsonlUser{
					ID: r.ID, Login: r.Login, Email: r.Email, PasswordHash: r.PasswordHash, FullName: r.FullName,
					Phone: r.Phone, Website: r.Website, ExternalID: r.ExternalID, Tags: r.Tags,
					CustomData: r.CustomData, CreatedAt: &created, Disabled: r.Disabled,
				}); err != nil {
					fmt.Fprintf(stderr, "authcube %s: %v\n", name, err)
					return exitError
				}
			}
			n += len(recs)
			after = recs[len(recs)-1].ID
			prog.set(int64(n), n)
		}
		if err := bw.Flush(); err != nil {
			fmt.Fprintf(stderr, "authcube %s: %v\n", name, err)
			return exitError
		}
		prog.done(int64(n), n)
		return exitOK
	})
}
