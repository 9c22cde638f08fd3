package httperr

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
)

func TestStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 200},
		{authcube.ErrUnauthorized, 401},
		{&authcube.Error{Code: authcube.CodeInvalidCredentials}, 401},
		{&authcube.Error{Code: authcube.CodeInvalidCredentials, Field: "old_password"}, 422},
		{authcube.ErrForbidden, 403},
		{authcube.ErrUserDisabled, 403},
		{authcube.ErrNotFound, 404},
		{&authcube.Error{Code: authcube.CodeConflict, Field: "login"}, 422},
		{authcube.ErrInvalid, 422},
		{authcube.ErrThrottled, 429},
		{authcube.ErrClosed, 503},
		{authcube.ErrLocked, 503},
		{errors.New("disk on fire"), 500},
		{fmt.Errorf("wrapped: %w", &authcube.Error{Code: authcube.CodeNotFound}), 404},
	} {
		assert.Equal(t, tc.want, Status(tc.err), "%v", tc.err)
	}
}

func TestWrite(t *testing.T) {
	t.Parallel()
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/signin?token=secret", nil)
	Write(w, r, &authcube.Error{Code: authcube.CodeThrottled, Message: "too many attempts", RetryAfter: 1500 * time.Millisecond}, nil)
	require.Equal(t, http.StatusTooManyRequests, w.Code)
	assert.Equal(t, "2", w.Header().Get("Retry-After"))
	assert.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
	var p Problem
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &p))
	assert.Equal(t, Problem{Type: "about:blank", Title: "Too Many Requests", Status: 429, Detail: "too many attempts", Code: "throttled"}, p)

	w = httptest.NewRecorder()
	Write(w, r, errors.New("cause with a secret"), nil)
	require.Equal(t, 500, w.Code)
	assert.NotContains(t, w.Body.String(), "secret")
	assert.Empty(t, w.Header().Get("Retry-After"))
}
