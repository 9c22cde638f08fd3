package commonpw

import (
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIsCommon_RefusesCommonPasswords(t *testing.T) {
	for _, pw := range []string{
		"password1234", // a common password S3 must refuse
		"password",
		"123456789",
		"123456",
		"qwerty",
		"letmein",
	} {
		assert.Truef(t, IsCommon(pw), "%q should be common", pw)
	}
}

func TestIsCommon_AcceptsUncommonPasswords(t *testing.T) {
	for _, pw := range []string{
		"supersecurepwd", // the seed's example password must stay accepted
		"correct horse battery staple violet nebula 42",
		"",
		"password1234 ", // exact match only, no trimming
	} {
		assert.Falsef(t, IsCommon(pw), "%q should not be common", pw)
	}
}

func TestIsCommon_CaseInsensitive(t *testing.T) {
	assert.True(t, IsCommon("PassWord1234"))
	assert.True(t, IsCommon("PASSWORD"))
	assert.True(t, IsCommon("Password"))
	assert.True(t, IsCommon("QwErTy"))
	assert.False(t, IsCommon("SuperSecurePwd"))
}

func TestLen(t *testing.T) {
	n := Len()
	assert.GreaterOrEqual(t, n, 900)
	assert.LessOrEqual(t, n, 11000)
}

func TestCommonTxt_WellFormed(t *testing.T) {
	require.NotEmpty(t, commonTxt)
	require.True(t, strings.HasSuffix(commonTxt, "\n"), "file should end with a newline")
	lines := strings.Split(strings.TrimSuffix(commonTxt, "\n"), "\n")
	seen := make(map[string]int, len(lines))
	for i, line := range lines {
		n := i + 1
		require.NotEmptyf(t, line, "line %d is empty", n)
		require.Truef(t, utf8.ValidString(line), "line %d is not valid UTF-8", n)
		require.Equalf(t, strings.TrimSpace(line), line, "line %d has surrounding spaces", n)
		require.Equalf(t, strings.ToLower(line), line, "line %d is not lower-case", n)
		if prev, dup := seen[line]; dup {
			t.Fatalf("line %d duplicates line %d: %q", n, prev, line)
		}
		seen[line] = n
	}
	assert.Equal(t, len(lines), Len())
	assert.NotContains(t, seen, "supersecurepwd")
}

func TestIsCommon_Concurrent(t *testing.T) {
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.True(t, IsCommon("password1234"))
			assert.False(t, IsCommon("supersecurepwd"))
		}()
	}
	wg.Wait()
}
