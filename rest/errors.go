package rest

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"

	"github.com/authcube/authcube"
)

// The messages the SDK or its apps act on (connectycube-rest.md §2.4, §4.1).
const (
	// msgNoSession is the exact text that makes the SDK call on.sessionExpired and retry.
	msgNoSession = "Required session does not exist"
	// msgUnauthorized answers bad credentials.
	msgUnauthorized = "Unauthorized"
)

// apiError is an error of the facade itself (bad JSON, unknown route, a refused filter), with
// its status and the field at fault ("" means "base").
type apiError struct {
	status int
	field  string
	msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("rest: %d %s: %s", e.status, e.field, e.msg) }

// invalidField is a 422 naming field.
func invalidField(field, msg string) error {
	return &apiError{status: http.StatusUnprocessableEntity, field: field, msg: msg}
}

// errorBody is {"errors": {field: [message]}}, the shape the SDK and ConnectyCube apps read
// (they look at errors.base[0]).
func errorBody(field, msg string) map[string]any {
	if field == "" {
		field = "base"
	}
	return map[string]any{"errors": map[string][]string{field: {msg}}}
}

// fail answers err as JSON with the status connectycube-rest.md gives: 401 for a missing or dead
// session (with the body that drives the SDK's renewal), 401 for bad credentials, 403, 404,
// 422 naming the field, 429 with Retry-After, and 500 with a generic message (the cause is
// logged, never sent).
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		h.writeJSON(w, ae.status, errorBody(ae.field, ae.msg))
		return
	}
	var ce *authcube.Error
	if !errors.As(err, &ce) {
		ce = &authcube.Error{Code: authcube.CodeInternal, Err: err}
	}
	switch ce.Code {
	case authcube.CodeUnauthorized:
		h.writeJSON(w, http.StatusUnauthorized, errorBody("", msgNoSession))
	case authcube.CodeInvalidCredentials:
		if ce.Field == "old_password" {
			// A wrong old password is a validation error of the update (422 [MEM]), not a
			// failed sign-in of the session: a 401 here would read as a dead session.
			h.writeJSON(w, http.StatusUnprocessableEntity, errorBody("old_password", "is incorrect"))
			return
		}
		h.writeJSON(w, http.StatusUnauthorized, errorBody("", msgUnauthorized))
	case authcube.CodeForbidden:
		h.writeJSON(w, http.StatusForbidden, errorBody("", "Forbidden: "+ce.Message))
	case authcube.CodeUserDisabled:
		h.writeJSON(w, http.StatusForbidden, errorBody("", "Forbidden: "+ce.Message))
	case authcube.CodeNotFound:
		h.writeJSON(w, http.StatusNotFound, errorBody("", "Not Found"))
	case authcube.CodeConflict:
		msg := ce.Message
		if msg == "already taken" {
			msg = "has already been taken"
		}
		h.writeJSON(w, http.StatusUnprocessableEntity, errorBody(ce.Field, msg))
	case authcube.CodeInvalid:
		h.writeJSON(w, http.StatusUnprocessableEntity, errorBody(ce.Field, ce.Message))
	case authcube.CodeThrottled:
		secs := int64(math.Ceil(ce.RetryAfter.Seconds()))
		w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
		h.writeJSON(w, http.StatusTooManyRequests, errorBody("", ce.Message))
	case authcube.CodeClosed:
		h.writeJSON(w, http.StatusServiceUnavailable, errorBody("", "Service Unavailable"))
	default:
		// Only the path: the query of a download URL carries a token.
		attrs := []any{"method", r.Method, "path", r.URL.Path, "err", err}
		if ce.Err != nil && ce.Err != err {
			attrs = append(attrs, "cause", ce.Err)
		}
		h.log.Error("rest: internal error", attrs...)
		h.writeJSON(w, http.StatusInternalServerError, errorBody("", "Internal Server Error"))
	}
}
