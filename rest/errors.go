package rest

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/internal/httperr"
)

// The messages the SDK or its apps act on.
const (
	// msgNoSession is the exact text that makes the SDK call on.sessionExpired and retry.
	msgNoSession = "Required session does not exist"
	// msgUnauthorized answers bad credentials.
	msgUnauthorized = "Unauthorized"
	// msgSecondFactor answers a right password of a user with a second factor (S39).
	msgSecondFactor = "Unauthorized: a second factor is required; sign in with an app that supports it"
)

// apiError is an error of the facade itself (bad JSON, unknown route, a refused filter), with
// its status, the field at fault ("" means "base"), and for a 405 the methods allowed.
type apiError struct {
	status int
	field  string
	msg    string
	allow  string
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

// fail answers err as JSON. The status is httperr's, shared with httpauth: 401 for a missing or
// dead session (with the body that drives the SDK's renewal) and for bad credentials, 422 for
// a wrong old password (the session is fine, so not a 401 the SDK would take for a dead one),
// 403, 404, 422 naming the field for invalid input and taken logins (as ConnectyCube answers),
// 429 with Retry-After, 503 when closed, and 500 with a generic message (the cause is logged,
// never sent).
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		if ae.allow != "" {
			w.Header().Set("Allow", ae.allow)
		}
		h.writeJSON(w, ae.status, errorBody(ae.field, ae.msg))
		return
	}
	status := httperr.Status(err)
	var ce *authcube.Error
	if !errors.As(err, &ce) {
		ce = &authcube.Error{Code: authcube.CodeInternal, Err: err}
	}
	if ra, ok := httperr.RetryAfter(err); ok {
		w.Header().Set("Retry-After", ra)
	}
	var field, msg string
	switch {
	case ce.Code == authcube.CodeUnauthorized:
		msg = msgNoSession
	case ce.Code == authcube.CodeInvalidCredentials && ce.Field == "old_password":
		field, msg = "old_password", "is incorrect"
	case ce.Code == authcube.CodeInvalidCredentials:
		msg = msgUnauthorized
	case ce.Code == authcube.CodeForbidden, ce.Code == authcube.CodeUserDisabled, ce.Code == authcube.CodeEmailNotVerified:
		msg = "Forbidden: " + ce.Message
	case ce.Code == authcube.CodeSecondFactorRequired:
		// ConnectyCube's SDKs know no second factor: a 401 that names it, never the challenge.
		msg = msgSecondFactor
	case ce.Code == authcube.CodeNotFound:
		msg = "Not Found"
	case ce.Code == authcube.CodeConflict && ce.Message == "already taken":
		field, msg = ce.Field, "has already been taken" // ConnectyCube's wording
	case ce.Code == authcube.CodeConflict, ce.Code == authcube.CodeInvalid:
		field, msg = ce.Field, ce.Message
	case ce.Code == authcube.CodeThrottled:
		msg = ce.Message
	case status == http.StatusServiceUnavailable:
		msg = "Service Unavailable"
	default:
		// Only the path: the query of a download URL carries a token.
		attrs := []any{"method", r.Method, "path", r.URL.Path, "err", err}
		if ce.Err != nil && ce.Err != err {
			attrs = append(attrs, "cause", ce.Err)
		}
		h.log.Error("rest: internal error", attrs...)
		status, msg = http.StatusInternalServerError, "Internal Server Error"
	}
	h.writeJSON(w, status, errorBody(field, msg))
}
