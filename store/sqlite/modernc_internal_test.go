package sqlite

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// requireOf returns the version go.mod text gives module in a require line.
func requireOf(t *testing.T, gomod []byte, module string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s*(?:require\s+)?` + regexp.QuoteMeta(module) + `\s+(v\S+)`).FindSubmatch(gomod)
	require.NotNil(t, m, "%s not required", module)
	return string(m[1])
}

func TestLibcTableMatchesGoMod(t *testing.T) {
	// authcube's go.mod pairs modernc.org/sqlite with the libc libcFor names for it...
	gomod, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	require.NoError(t, err)
	sqliteV, libcV := requireOf(t, gomod, sqliteModule), requireOf(t, gomod, libcModule)
	want, ok := libcFor[sqliteV]
	require.True(t, ok, "libcFor has no entry for %s %s (go.mod): add the libc version its go.mod requires", sqliteModule, sqliteV)
	assert.Equal(t, want, libcV, "go.mod requires %s %s, libcFor says %s %s needs %s", libcModule, libcV, sqliteModule, sqliteV, want)

	// ...and that is the libc modernc.org/sqlite's own go.mod requires.
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	require.NoError(t, err)
	own, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "cache", "download", sqliteModule, "@v", sqliteV+".mod"))
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("%s %s's go.mod is not in the module cache", sqliteModule, sqliteV)
	}
	require.NoError(t, err)
	assert.Equal(t, want, requireOf(t, own, libcModule), "%s %s's go.mod", sqliteModule, sqliteV)
}

func TestCheckModernc(t *testing.T) {
	info := func(sqliteV, libcV string) *debug.BuildInfo {
		return &debug.BuildInfo{Deps: []*debug.Module{
			{Path: "golang.org/x/sys", Version: "v0.50.0"},
			{Path: libcModule, Version: libcV},
			{Path: sqliteModule, Version: sqliteV},
		}}
	}
	assert.NoError(t, checkModernc(info("v1.62.0", "v1.80.1")))

	err := checkModernc(info("v1.62.0", "v1.80.2"))
	require.ErrorIs(t, err, ErrLibcMismatch)
	assert.Contains(t, err.Error(), "modernc.org/sqlite v1.62.0 needs modernc.org/libc v1.80.1, this program links v1.80.2")
	err = checkModernc(info("v1.99.0", "v1.80.1"))
	require.ErrorIs(t, err, ErrLibcMismatch, "an unknown sqlite version cannot be vouched for")
	assert.Contains(t, err.Error(), "v1.99.0")

	// A replacement counts as its version.
	replaced := info("v1.62.0", "v1.80.1")
	replaced.Deps[1].Replace = &debug.Module{Path: libcModule, Version: "v1.79.0"}
	assert.ErrorIs(t, checkModernc(replaced), ErrLibcMismatch)

	// Nothing to compare: no build information (tests), a module missing, a local replacement.
	assert.NoError(t, checkModernc(nil))
	assert.NoError(t, checkModernc(&debug.BuildInfo{}))
	local := info("v1.62.0", "v1.80.1")
	local.Deps[1].Replace = &debug.Module{Path: "../libc"}
	assert.NoError(t, checkModernc(local))
}

func TestOpenRefusesALibcMismatch(t *testing.T) {
	// Not parallel: it swaps the package's check.
	saved := moderncOK
	defer func() { moderncOK = saved }()
	moderncOK = func() error {
		return checkModernc(&debug.BuildInfo{Deps: []*debug.Module{{Path: sqliteModule, Version: "v1.62.0"}, {Path: libcModule, Version: "v1.81.0"}}})
	}
	path := filepath.Join(t.TempDir(), "authcube.db")
	s, err := Open(t.Context(), path, Options{})
	if s != nil {
		s.Close()
	}
	require.ErrorIs(t, err, ErrLibcMismatch)
	_, statErr := os.Stat(path)
	assert.ErrorIs(t, statErr, os.ErrNotExist, "refused before the file is touched")
}
