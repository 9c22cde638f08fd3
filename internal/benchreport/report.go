package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

const (
	rootPkg     = "github.com/authcube/authcube"
	authtestPkg = rootPkg + "/authtest"
	s3Pkg       = rootPkg + "/blob/s3"
)

// meta is what the report says besides the figures.
type meta struct {
	Go      string
	NumCPU  int
	Date    time.Time
	Users   int    // seeded users; 0 if unknown
	Command string // what reproduces the run
	GoTest  string // the go test command it runs, if known
	Notes   string // markdown appended under Notes
}

// verdict is a row's "meets?".
type verdict int

const (
	noTarget verdict = iota
	meets
	misses
	notMeasured
)

func (v verdict) String() string {
	switch v {
	case meets:
		return "yes"
	case misses:
		return "**no**"
	}
	return "—"
}

// row is one line of the targets table.
type row struct {
	Op       string // the operation, as the performance targets name it
	Measures string // the benchmarks and metrics it is derived from
	Target   string
	Eval     func(*Results) (measured string, v verdict)
}

// rows are the performance targets the engine must reach, then the figures measured without
// a target.
var rows = []row{
	{
		Op:       "`Session` on a live token, `b.RunParallel` (64 goroutines)",
		Measures: bench("", "BenchmarkSession/parallel64") + " ns/op, allocs/op",
		Target: "≤ 1 µs/op, ≤ 2 allocs/op; no store call (asserted by " +
			"`TestCachedSessionCostsNoStoreCall`, not measured here)",
		Eval: func(r *Results) (string, verdict) {
			b := r.Find(rootPkg, "BenchmarkSession/parallel64")
			ns, ok1 := b.Median("ns/op")
			allocs, ok2 := b.Median("allocs/op")
			if !ok1 || !ok2 {
				return "not measured", notMeasured
			}
			return metric(ns, "ns/op") + ", " + sig(allocs) + " allocs/op",
				check(ns <= 1000 && allocs <= 2)
		},
	},
	{
		Op: "token check overhead of a read call",
		Measures: bench("", "BenchmarkTokenOverhead/engine") + " − " +
			bench("", "BenchmarkTokenOverhead/store") + " ns/op",
		Target: "≤ 1 µs over the query it makes",
		Eval: func(r *Results) (string, verdict) {
			e, ok1 := r.Find(rootPkg, "BenchmarkTokenOverhead/engine").Median("ns/op")
			s, ok2 := r.Find(rootPkg, "BenchmarkTokenOverhead/store").Median("ns/op")
			if !ok1 || !ok2 {
				return "not measured", notMeasured
			}
			return fmt.Sprintf("%s (engine %s − store %s)", dur(e-s), dur(e), dur(s)), check(e-s <= 1000)
		},
	},
	atMostNs("`User` by id", "BenchmarkUser", 10e3),
	atMostNs("`UserByLogin`", "BenchmarkUserBy/login", 12e3),
	atMostNs("`UserByEmail`", "BenchmarkUserByEmail", 12e3),
	atMostNs("`UserByPhone`", "BenchmarkUserBy/phone", 12e3),
	atMostNs("`UserByExternalID`", "BenchmarkUserBy/external_id", 12e3),
	atMostNs("`UsersByIDs` of 50", "BenchmarkUsersByIDs50", 200e3),
	atMostNs("`UsersByTags`, first page of 50, single tag, Total included",
		"BenchmarkUsersByTags/first_page", 150e3),
	atMostNs("`UsersByTags`, a page 200 deep by cursor", "BenchmarkUsersByTags/page_200_by_cursor", 150e3),
	atMostNs("`UsersByTags` with two tags, first page (Total counted to 10,000)",
		"BenchmarkUsersByTags/two_tags_first_page", 5e6),
	atMostNs("`UsersByFullName`, a 5-character substring, first page", "BenchmarkUsersByFullName", 2e6),
	{
		Op:       "`SignIn`",
		Measures: bench("", "BenchmarkSignIn") + " x-verify (each sign-in against a verify interleaved with it)",
		Target:   "≤ 1.10 × one argon2id verify at the same parameters, same run",
		Eval: func(r *Results) (string, verdict) {
			b := r.Find(rootPkg, "BenchmarkSignIn")
			x, ok1 := b.Median("x-verify")
			s, ok2 := b.Median("ns/op")
			v, ok3 := b.Median("verify-ns/op")
			if !ok1 || !ok2 || !ok3 {
				return "not measured", notMeasured
			}
			return fmt.Sprintf("%.2f × (SignIn %s, verify %s)", x, dur(s), dur(v)), check(x <= 1.10)
		},
	},
	{
		Op:       "`SignUp`",
		Measures: bench("", "BenchmarkSignUp") + " over-hash-ns/op (each sign-up against a hash interleaved with it)",
		Target:   "≤ one argon2id hash + 400 µs",
		Eval: func(r *Results) (string, verdict) {
			b := r.Find(rootPkg, "BenchmarkSignUp")
			over, ok1 := b.Median("over-hash-ns/op")
			s, ok2 := b.Median("ns/op")
			h, ok3 := b.Median("hash-ns/op")
			if !ok1 || !ok2 || !ok3 {
				return "not measured", notMeasured
			}
			text := fmt.Sprintf("hash + %s (SignUp %s, hash %s)", dur(over), dur(s), dur(h))
			if d, ok := r.Find(rootPkg, "BenchmarkDiskSync/after_idle").Median("sync-ns/op"); ok {
				text += fmt.Sprintf("; the disk's commit after idleness alone: %s", dur(d))
			}
			return text, check(over <= 400e3)
		},
	},
	atLeast("`CreateSession`, 64 concurrent callers, durable", "BenchmarkCreateSession", "ops/s", 20_000, "≥ 20,000/s"),
	atLeast("`UpdateUser` without password, 64 concurrent callers, durable", "BenchmarkUpdateUser", "ops/s",
		15_000, "≥ 15,000/s"),
	atMost("1000 concurrent `SignIn`, HashConcurrency 2, defaults", "BenchmarkSignInBurst", "peak-heap-MiB",
		128, "peak heap ≤ 128 MiB"),
	atMostNs("`Open` of an existing directory (seeded users)", "BenchmarkOpen", 100e6),
	atMost("cached session memory", "BenchmarkSessionCacheMemory", "bytes/session", 256,
		"≤ 256 bytes per live session"),
	{
		Op:       "`authtest.New`",
		Measures: bench(authtestPkg, "BenchmarkNew") + " ns/op",
		Target:   "≤ " + dur(5e6),
		Eval: func(r *Results) (string, verdict) {
			v, ok := r.Find(authtestPkg, "BenchmarkNew").Median("ns/op")
			if !ok {
				return "not measured", notMeasured
			}
			return dur(v), check(v <= 5e6)
		},
	},
	vsRaw("`UploadFile` of 1 MiB to S3 (loopback gofakes3)", "BenchmarkS3UploadFile/1MiB", "put"),
	vsRaw("`UploadFile` of 64 MiB to S3 (loopback gofakes3)", "BenchmarkS3UploadFile/64MiB", "put"),
	vsRaw("`OpenFile` of 1 MiB from S3, read whole", "BenchmarkS3OpenFile/1MiB", "get"),
	vsRaw("`OpenFile` of 64 MiB from S3, read whole", "BenchmarkS3OpenFile/64MiB", "get"),
	info("`UploadFile`, 1 MiB, durable", "BenchmarkUploadFile", "MB/s", "ns/op"),
	info("`OpenFile` of 1 MiB, read whole", "BenchmarkOpenFile", "MB/s", "ns/op"),
	info("`Session` on a live token, one caller", "BenchmarkSession/serial", "ns/op", "allocs/op"),
}

// vsRaw: a blob/s3 benchmark that interleaves the engine call with a raw minio-go call of the
// same bytes (and blob/s3's own call) reaches 0.90 of raw's throughput.
func vsRaw(op, name, rawOp string) row {
	return row{
		Op: op, Measures: bench(s3Pkg, name) + " x-raw (each against a raw minio-go " + rawOp + " of the same bytes interleaved with it)",
		Target: "≥ 0.90 × raw minio-go, same run",
		Eval: func(r *Results) (string, verdict) {
			b := r.Find(s3Pkg, name)
			x, ok1 := b.Median("x-raw")
			e, ok2 := b.Median("engine-MB/s")
			w, ok3 := b.Median("raw-MB/s")
			if !ok1 || !ok2 || !ok3 {
				return "not measured", notMeasured
			}
			text := fmt.Sprintf("%.2f × (engine %s, raw %s", x, metric(e, "MB/s"), metric(w, "MB/s"))
			if sx, ok := b.Median("store-x-raw"); ok {
				text += fmt.Sprintf("; blob/s3 alone %.2f ×", sx)
			}
			return text + ")", check(x >= 0.90)
		},
	}
}

func check(ok bool) verdict {
	if ok {
		return meets
	}
	return misses
}

// bench names a benchmark for the table; pkg is shown unless it is the root package.
func bench(pkg, name string) string {
	if pkg != "" && pkg != rootPkg {
		return "`" + strings.TrimPrefix(pkg, rootPkg+"/") + "." + name + "`"
	}
	return "`" + name + "`"
}

// atMostNs: the median ns/op of a root benchmark is at most limit.
func atMostNs(op, name string, limit float64) row {
	return row{
		Op: op, Measures: bench("", name) + " ns/op", Target: "≤ " + dur(limit),
		Eval: func(r *Results) (string, verdict) {
			v, ok := r.Find(rootPkg, name).Median("ns/op")
			if !ok {
				return "not measured", notMeasured
			}
			return dur(v), check(v <= limit)
		},
	}
}

// atMost: the median of a root benchmark's metric in unit is at most limit.
func atMost(op, name, unit string, limit float64, target string) row {
	return row{
		Op: op, Measures: bench("", name) + " " + unit, Target: target,
		Eval: func(r *Results) (string, verdict) {
			v, ok := r.Find(rootPkg, name).Median(unit)
			if !ok {
				return "not measured", notMeasured
			}
			return metric(v, unit), check(v <= limit)
		},
	}
}

// atLeast: the median of a root benchmark's metric in unit is at least limit.
func atLeast(op, name, unit string, limit float64, target string) row {
	return row{
		Op: op, Measures: bench("", name) + " " + unit, Target: target,
		Eval: func(r *Results) (string, verdict) {
			v, ok := r.Find(rootPkg, name).Median(unit)
			if !ok {
				return "not measured", notMeasured
			}
			return metric(v, unit), check(v >= limit)
		},
	}
}

// info: figures of a root benchmark without a target.
func info(op, name string, units ...string) row {
	return row{
		Op: op, Measures: bench("", name) + " " + strings.Join(units, ", "), Target: "—",
		Eval: func(r *Results) (string, verdict) {
			b := r.Find(rootPkg, name)
			var parts []string
			for _, u := range units {
				if v, ok := b.Median(u); ok {
					parts = append(parts, metric(v, u))
				}
			}
			if len(parts) == 0 {
				return "not measured", noTarget
			}
			return strings.Join(parts, ", "), noTarget
		},
	}
}

// render writes the report.
func render(w io.Writer, r *Results, m meta) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }

	minRuns, maxRuns, procs := 0, 0, 0
	for i, b := range r.Benchmarks {
		if i == 0 || len(b.Runs) < minRuns {
			minRuns = len(b.Runs)
		}
		maxRuns = max(maxRuns, len(b.Runs))
		procs = max(procs, b.Procs)
	}
	runs := fmt.Sprint(maxRuns)
	if minRuns != maxRuns {
		runs = fmt.Sprintf("%d to %d", minRuns, maxRuns)
	}
	ofRuns := runs + " runs"
	if runs == "1" {
		ofRuns = "1 run"
	}

	p("# authcube benchmarks\n\n")
	p("Targets of issue 8 (\"Performance: benchmark suite and the speed the engine must reach\") against\n")
	p("the median of %s of each benchmark (`go test -bench -benchmem`). Generated by\n", ofRuns)
	p("`scripts/bench.sh` with `internal/benchreport`; do not edit by hand.\n\n")

	cpu := r.CPU
	if cpu == "" {
		cpu = "unknown CPU"
	}
	osArch := r.GOOS + "/" + r.GOARCH
	if r.GOOS == "" {
		osArch = "unknown OS"
	}
	p("- **Machine:** %s; %d CPUs (runtime.NumCPU), GOMAXPROCS %d; %s\n", cpu, m.NumCPU, procs, osArch)
	p("- **Go:** %s\n", m.Go)
	p("- **Date:** %s\n", m.Date.UTC().Format("2006-01-02 15:04 UTC"))
	users := "unknown number of"
	if m.Users > 0 {
		users = count(float64(m.Users))
	}
	p("- **Data set:** %s seeded users (`AUTHCUBE_BENCH_USERS`, built by `internal/seed`), for the\n", users)
	p("  look-ups, `UsersBy…` queries, token overhead, `UpdateUser` and `Open`; the other benchmarks\n")
	p("  start from an empty directory.")
	if m.Users != 1_000_000 {
		p(" The targets are set for 1,000,000 users.")
	}
	p("\n")
	p("- **Runs:** %s per benchmark, medians of each metric.\n\n", runs)

	p("Reproduce (from the repository root):\n\n```sh\n%s\n```\n\n", m.Command)
	if m.GoTest != "" {
		p("which runs `%s`, then\n`go run ./internal/benchreport` on its output.\n\n", m.GoTest)
	}

	type line struct {
		row      row
		measured string
		v        verdict
	}
	var lines []line
	var nMeets, nMisses, nMissing, nTargets int
	for _, rw := range rows {
		measured, v := rw.Eval(r)
		lines = append(lines, line{rw, measured, v})
		if rw.Target == "—" {
			continue
		}
		nTargets++
		switch v {
		case meets:
			nMeets++
		case misses:
			nMisses++
		case notMeasured:
			nMissing++
		}
	}
	p("**%d of %d targets met", nMeets, nTargets)
	if nMisses > 0 {
		p(", %d missed", nMisses)
	}
	if nMissing > 0 {
		p(", %d not measured", nMissing)
	}
	p(".**\n\n")
	if len(r.Failed) > 0 {
		p("Failed (see the `go test` output): ")
		for i, f := range r.Failed {
			if i > 0 {
				p(", ")
			}
			p("%s", bench("", f))
		}
		p(".\n\n")
	}

	p("## Targets\n\n")
	p("| operation | what is measured | target | measured (median) | meets? |\n")
	p("|---|---|---|---|---|\n")
	for _, l := range lines {
		p("| %s | %s | %s | %s | %s |\n", l.row.Op, l.row.Measures, l.row.Target, l.measured, l.v)
	}

	p("\n## All benchmarks (medians)\n\n")
	p("| benchmark | runs | ns/op | B/op | allocs/op | other |\n")
	p("|---|---|---|---|---|---|\n")
	for _, b := range r.Benchmarks {
		cell := func(unit string) string {
			if v, ok := b.Median(unit); ok {
				return metric(v, unit)
			}
			return ""
		}
		var other []string
		for _, u := range b.Units() {
			if u != "ns/op" && u != "B/op" && u != "allocs/op" {
				v, _ := b.Median(u)
				other = append(other, metric(v, u))
			}
		}
		p("| %s | %d | %s | %s | %s | %s |\n", bench(b.Pkg, b.Name), len(b.Runs),
			cell("ns/op"), cell("B/op"), cell("allocs/op"), strings.Join(other, ", "))
	}

	if notes := strings.TrimSpace(m.Notes); notes != "" {
		p("\n## Notes\n\n%s\n", notes)
	}
}
