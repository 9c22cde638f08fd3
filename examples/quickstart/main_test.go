package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// The quickstart runs, and runs again on the same directory.
func TestQuickstartRunsTwice(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "authcube-data")
	require.NoError(t, run(context.Background(), dir))
	require.NoError(t, run(context.Background(), dir))
}
