package main

import (
	"strings"
	"testing"
)

func TestSplicePG(t *testing.T) {
	sec := "## PostgreSQL\n\nnew\n\n"
	cases := []struct{ in, want string }{
		{"# r\n\n## Targets\n\nx\n\n## Notes\n\nn\n", "# r\n\n## Targets\n\nx\n\n" + sec + "## Notes\n\nn\n"},
		{"# r\n\n## PostgreSQL\n\nold\n\n## Notes\n\nn\n", "# r\n\n" + sec + "## Notes\n\nn\n"},
		{"# r\n\n## PostgreSQL\n\nold\n", "# r\n\n" + sec},
		{"# r\n", "# r\n\n" + sec},
	}
	for _, c := range cases {
		if got := splicePG(c.in, sec); got != c.want {
			t.Errorf("splicePG(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestRenderPG(t *testing.T) {
	raw := `pkg: github.com/authcube/authcube/store/postgres
BenchmarkPGSession-2 1000 300 ns/op 1 allocs/op
BenchmarkPGUser-2 1000 60000 ns/op 50000 raw-ns/op 1.2 x-raw
BenchmarkPGCreateSession-2 100 1000 ns/op 0.9 of-raw 900 ops/s 1000 raw-ops/s
BenchmarkPGCreateSession-2 100 1000 ns/op 0.95 of-raw 95 ops/s 100 raw-ops/s
BenchmarkPGCreateSession-2 100 1000 ns/op 0.5 of-raw 500 ops/s 1000 raw-ops/s
BenchmarkPGUpdateUser-2 100 1000 ns/op 0.74 of-raw 740 ops/s 1000 raw-ops/s
BenchmarkPGRevocation-2 1 0 ns/op 500000 p50-ns 3000000 p99-ns
BenchmarkPGUsersByTags-2 1000 900000 ns/op 400000 raw-ns/op 2.25 x-raw
`
	r, err := parse(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	renderPG(&sb, r, meta{Users: 100_000})
	out := sb.String()
	for _, want := range []string{"| 300 ns | yes |", "1.2× (60 µs vs 50 µs) | yes |", "90% (900 ops/s vs 1,000 ops/s) | yes |", "74% (740 ops/s vs 1,000 ops/s) | **no** |", "p50 500 µs, p99 3 ms | yes |", "fewer",
		"| 900 µs (2.25× the raw page, 400 µs) | — |"} {
		if !strings.Contains(out, want) {
			t.Errorf("the section lacks %q:\n%s", want, out)
		}
	}
}
