// Command benchreport turns the output of `go test -bench` into BENCHMARKS.md: the machine, the
// Go version, the date, the data set, the command to reproduce, and a table of the performance
// targets of the engine against the median of what was measured. scripts/bench.sh runs it:
//
//	go run ./internal/benchreport -in bench.txt -out BENCHMARKS.md -users 1000000
package main

import (
	"bufio"
	"cmp"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	in := flag.String("in", "", "raw `go test -bench` output (default stdin)")
	out := flag.String("out", "BENCHMARKS.md", "the report to write (- for stdout)")
	users := flag.Int("users", envInt("AUTHCUBE_BENCH_USERS"), "users in the seeded data set (default $AUTHCUBE_BENCH_USERS)")
	cmd := flag.String("cmd", "scripts/bench.sh", "the command that reproduces the run")
	gotest := flag.String("gotest", "", "the `go test` command the script ran, shown under the command")
	notes := flag.String("notes", "", "a markdown file appended to the report under Notes")
	pgOnly := flag.Bool("postgres", false, "write only the PostgreSQL section (store/postgres's benchmarks) into the existing -out, keeping the rest")
	flag.Parse()
	if *pgOnly {
		if err := runPG(*in, *out, meta{Go: runtime.Version(), NumCPU: runtime.NumCPU(), Date: time.Now().UTC(), Users: *users, GoTest: *gotest}); err != nil {
			fmt.Fprintln(os.Stderr, "benchreport:", err)
			os.Exit(1)
		}
		return
	}

	if err := run(*in, *out, *notes, meta{
		Go:      runtime.Version(),
		NumCPU:  runtime.NumCPU(),
		Date:    time.Now().UTC(),
		Users:   *users,
		Command: *cmd,
		GoTest:  *gotest,
	}); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

func envInt(name string) int {
	n, _ := strconv.Atoi(os.Getenv(name))
	return n
}

func run(in, out, notesFile string, m meta) error {
	r := io.Reader(os.Stdin)
	if in != "" {
		f, err := os.Open(in)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	res, err := parse(r)
	if err != nil {
		return err
	}
	if len(res.Benchmarks) == 0 {
		return fmt.Errorf("no benchmark results in %s", orStdin(in))
	}
	if notesFile != "" {
		b, err := os.ReadFile(notesFile)
		if err != nil {
			return err
		}
		m.Notes = string(b)
	}
	var sb strings.Builder
	render(&sb, res, m)
	if hasPG(res) {
		var pg strings.Builder
		renderPG(&pg, res, m)
		s := splicePG(sb.String(), pg.String())
		sb.Reset()
		sb.WriteString(s)
	}
	if out == "-" {
		_, err := io.WriteString(os.Stdout, sb.String())
		return err
	}
	return os.WriteFile(out, []byte(sb.String()), 0o644)
}

func orStdin(in string) string {
	if in == "" {
		return "stdin"
	}
	return in
}

// Results is what one `go test -bench` output holds.
type Results struct {
	GOOS, GOARCH, CPU string
	Benchmarks        []*Benchmark // in order of first appearance
	Failed            []string     // benchmarks reported by "--- FAIL:", without a parent of a failed one
}

// Benchmark is one benchmark (sub-benchmarks are benchmarks of their own) and its runs.
type Benchmark struct {
	Pkg   string // import path, from the last "pkg:" line before it
	Name  string // full name, without the -GOMAXPROCS suffix: BenchmarkUsersByTags/first_page
	Procs int    // the GOMAXPROCS suffix; 1 when there is none
	Runs  []map[string]float64
}

// Median is the median across runs of the metric in unit ("ns/op", "allocs/op", "ops/s", ...),
// and whether any run reported it.
func (b *Benchmark) Median(unit string) (float64, bool) {
	if b == nil {
		return 0, false
	}
	var vs []float64
	for _, r := range b.Runs {
		if v, ok := r[unit]; ok {
			vs = append(vs, v)
		}
	}
	return median(vs)
}

// MedianRun is the run whose metric in unit is the median across the runs reporting it (of an
// even number, the lower of the middle two), so that figures shown together come from one run.
func (b *Benchmark) MedianRun(unit string) (map[string]float64, bool) {
	if b == nil {
		return nil, false
	}
	var runs []map[string]float64
	for _, r := range b.Runs {
		if _, ok := r[unit]; ok {
			runs = append(runs, r)
		}
	}
	if len(runs) == 0 {
		return nil, false
	}
	slices.SortStableFunc(runs, func(x, y map[string]float64) int { return cmp.Compare(x[unit], y[unit]) })
	return runs[(len(runs)-1)/2], true
}

// Units lists the units b reports, ns/op, B/op and allocs/op last, the others in order of
// appearance.
func (b *Benchmark) Units() []string {
	var us []string
	for _, r := range b.Runs {
		for u := range r {
			if !slices.Contains(us, u) {
				us = append(us, u)
			}
		}
	}
	rank := func(u string) int {
		switch u {
		case "ns/op":
			return 0
		case "B/op":
			return 2
		case "allocs/op":
			return 3
		}
		return 1
	}
	slices.SortStableFunc(us, func(a, b string) int {
		if d := rank(a) - rank(b); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	return us
}

func median(vs []float64) (float64, bool) {
	if len(vs) == 0 {
		return 0, false
	}
	vs = slices.Clone(vs)
	slices.Sort(vs)
	n := len(vs)
	if n%2 == 1 {
		return vs[n/2], true
	}
	return (vs[n/2-1] + vs[n/2]) / 2, true
}

// Find returns the benchmark called name in package pkg ("" for any package), or nil.
func (r *Results) Find(pkg, name string) *Benchmark {
	for _, b := range r.Benchmarks {
		if b.Name == name && (pkg == "" || b.Pkg == pkg || b.Pkg == "") {
			return b
		}
	}
	return nil
}

var procsSuffix = regexp.MustCompile(`-(\d+)$`)

// parse reads `go test -bench` output: header lines (goos, goarch, pkg, cpu) and result lines
// "BenchmarkName-N  iterations  value unit [value unit ...]". A result line split by output the
// benchmark printed while running (name first, figures on a later line) is put back together;
// every other line is ignored.
func parse(r io.Reader) (*Results, error) {
	res := &Results{}
	byKey := map[string]*Benchmark{}
	var pkg, pending string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if k, v, ok := strings.Cut(line, ":"); ok && !strings.ContainsAny(k, " \t") {
			v = strings.TrimSpace(v)
			switch k {
			case "goos":
				res.GOOS = v
				continue
			case "goarch":
				res.GOARCH = v
				continue
			case "pkg":
				pkg = v
				continue
			case "cpu":
				res.CPU = v
				continue
			}
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if fields[0] == "---" { // --- FAIL: BenchmarkX, --- SKIP, --- BENCH
			pending = ""
			if len(fields) >= 3 && fields[1] == "FAIL:" && strings.HasPrefix(fields[2], "Benchmark") {
				res.fail(procsSuffix.ReplaceAllString(fields[2], ""))
			}
			continue
		}
		name := ""
		figures := fields
		if strings.HasPrefix(fields[0], "Benchmark") {
			name, figures = fields[0], fields[1:]
		}
		metrics, ok := parseFigures(figures)
		switch {
		case name != "" && !ok:
			pending = name // the figures may follow on a later line
			continue
		case name == "" && ok && pending != "":
			name = pending
		case name == "" || !ok:
			continue
		}
		pending = ""
		procs := 1
		if m := procsSuffix.FindStringSubmatch(name); m != nil {
			procs, _ = strconv.Atoi(m[1])
			name = strings.TrimSuffix(name, m[0])
		}
		key := pkg + "\x00" + name
		b := byKey[key]
		if b == nil {
			b = &Benchmark{Pkg: pkg, Name: name, Procs: procs}
			byKey[key] = b
			res.Benchmarks = append(res.Benchmarks, b)
		}
		b.Runs = append(b.Runs, metrics)
	}
	return res, sc.Err()
}

// fail records a failed benchmark, once, leaving out parents of failed sub-benchmarks (a
// parent fails when one of its sub-benchmarks does).
func (r *Results) fail(name string) {
	for _, f := range r.Failed {
		if f == name || strings.HasPrefix(f, name+"/") {
			return
		}
	}
	r.Failed = append(r.Failed, name)
}

// parseFigures parses "iterations value unit [value unit ...]".
func parseFigures(f []string) (map[string]float64, bool) {
	if len(f) < 3 || len(f)%2 != 1 {
		return nil, false
	}
	if _, err := strconv.ParseUint(f[0], 10, 64); err != nil {
		return nil, false
	}
	m := map[string]float64{}
	for i := 1; i < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return nil, false
		}
		m[f[i+1]] = v
	}
	return m, true
}

// Formatting.

// sig formats v with three significant digits (more for big integers), without an exponent.
func sig(v float64) string {
	if v == 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	d := max(0, 2-int(math.Floor(math.Log10(math.Abs(v)))))
	s := strconv.FormatFloat(v, 'f', d, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// dur formats nanoseconds readably: 812 ns, 4.37 µs, 95.1 ms, 2.35 s.
func dur(ns float64) string {
	a := math.Abs(ns)
	switch {
	case a < 1e3:
		return sig(ns) + " ns"
	case a < 1e6:
		return sig(ns/1e3) + " µs"
	case a < 1e9:
		return sig(ns/1e6) + " ms"
	}
	return sig(ns/1e9) + " s"
}

// count formats a big figure with thousands separators: 23,456.
func count(v float64) string {
	s := strconv.FormatInt(int64(math.Round(math.Abs(v))), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if v < 0 {
		s = "-" + s
	}
	return s
}

// metric formats a median in its unit.
func metric(v float64, unit string) string {
	switch unit {
	case "ns/op":
		return dur(v) + "/op"
	case "B/op", "allocs/op":
		return count(v) + " " + unit
	}
	if strings.HasSuffix(unit, "/s") && v >= 1000 {
		return count(v) + " " + unit
	}
	return sig(v) + " " + unit
}

// runPG renders the PostgreSQL section of in's results into the report out, keeping the rest.
func runPG(in, out string, m meta) error {
	r := io.Reader(os.Stdin)
	if in != "" {
		f, err := os.Open(in)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	res, err := parse(r)
	if err != nil {
		return err
	}
	if !hasPG(res) {
		return fmt.Errorf("no store/postgres benchmark results in %s", orStdin(in))
	}
	var section strings.Builder
	renderPG(&section, res, m)
	old, err := os.ReadFile(out)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	return os.WriteFile(out, []byte(splicePG(string(old), section.String())), 0o644)
}
