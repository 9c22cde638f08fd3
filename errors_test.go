package authcube_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
)

// Error() shows the cause, as fs.PathError does, so that a log line or a command's output says
// what went wrong; Message stays the safe text for end users.
func TestErrorShowsCause(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "a-file")
	require.NoError(t, os.WriteFile(file, []byte("not a directory"), 0o600))
	_, err := authcube.Open(ctx, authcube.Config{Dir: file})
	require.Error(t, err)
	var ae *authcube.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, authcube.CodeInternal, ae.Code)
	assert.Equal(t, "internal error", ae.Message, "the end user's text has no cause")
	require.NotNil(t, ae.Err)
	assert.ErrorIs(t, err, syscall.ENOTDIR)
	assert.True(t, strings.HasPrefix(err.Error(), "authcube: open: internal error: "), err.Error())
	assert.True(t, strings.HasSuffix(err.Error(), ae.Err.Error()), "Error() ends with the cause: %v", err)
	assert.Contains(t, err.Error(), "not a directory")

	// Without a cause, nothing is added.
	plain := &authcube.Error{Code: authcube.CodeInvalid, Op: "sign up", Field: "login", Message: "is required"}
	assert.Equal(t, "authcube: sign up: login: is required", plain.Error())
	wrapped := &authcube.Error{Code: authcube.CodeInternal, Op: "x", Message: "internal error", Err: errors.New("disk full")}
	assert.Equal(t, "authcube: x: internal error: disk full", wrapped.Error())
}
