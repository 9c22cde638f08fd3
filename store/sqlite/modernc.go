package sqlite

import (
	"errors"
	"fmt"
	"maps"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
)

// ErrLibcMismatch is returned by [Open] when the program links a modernc.org/libc other than
// the version its modernc.org/sqlite was generated against. SQLite's C code, translated to Go,
// calls libc with raw pointers and struct layouts of that exact libc version, so another
// version can corrupt memory; the fix is to require, in the program's go.mod, the libc version
// the error names.
var ErrLibcMismatch = errors.New("sqlite: modernc.org/libc is not the version modernc.org/sqlite needs")

// libcFor maps each modernc.org/sqlite version authcube knows to the modernc.org/libc version
// its go.mod requires. Update it with go.mod whenever modernc.org/sqlite changes
// (TestLibcTableMatchesGoMod fails until it is).
var libcFor = map[string]string{
	"v1.62.0": "v1.80.1",
}

// The module paths checkModernc looks for.
const (
	sqliteModule = "modernc.org/sqlite"
	libcModule   = "modernc.org/libc"
)

// moderncOK is the result of checking this program's own build information, once.
var moderncOK = sync.OnceValue(func() error {
	info, _ := debug.ReadBuildInfo()
	return checkModernc(info)
})

// checkModernc checks that info links the modernc.org/libc version its modernc.org/sqlite
// version requires (a module replaced by another version counts as that version). It returns
// an error wrapping [ErrLibcMismatch] for a mismatch, and for a modernc.org/sqlite version
// libcFor does not list, as the pairing cannot be vouched for.
//
// It checks nothing, and returns nil, when info is nil or lists neither module or gives no
// version for one: test binaries ("go test") and programs built without module information
// carry no dependency versions, and a module replaced by a local directory has none. For those
// the pairing rests on go.mod, which TestLibcTableMatchesGoMod checks for authcube itself.
func checkModernc(info *debug.BuildInfo) error {
	if info == nil {
		return nil
	}
	var sqliteV, libcV string
	for _, d := range info.Deps {
		v := d.Version
		if d.Replace != nil {
			v = d.Replace.Version
		}
		switch d.Path {
		case sqliteModule:
			sqliteV = v
		case libcModule:
			libcV = v
		}
	}
	if sqliteV == "" || libcV == "" {
		return nil
	}
	want, ok := libcFor[sqliteV]
	if !ok {
		return fmt.Errorf("%w: %s %s is not a version this authcube knows the libc of; use %s %s", ErrLibcMismatch, sqliteModule, sqliteV, sqliteModule, strings.Join(slices.Sorted(maps.Keys(libcFor)), " or "))
	}
	if libcV != want {
		return fmt.Errorf("%w: %s %s needs %s %s, this program links %s; require %s %s in go.mod", ErrLibcMismatch, sqliteModule, sqliteV, libcModule, want, libcV, libcModule, want)
	}
	return nil
}
