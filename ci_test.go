package authcube_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ciFuzzTargets parses .ci/run's fuzz calls, `fuzz DIR NAME` and loops of
// `for t in NAME...; do fuzz DIR "$t"; done`, into "DIR NAME" pairs (DIR without "./").
func ciFuzzTargets(script string) []string {
	forLoop := regexp.MustCompile(`^for (\w+) in ([^;]*); do$`)
	call := regexp.MustCompile(`^fuzz (\S+) (\S+)$`)
	var pairs, loop []string
	var loopVar string
	for line := range strings.Lines(script) {
		line = strings.TrimSpace(line)
		if m := forLoop.FindStringSubmatch(line); m != nil {
			loopVar, loop = m[1], strings.Fields(m[2])
			continue
		}
		if line == "done" {
			loopVar, loop = "", nil
			continue
		}
		m := call.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		dir := strings.TrimPrefix(filepath.Clean(m[1]), "./")
		if name := strings.Trim(m[2], `"`); loopVar != "" && (name == "$"+loopVar || name == "${"+loopVar+"}") {
			for _, n := range loop {
				pairs = append(pairs, dir+" "+n)
			}
		} else {
			pairs = append(pairs, dir+" "+name)
		}
	}
	return pairs
}

// R6: .ci/run fuzzes every Fuzz function of the repository, in the package that defines it, and
// names no target that does not exist.
func TestCIRunFuzzesEveryFuzzTarget(t *testing.T) {
	t.Parallel()
	script, err := os.ReadFile(".ci/run")
	require.NoError(t, err)
	ci := ciFuzzTargets(string(script))
	require.NotEmpty(t, ci, "no fuzz calls found in .ci/run")

	decl := regexp.MustCompile(`(?m)^func (Fuzz\w*)\(\w+ \*testing\.F\)`)
	var defined []string
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range decl.FindAllStringSubmatch(string(src), -1) {
			defined = append(defined, filepath.ToSlash(filepath.Dir(path))+" "+m[1])
		}
		return nil
	})
	require.NoError(t, err)
	require.NotEmpty(t, defined)

	for _, d := range defined {
		assert.Contains(t, ci, d, ".ci/run does not fuzz %s", d)
	}
	for _, c := range ci {
		assert.True(t, slices.Contains(defined, c), ".ci/run fuzzes %s, which no test file defines", c)
	}
}

func TestCIFuzzTargetsParser(t *testing.T) {
	t.Parallel()
	got := ciFuzzTargets(`fuzz() { go test -fuzz "^$2\$" "$1"; }
for t in FuzzA FuzzB; do
  fuzz ./internal/canon "$t"
done
fuzz ./store/sqlite FuzzC
fuzz . FuzzD
`)
	assert.Equal(t, []string{"internal/canon FuzzA", "internal/canon FuzzB", "store/sqlite FuzzC", ". FuzzD"}, got)
}
