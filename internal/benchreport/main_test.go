package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fixture is real-looking output of scripts/bench.sh with -count 3: two packages, sub-benchmark
// names with spaces turned into underscores, -2 GOMAXPROCS suffixes, custom metrics, a result
// line split by what a benchmark printed, and a failed benchmark.
const fixture = `goos: linux
goarch: amd64
pkg: github.com/authcube/authcube
cpu: AMD EPYC 7B13
BenchmarkCreateSession-2        	   46522	     43006 ns/op	     23253 ops/s	    1862 B/op	      28 allocs/op
BenchmarkCreateSession-2        	   51339	     39712 ns/op	     25181 ops/s	    1859 B/op	      28 allocs/op
BenchmarkCreateSession-2        	   49021	     41088 ns/op	     24338 ops/s	    1860 B/op	      28 allocs/op
BenchmarkSession/serial-2       	 2871422	       412.3 ns/op	      64 B/op	       1 allocs/op
BenchmarkSession/serial-2       	 2912311	       409.9 ns/op	      64 B/op	       1 allocs/op
BenchmarkSession/serial-2       	 2899102	       418.0 ns/op	      64 B/op	       1 allocs/op
BenchmarkSession/parallel64-2   	 1876543	       640.1 ns/op	   1562256 ops/s	      64 B/op	       1 allocs/op
BenchmarkSession/parallel64-2   	 1799811	       655.7 ns/op	   1525087 ops/s	      64 B/op	       1 allocs/op
BenchmarkSession/parallel64-2   	 1823456	       601.0 ns/op	   1663893 ops/s	      64 B/op	       3 allocs/op
BenchmarkUser-2                 	  180321	      6712 ns/op	    2315 B/op	      61 allocs/op
BenchmarkUser-2                 	  177002	      6650 ns/op	    2315 B/op	      61 allocs/op
BenchmarkUser-2                 	  181995	      6801 ns/op	    2315 B/op	      61 allocs/op
BenchmarkUsersByTags/first_page-2         	    8124	    142001 ns/op	   95080 B/op	    1822 allocs/op
BenchmarkUsersByTags/first_page-2         	    8301	    139877 ns/op	   95080 B/op	    1822 allocs/op
BenchmarkUsersByTags/first_page-2         	    8019	    160311 ns/op	   95080 B/op	    1822 allocs/op
BenchmarkUsersByTags/page_200_by_cursor-2 	   10302	    111776 ns/op	   15096 B/op	     303 allocs/op
BenchmarkUsersByTags/two_tags_first_page-2         	     280	   4359052 ns/op	   96376 B/op	    1755 allocs/op
BenchmarkUserBy/external_id-2      	  160020	      7321 ns/op	    2400 B/op	      63 allocs/op
BenchmarkUserBy/login-2            	  170020	      7011 ns/op	    2400 B/op	      63 allocs/op
BenchmarkSignIn-2                  	      22	  52345678 ns/op	  48728878 verify-ns/op	         1.074 x-verify	20012345 B/op	     410 allocs/op
BenchmarkSignUp-2                  	  	    seed: building 1000000 users
      21	  56000000 ns/op	  55368805 hash-ns/op	    631195 over-hash-ns/op	20112345 B/op	     512 allocs/op
BenchmarkDiskSync/after_idle-2     	      48	  20468877 ns/op	    452000 sync-ns/op
BenchmarkSignInBurst-2             	       1	2348786850 ns/op	        76.04 peak-heap-MiB	        21.29 signins/s	996562184 B/op	    7750 allocs/op
BenchmarkUploadFile-2              	     300	   4013589 ns/op	 261.26 MB/s	   42784 B/op	     240 allocs/op
--- FAIL: BenchmarkOpen-2
    bench_test.go:371: open: locked
--- FAIL: BenchmarkUserBy/phone
    bench_test.go:318: not found
--- FAIL: BenchmarkUserBy
BenchmarkArgon2/hash-2             	      22	  55368805 ns/op	19925088 B/op	      23 allocs/op
BenchmarkArgon2/verify-2           	      24	  48728878 ns/op	19925088 B/op	      23 allocs/op
BenchmarkSessionCacheMemory-2      	      56	  21242749 ns/op	       237.0 bytes/session	 1486472 B/op	   31802 allocs/op
FAIL
exit status 1
FAIL	github.com/authcube/authcube	812.345s
goos: linux
goarch: amd64
pkg: github.com/authcube/authcube/authtest
cpu: AMD EPYC 7B13
BenchmarkNew-2   	    1534	    801234 ns/op	  412345 B/op	    2345 allocs/op
BenchmarkNew-2   	    1534	    799000 ns/op	  412345 B/op	    2345 allocs/op
PASS
ok  	github.com/authcube/authcube/authtest	4.567s
`

func parsed(t *testing.T) *Results {
	t.Helper()
	r, err := parse(strings.NewReader(fixture))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestParse(t *testing.T) {
	r := parsed(t)
	if r.GOOS != "linux" || r.GOARCH != "amd64" || r.CPU != "AMD EPYC 7B13" {
		t.Errorf("header: %q %q %q", r.GOOS, r.GOARCH, r.CPU)
	}
	var names []string
	for _, b := range r.Benchmarks {
		names = append(names, b.Name)
	}
	want := []string{
		"BenchmarkCreateSession", "BenchmarkSession/serial", "BenchmarkSession/parallel64", "BenchmarkUser",
		"BenchmarkUsersByTags/first_page", "BenchmarkUsersByTags/page_200_by_cursor",
		"BenchmarkUsersByTags/two_tags_first_page", "BenchmarkUserBy/external_id", "BenchmarkUserBy/login",
		"BenchmarkSignIn", "BenchmarkSignUp", "BenchmarkDiskSync/after_idle", "BenchmarkSignInBurst", "BenchmarkUploadFile",
		"BenchmarkArgon2/hash", "BenchmarkArgon2/verify", "BenchmarkSessionCacheMemory", "BenchmarkNew",
	}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("benchmarks:\n got %v\nwant %v", names, want)
	}

	cs := r.Find(rootPkg, "BenchmarkCreateSession")
	if cs == nil || len(cs.Runs) != 3 || cs.Procs != 2 || cs.Pkg != rootPkg {
		t.Fatalf("BenchmarkCreateSession: %+v", cs)
	}
	if got := cs.Runs[1]; got["ns/op"] != 39712 || got["ops/s"] != 25181 || got["B/op"] != 1859 ||
		got["allocs/op"] != 28 {
		t.Errorf("second run: %v", got)
	}
	if b := r.Find(rootPkg, "BenchmarkSession/serial"); b.Runs[0]["ns/op"] != 412.3 {
		t.Errorf("fractional ns/op: %v", b.Runs[0])
	}
	if b := r.Find(rootPkg, "BenchmarkSignUp"); b == nil || b.Runs[0]["ns/op"] != 56e6 {
		t.Errorf("split line: %+v", b)
	}
	if b := r.Find(rootPkg, "BenchmarkUploadFile"); b.Runs[0]["MB/s"] != 261.26 {
		t.Errorf("MB/s: %v", b.Runs[0])
	}
	if b := r.Find(rootPkg, "BenchmarkOpen"); b != nil {
		t.Errorf("failed benchmark parsed: %+v", b)
	}
	if strings.Join(r.Failed, " ") != "BenchmarkOpen BenchmarkUserBy/phone" {
		t.Errorf("failed: %v", r.Failed)
	}
	if r.Find(rootPkg, "BenchmarkNew") != nil || r.Find(authtestPkg, "BenchmarkNew") == nil {
		t.Error("BenchmarkNew is in package authtest only")
	}
	if got := r.Find(authtestPkg, "BenchmarkNew").Units(); strings.Join(got, " ") != "ns/op B/op allocs/op" {
		t.Errorf("units: %v", got)
	}
}

func TestParseNoSuffix(t *testing.T) {
	// GOMAXPROCS=1: no suffix; a sub-benchmark name of its own with a dash keeps it.
	r, err := parse(strings.NewReader("BenchmarkUser \t 100 \t 5000 ns/op\n" +
		"BenchmarkX/a-b-4 \t 100 \t 7 ns/op\nBenchmarkBroken-4 \t 100 \t x ns/op\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Benchmarks) != 2 || r.Benchmarks[0].Procs != 1 || r.Benchmarks[1].Name != "BenchmarkX/a-b" ||
		r.Benchmarks[1].Procs != 4 {
		t.Errorf("%+v %+v", r.Benchmarks[0], r.Benchmarks[1])
	}
	if b := r.Find("", "BenchmarkUser"); b == nil {
		t.Error("a benchmark without a pkg line is found from any package")
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
		ok   bool
	}{
		{nil, 0, false},
		{[]float64{3}, 3, true},
		{[]float64{5, 1, 3}, 3, true},
		{[]float64{4, 1, 3, 2}, 2.5, true},
		{[]float64{9, 1, 8, 2, 7}, 7, true},
	} {
		if got, ok := median(c.in); got != c.want || ok != c.ok {
			t.Errorf("median(%v) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
	r := parsed(t)
	for _, c := range []struct {
		name, unit string
		want       float64
	}{
		{"BenchmarkCreateSession", "ns/op", 41088},
		{"BenchmarkCreateSession", "ops/s", 24338},
		{"BenchmarkSession/parallel64", "ns/op", 640.1},
		{"BenchmarkSession/parallel64", "allocs/op", 1},
		{"BenchmarkUsersByTags/first_page", "ns/op", 142001},
	} {
		if got, ok := r.Find(rootPkg, c.name).Median(c.unit); !ok || got != c.want {
			t.Errorf("median %s %s = %v, %v; want %v", c.name, c.unit, got, ok, c.want)
		}
	}
	if _, ok := r.Find(rootPkg, "BenchmarkUser").Median("MB/s"); ok {
		t.Error("a metric never reported has no median")
	}
	if _, ok := r.Find(rootPkg, "BenchmarkMissing").Median("ns/op"); ok {
		t.Error("a missing benchmark has no median")
	}
}

func TestVerdicts(t *testing.T) {
	r := parsed(t)
	got := map[string]string{}
	for _, rw := range rows {
		m, v := rw.Eval(r)
		got[rw.Measures] = m + " => " + v.String()
	}
	for measures, want := range map[string]string{
		"`BenchmarkSession/parallel64` ns/op, allocs/op":                                      "640 ns/op, 1 allocs/op => yes",
		"`BenchmarkUser` ns/op":                                                               "6.71 µs => yes",
		"`BenchmarkUserBy/login` ns/op":                                                       "7.01 µs => yes",
		"`BenchmarkUserByEmail` ns/op":                                                        "not measured => —",
		"`BenchmarkUserBy/phone` ns/op":                                                       "not measured => —",
		"`BenchmarkUsersByTags/first_page` ns/op":                                             "142 µs => yes",
		"`BenchmarkUsersByTags/page_200_by_cursor` ns/op":                                     "112 µs => yes",
		"`BenchmarkUsersByTags/two_tags_first_page` ns/op":                                    "4.36 ms => yes",
		"`BenchmarkTokenOverhead/engine` − `BenchmarkTokenOverhead/store` ns/op":              "not measured => —",
		"`BenchmarkSignIn` x-verify (each sign-in against a verify interleaved with it)":      "1.07 × (SignIn 52.3 ms, verify 48.7 ms) => yes",
		"`BenchmarkSignUp` over-hash-ns/op (each sign-up against a hash interleaved with it)": "hash + 631 µs (SignUp 56 ms, hash 55.4 ms); the disk's commit after idleness alone: 452 µs => **no**",
		"`BenchmarkCreateSession` ops/s":                                                      "24,338 ops/s => yes",
		"`BenchmarkUpdateUser` ops/s":                                                         "not measured => —",
		"`BenchmarkSignInBurst` peak-heap-MiB":                                                "76 peak-heap-MiB => yes",
		"`BenchmarkOpen` ns/op":                                                               "not measured => —",
		"`BenchmarkSessionCacheMemory` bytes/session":                                         "237 bytes/session => yes",
		"`authtest.BenchmarkNew` ns/op":                                                       "800 µs => yes",
		"`BenchmarkUploadFile` MB/s, ns/op":                                                   "261 MB/s, 4.01 ms/op => —",
		"`BenchmarkOpenFile` MB/s, ns/op":                                                     "not measured => —",
		"`BenchmarkSession/serial` ns/op, allocs/op":                                          "412 ns/op, 1 allocs/op => —",
		"`BenchmarkUsersByFullName` ns/op":                                                    "not measured => —",
		"`BenchmarkUsersByIDs50` ns/op":                                                       "not measured => —",
		"`BenchmarkUserBy/external_id` ns/op":                                                 "7.32 µs => yes",
	} {
		if got[measures] != want {
			t.Errorf("%s: got %q, want %q", measures, got[measures], want)
		}
	}
	if len(got) != len(rows) {
		t.Errorf("%d rows share a description", len(rows)-len(got))
	}

	// Misses on every side of a limit.
	slow := strings.NewReplacer(
		"640.1 ns/op", "1640.1 ns/op", "655.7 ns/op", "1655.7 ns/op", // Session over 1 µs
		"23253 ops/s", "19000 ops/s", "25181 ops/s", "19500 ops/s", "24338 ops/s", "19999 ops/s",
		"76.04 peak-heap-MiB", "128.5 peak-heap-MiB",
		"237.0 bytes/session", "256.0 bytes/session", // exactly at the limit meets it
	).Replace(fixture)
	r, err := parse(strings.NewReader(slow))
	if err != nil {
		t.Fatal(err)
	}
	for _, rw := range rows {
		m, v := rw.Eval(r)
		want := map[string]verdict{
			"`BenchmarkSession/parallel64` ns/op, allocs/op": misses,
			"`BenchmarkCreateSession` ops/s":                 misses,
			"`BenchmarkSignInBurst` peak-heap-MiB":           misses,
			"`BenchmarkSessionCacheMemory` bytes/session":    meets,
		}
		if w, ok := want[rw.Measures]; ok && v != w {
			t.Errorf("%s: %s => %v, want %v", rw.Measures, m, v, w)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{dur(95.44), "95.4 ns"},
		{dur(812.3), "812 ns"},
		{dur(1000), "1 µs"},
		{dur(6712), "6.71 µs"},
		{dur(142001), "142 µs"},
		{dur(4359052), "4.36 ms"},
		{dur(100e6), "100 ms"},
		{dur(2348786850), "2.35 s"},
		{dur(-250e3), "-250 µs"},
		{count(1234567.4), "1,234,567"},
		{count(999), "999"},
		{count(-20000), "-20,000"},
		{metric(24338.2, "ops/s"), "24,338 ops/s"},
		{metric(261.26, "MB/s"), "261 MB/s"},
		{metric(19925088, "B/op"), "19,925,088 B/op"},
		{sig(0.5), "0.5"},
		{sig(0), "0"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestRender(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "bench.txt")
	out := filepath.Join(dir, "BENCHMARKS.md")
	notes := filepath.Join(dir, "notes.md")
	if err := os.WriteFile(in, []byte(fixture), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(notes, []byte("SignUp misses: see cpu.prof.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run(in, out, notes, meta{
		Go: "go1.26.8", NumCPU: 2, Date: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC), Users: 1_000_000,
		Command: "scripts/bench.sh", GoTest: "go test -run '^$' -bench . -benchmem -count 3 . ./authtest/",
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	for _, want := range []string{
		"# authcube benchmarks",
		"AMD EPYC 7B13; 2 CPUs (runtime.NumCPU), GOMAXPROCS 2; linux/amd64",
		"**Go:** go1.26.8",
		"**Date:** 2026-03-04 05:06 UTC",
		"1,000,000 seeded users",
		"start from an empty directory.\n",
		"Failed (see the `go test` output): `BenchmarkOpen`, `BenchmarkUserBy/phone`.",
		"**Runs:** 1 to 3 per benchmark",
		"```sh\nscripts/bench.sh\n```",
		"which runs `go test -run '^$' -bench . -benchmem -count 3 . ./authtest/`",
		"**12 of 24 targets met, 1 missed, 11 not measured.**",
		"| operation | what is measured | target | measured (median) | meets? |",
		"| `UsersByIDs` of 50 | `BenchmarkUsersByIDs50` ns/op | ≤ 200 µs | not measured | — |",
		"| `User` by id | `BenchmarkUser` ns/op | ≤ 10 µs | 6.71 µs | yes |",
		"| `authtest.BenchmarkNew` | 2 | 800 µs/op | 412,345 B/op | 2,345 allocs/op |  |",
		"| `BenchmarkSignInBurst` | 1 | 2.35 s/op | 996,562,184 B/op | 7,750 allocs/op | 76 peak-heap-MiB, 21.3 signins/s |",
		"## Notes\n\nSignUp misses: see cpu.prof.\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}

	one := filepath.Join(dir, "one.txt")
	os.WriteFile(one, []byte("BenchmarkUser-2 \t 100 \t 5000 ns/op\n"), 0o600)
	if err := run(one, out, "", meta{Users: 10_000, Command: "scripts/bench.sh"}); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(out)
	for _, want := range []string{
		"the median of 1 run of each benchmark",
		"10,000 seeded users",
		"The targets are set for 1,000,000 users.",
		"**1 of 24 targets met, 23 not measured.**",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("report lacks %q:\n%s", want, b)
		}
	}

	if err := run(filepath.Join(dir, "missing.txt"), out, "", meta{}); err == nil {
		t.Error("no error for a missing input")
	}
	empty := filepath.Join(dir, "empty.txt")
	os.WriteFile(empty, []byte("PASS\nok  \tx\t0.1s\n"), 0o600)
	if err := run(empty, out, "", meta{}); err == nil || !strings.Contains(err.Error(), "no benchmark results") {
		t.Errorf("empty input: %v", err)
	}
}

// The S3 rows compare the engine with raw minio-go from the same benchmark line.
func TestS3RowsAgainstRaw(t *testing.T) {
	out := "pkg: github.com/authcube/authcube/blob/s3\n" +
		"BenchmarkS3UploadFile/64MiB-2  5  0 ns/op  60.13 engine-MB/s  62.61 raw-MB/s  56.60 store-MB/s  0.9040 store-x-raw  0.9605 x-raw\n" +
		"BenchmarkS3OpenFile/1MiB-2  5  0 ns/op  776.1 engine-MB/s  1000 raw-MB/s  0.7761 x-raw\n"
	r, err := parse(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, rw := range rows {
		m, v := rw.Eval(r)
		got[rw.Op] = m + " => " + v.String()
	}
	for op, want := range map[string]string{
		"`UploadFile` of 64 MiB to S3 (loopback gofakes3)": "0.96 × (engine 60.1 MB/s, raw 62.6 MB/s; blob/s3 alone 0.90 ×) => yes",
		"`OpenFile` of 1 MiB from S3, read whole":          "0.78 × (engine 776 MB/s, raw 1,000 MB/s) => **no**",
		"`UploadFile` of 1 MiB to S3 (loopback gofakes3)":  "not measured => —",
	} {
		if got[op] != want {
			t.Errorf("%s: got %q, want %q", op, got[op], want)
		}
	}
}
