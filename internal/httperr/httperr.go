// Package httperr maps authcube errors to HTTP: the status of every error code, Retry-After
// for throttling, and RFC 9457 problem details. rest and httpauth share it, so an error means
// the same status on every HTTP surface authcube offers.
package httperr

import (
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/authcube/authcube"
)

// Status returns the HTTP status for err: 200 for nil; 401 for ErrUnauthorized (no live
// session) and ErrInvalidCredentials (a failed sign-in), except a wrong old password, which is
// 422 naming old_password since the session is fine; 403 ErrForbidden; 404 ErrNotFound; 422
// ErrInvalid and ErrConflict (a taken login is a form error the user corrects); 429
// ErrThrottled; 503 ErrClosed and ErrLocked; 500 for anything else, including errors that are
// not *authcube.Error.
func Status(err error) int {
	if err == nil {
		return http.StatusOK
	}
	var ce *authcube.Error
	if !errors.As(err, &ce) {
		return http.StatusInternalServerError
	}
	switch ce.Code {
	case authcube.CodeUnauthorized, authcube.CodeSecondFactorRequired:
		return http.StatusUnauthorized
	case authcube.CodeInvalidCredentials:
		if ce.Field == "old_password" {
			return http.StatusUnprocessableEntity
		}
		return http.StatusUnauthorized
	case authcube.CodeForbidden, authcube.CodeUserDisabled, authcube.CodeEmailNotVerified:
		return http.StatusForbidden
	case authcube.CodeNotFound:
		return http.StatusNotFound
	case authcube.CodeConflict, authcube.CodeInvalid:
		return http.StatusUnprocessableEntity
	case authcube.CodeThrottled:
		return http.StatusTooManyRequests
	case authcube.CodeClosed, authcube.CodeLocked:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// RetryAfter returns the Retry-After value (whole seconds, rounded up, at least 1) of a
// throttling error, and false for any other error.
func RetryAfter(err error) (string, bool) {
	var ce *authcube.Error
	if !errors.As(err, &ce) || ce.Code != authcube.CodeThrottled {
		return "", false
	}
	secs := int64(math.Ceil(ce.RetryAfter.Seconds()))
	return strconv.FormatInt(max(secs, 1), 10), true
}

// Problem is an RFC 9457 problem details object with authcube's extension members: the error
// code and the field at fault.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	Code   string `json:"code,omitempty"`
	Field  string `json:"field,omitempty"`
}

// ProblemFor returns the problem details of err. Detail is the error's safe message; internal
// errors get a generic one, since their causes are for logs only.
func ProblemFor(err error) Problem {
	status := Status(err)
	p := Problem{Type: "about:blank", Title: http.StatusText(status), Status: status}
	var ce *authcube.Error
	if !errors.As(err, &ce) || status == http.StatusInternalServerError {
		p.Code = string(authcube.CodeInternal)
		p.Detail = "internal error"
		return p
	}
	p.Code, p.Field, p.Detail = string(ce.Code), ce.Field, ce.Message
	return p
}

// Write answers err as application/problem+json with its status and, when throttled,
// Retry-After. Internal errors are logged to log (nil means not logged) with the request's
// method and path, never its query, which may carry a token.
func Write(w http.ResponseWriter, r *http.Request, err error, log *slog.Logger) {
	p := ProblemFor(err)
	if p.Status == http.StatusInternalServerError && log != nil {
		log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if ra, ok := RetryAfter(err); ok {
		w.Header().Set("Retry-After", ra)
	}
	WriteProblem(w, p)
}

// WriteProblem answers p as application/problem+json, never cached.
func WriteProblem(w http.ResponseWriter, p Problem) {
	b, _ := json.Marshal(p) // strings and an int: cannot fail
	hd := w.Header()
	hd.Set("Content-Type", "application/problem+json")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_, _ = w.Write(append(b, '\n'))
}
