package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/authcube/authcube"
)

// object is a JSON object whose members are decoded on demand, so each field may be given as
// the SDK or an app sends it (a string or a number, say).
type object map[string]json.RawMessage

// has reports whether the member is present (null counts as present).
func (o object) has(name string) bool {
	_, ok := o[name]
	return ok
}

// text returns a member as text: a string as is, a number or boolean as written, null or
// absence as "". Objects and arrays are refused (422 naming the member).
func (o object) text(name string) (string, error) {
	raw, ok := o[name]
	if !ok {
		return "", nil
	}
	var v any
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return "", invalidField(name, "is not valid JSON")
	}
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case bool:
		return strconv.FormatBool(v), nil
	}
	return "", invalidField(name, "must be a string")
}

// obj returns a member that is an object; absent or null gives nil.
func (o object) obj(name string) (object, error) {
	raw, ok := o[name]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var v object
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, invalidField(name, "must be an object")
	}
	return v, nil
}

// truthy reports whether a member is present and not null, false, 0, "" or "0".
func (o object) truthy(name string) bool {
	s, err := o.text(name)
	if err != nil {
		return o.has(name)
	}
	return s != "" && s != "false" && s != "0"
}

// timeFormat is ConnectyCube's: ISO-8601 UTC to the second ("2018-06-15T14:20:54Z").
const timeFormat = "2006-01-02T15:04:05Z"

// writeJSON answers v as JSON. API answers are never cached: they carry tokens and profiles.
func (h *handler) writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		h.log.Error("rest: encoding a response", "err", err)
		status, b = http.StatusInternalServerError, []byte(`{"errors":{"base":["Internal Server Error"]}}`)
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/json; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeEmpty answers 200 with an empty body: the SDK reads these calls as text (destroySession,
// logout, users.delete, resetPassword, blob complete and delete), and any 2xx resolves them.
func writeEmpty(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// decodeBody reads a JSON body of at most MaxBodyBytes into v, whatever the Content-Type says
// (the SDK sends "application/json;charset=utf-8", and a form type on bodiless calls). An empty
// body leaves v as it is.
func (h *handler) decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	if r.Body == nil {
		return nil
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return &apiError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("request body is larger than %d bytes", h.cfg.MaxBodyBytes)}
	case err != nil:
		return &apiError{status: http.StatusBadRequest, msg: "could not read the request body"}
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return &apiError{status: http.StatusBadRequest, msg: "request body is not valid JSON"}
	}
	return nil
}

// bodyObject reads the request body as {key: {...}}; a bare object (without key) is accepted
// too, as ConnectyCube's SDKs send either.
func (h *handler) bodyObject(w http.ResponseWriter, r *http.Request, key string) (object, error) {
	var body object
	if err := h.decodeBody(w, r, &body); err != nil {
		return nil, err
	}
	if !body.has(key) {
		return body, nil
	}
	return body.obj(key)
}

// nullString is a JSON string that is null when empty, and left out (with omitzero) when
// hidden.
type nullString struct {
	s    string
	hide bool
}

func str(s string) nullString { return nullString{s: s} }

func (n nullString) IsZero() bool { return n.hide }

func (n nullString) MarshalJSON() ([]byte, error) {
	if n.s == "" {
		return []byte("null"), nil
	}
	return json.Marshal(n.s)
}

// nullTime is a time in timeFormat, or null when zero.
type nullTime time.Time

func (t nullTime) MarshalJSON() ([]byte, error) {
	if time.Time(t).IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + time.Time(t).UTC().Format(timeFormat) + `"`), nil
}

// userOut is a user with the field names of the SDK's User type.
type userOut struct {
	ID             int64      `json:"id"`
	FullName       nullString `json:"full_name"`
	Email          nullString `json:"email,omitzero"`
	Login          nullString `json:"login"`
	Phone          nullString `json:"phone,omitzero"`
	Website        nullString `json:"website"`
	CreatedAt      nullTime   `json:"created_at"`
	UpdatedAt      nullTime   `json:"updated_at"`
	LastRequestAt  nullTime   `json:"last_request_at"`
	ExternalUserID *int64     `json:"external_user_id"`
	ExternalID     nullString `json:"external_id"`
	FacebookID     *string    `json:"facebook_id"`
	TwitterID      *string    `json:"twitter_id"`
	CustomData     nullString `json:"custom_data"`
	BlobID         *int64     `json:"blob_id"`
	Avatar         nullString `json:"avatar"`
	UserTags       nullString `json:"user_tags"`
	Timezone       *int       `json:"timezone"`
}

// user encodes u for a viewer (the session's user id, 0 for an application session): other
// users' email and phone are left out unless FullUserData is set.
func (h *handler) user(u authcube.User, viewer int64) userOut {
	hide := !h.cfg.FullUserData && u.ID != viewer
	out := userOut{
		ID: u.ID, FullName: str(u.FullName), Login: str(u.Login), Website: str(u.Website),
		Email: nullString{s: u.Email, hide: hide}, Phone: nullString{s: u.Phone, hide: hide},
		CreatedAt: nullTime(u.CreatedAt), UpdatedAt: nullTime(u.UpdatedAt), LastRequestAt: nullTime(u.LastRequestAt),
		ExternalID: str(u.ExternalID), CustomData: str(u.CustomData), Avatar: str(u.AvatarUID),
		UserTags: str(strings.Join(u.Tags, ",")),
	}
	// ConnectyCube's external_user_id is a number; authcube keeps one external id as text.
	if n, err := strconv.ParseInt(u.ExternalID, 10, 64); err == nil && isID(u.ExternalID) && n <= 1<<53 {
		out.ExternalUserID = &n
	}
	return out
}

// userBody is {"user": {...}}.
func (h *handler) userBody(u authcube.User, viewer int64) map[string]any {
	return map[string]any{"user": h.user(u, viewer)}
}

// legacyUsers is the paged list of the legacy look-ups, items wrapped as {"user": {...}}
// (the QuickBlox-era shape apps read as item.user).
func (h *handler) legacyUsers(p authcube.UserPage, page int, viewer int64) map[string]any {
	items := make([]map[string]any, len(p.Users))
	for i, u := range p.Users {
		items[i] = h.userBody(u, viewer)
	}
	return map[string]any{"current_page": page, "per_page": p.PerPage, "total_entries": p.Total, "items": items}
}

// v2Users is the paged list of /users/v2.json: flat items.
func (h *handler) v2Users(p authcube.UserPage, offset int, viewer int64) map[string]any {
	items := make([]userOut, len(p.Users))
	for i, u := range p.Users {
		items[i] = h.user(u, viewer)
	}
	return map[string]any{"limit": p.PerPage, "skip": offset, "total_entries": p.Total, "items": items}
}

// sessionOut is a session with the field names of the SDK's Session type.
type sessionOut struct {
	ID            int64    `json:"id"`
	UUID          string   `json:"_id"`
	ApplicationID int64    `json:"application_id"`
	UserID        int64    `json:"user_id"`
	Token         string   `json:"token"`
	Nonce         int64    `json:"nonce"`
	TS            int64    `json:"ts"`
	CreatedAt     nullTime `json:"created_at"`
	UpdatedAt     nullTime `json:"updated_at"`
}

// sessionBody is {"session": {...}}. The numeric id is derived from the session's UUID (52
// bits, exact in JavaScript); the SDK reads only token and user_id.
func sessionBody(s authcube.Session, nonce int64) map[string]any {
	hexID := strings.ReplaceAll(s.ID, "-", "")
	var id int64
	if len(hexID) >= 13 {
		id, _ = strconv.ParseInt(hexID[:13], 16, 64)
	}
	return map[string]any{"session": sessionOut{
		ID: id, UUID: s.ID, ApplicationID: s.AppID, UserID: s.UserID, Token: s.Token, Nonce: nonce,
		TS: s.CreatedAt.Unix(), CreatedAt: nullTime(s.CreatedAt), UpdatedAt: nullTime(s.UpdatedAt),
	}}
}

// blobOut is a file with the field names of the SDK's Blob type.
type blobOut struct {
	ID               int64         `json:"id"`
	UID              string        `json:"uid"`
	ContentType      nullString    `json:"content_type"`
	Name             string        `json:"name"`
	Size             *int64        `json:"size"`
	Public           bool          `json:"public"`
	BlobStatus       nullString    `json:"blob_status"`
	SetCompletedAt   nullTime      `json:"set_completed_at"`
	CreatedAt        nullTime      `json:"created_at"`
	UpdatedAt        nullTime      `json:"updated_at"`
	AccountID        int64         `json:"account_id"`
	AppID            int64         `json:"app_id"`
	BlobObjectAccess *objectAccess `json:"blob_object_access,omitempty"`
}

// objectAccess is a blob's upload ("Write") or download ("Read") grant: params is the URL.
type objectAccess struct {
	ID               int64  `json:"id"`
	BlobID           int64  `json:"blob_id"`
	Expires          string `json:"expires"`
	ObjectAccessType string `json:"object_access_type"`
	Params           string `json:"params"`
}

// blob encodes f. A pending file has no size, status or completion time yet.
func (h *handler) blob(f authcube.File) blobOut {
	out := blobOut{
		ID: f.ID, UID: f.UID, ContentType: str(f.ContentType), Name: f.Name, Public: f.Public,
		CreatedAt: nullTime(f.CreatedAt), UpdatedAt: nullTime(f.CreatedAt), AccountID: h.cfg.AppID, AppID: h.cfg.AppID,
	}
	if f.Complete {
		size := f.Size
		out.Size, out.BlobStatus, out.SetCompletedAt = &size, str("complete"), nullTime(f.CreatedAt)
	}
	return out
}

// blobBody is {"blob": {...}}.
func (h *handler) blobBody(f authcube.File) map[string]any { return map[string]any{"blob": h.blob(f)} }
