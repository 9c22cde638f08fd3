package rest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/authcube/authcube"
)

// userObject reads {"user": {...}}; a bare object is accepted too.
func (h *handler) userObject(w http.ResponseWriter, r *http.Request) (object, error) {
	return h.bodyObject(w, r, "user")
}

// tagList reads tag_list (or user_tags) as an array or a comma-joined string, as the SDK
// sends either; null
// clears. present is false when neither is given.
func tagList(u object) (tags []string, present bool, err error) {
	name := "tag_list"
	if !u.has(name) {
		if name = "user_tags"; !u.has(name) {
			return nil, false, nil
		}
	}
	raw := u[name]
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		item := object{}
		for _, v := range list {
			item[name] = v
			s, err := item.text(name)
			if err != nil {
				return nil, true, err
			}
			tags = append(tags, strings.TrimSpace(s))
		}
		return tags, true, nil
	}
	s, err := u.text(name)
	if err != nil {
		return nil, true, err
	}
	return listValues([]string{s}), true, nil
}

// customData reads custom_data: the SDK types it as a string; an object or array sent instead
// is kept as its JSON text.
func customData(u object) (string, error) {
	raw, ok := u["custom_data"]
	if !ok {
		return "", nil
	}
	if t := strings.TrimSpace(string(raw)); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
		return t, nil
	}
	return u.text("custom_data")
}

// externalID reads external_user_id (a number in ConnectyCube), else external_id; authcube
// keeps one external id as text.
func externalID(u object) (string, bool, error) {
	for _, name := range []string{"external_user_id", "external_id"} {
		if u.has(name) {
			s, err := u.text(name)
			return s, true, err
		}
	}
	return "", false, nil
}

// signUp serves POST /users.json. With CB-Token the session signs the user up; without one,
// CB-AuthKey (the public auth key) does, through a transient application session: the SDK
// sends CB-AuthKey instead of CB-Token when it has no session. The
// session is not signed in. facebook_id, twitter_id, blob_id, avatar and timezone are ignored:
// a new user owns no file yet, and authcube keeps no social ids.
func (h *handler) signUp(w http.ResponseWriter, r *http.Request) error {
	u, err := h.userObject(w, r)
	if err != nil {
		return err
	}
	var nu authcube.NewUser
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"login", &nu.Login}, {"email", &nu.Email}, {"password", &nu.Password},
		{"full_name", &nu.FullName}, {"phone", &nu.Phone}, {"website", &nu.Website},
	} {
		if *f.dst, err = u.text(f.name); err != nil {
			return err
		}
	}
	if nu.ExternalID, _, err = externalID(u); err == nil {
		if nu.CustomData, err = customData(u); err == nil {
			nu.Tags, _, err = tagList(u)
		}
	}
	if err != nil {
		return err
	}
	var created authcube.User
	signUp := func(tok string) error {
		var err error
		created, err = h.e.SignUp(r.Context(), tok, nu)
		return err
	}
	tok := token(r)
	if key := strings.TrimSpace(r.Header.Get("CB-AuthKey")); tok == "" && key != "" {
		if !h.authKeyOK(key) {
			return &apiError{status: http.StatusUnauthorized, msg: "Unknown application: CB-AuthKey is wrong"}
		}
		err = h.withAppSession(r.Context(), signUp)
	} else {
		err = signUp(tok)
	}
	if err != nil {
		return asWritten(err)
	}
	h.writeJSON(w, http.StatusCreated, h.userBody(created, created.ID))
	return nil
}

// asWritten names the field at fault as a user write's body does: the tags the engine calls
// user_tags (as queries and responses do) are tag_list there.
func asWritten(err error) error {
	var ce *authcube.Error
	if errors.As(err, &ce) && ce.Field == string(authcube.FieldTags) {
		c := *ce
		c.Field = "tag_list"
		return &c
	}
	return err
}

// ownUser checks that the id in the path (if any) is the session's own user: PUT and DELETE
// /users.json, which the SDK sends when it knows no current user id, mean the session's user.
func (h *handler) ownUser(ctx context.Context, tok, id string) error {
	s, err := h.e.Session(ctx, tok)
	if err != nil {
		return err
	}
	if id != "" && s.UserID != 0 && strconv.FormatInt(s.UserID, 10) != id {
		return &apiError{status: http.StatusForbidden, msg: "Forbidden: a user session may change only its own user"}
	}
	return nil
}

// updateUser serves PUT /users/{id}.json and PUT /users.json: the fields present change, null
// clears; password needs old_password. avatar takes a file UID; blob_id a file id, mapped onto
// the UID.
func (h *handler) updateUser(w http.ResponseWriter, r *http.Request, id string) error {
	ctx, tok := r.Context(), token(r)
	u, err := h.userObject(w, r)
	if err != nil {
		return err
	}
	if err := h.ownUser(ctx, tok, id); err != nil {
		return err
	}
	uu, err := h.userUpdate(ctx, tok, u)
	if err != nil {
		return err
	}
	updated, err := h.e.UpdateUser(ctx, tok, uu)
	if err != nil {
		return asWritten(err)
	}
	h.writeJSON(w, http.StatusOK, h.userBody(updated, updated.ID))
	return nil
}

// userUpdate maps the members of a user object onto a UserUpdate.
func (h *handler) userUpdate(ctx context.Context, tok string, u object) (authcube.UserUpdate, error) {
	var uu authcube.UserUpdate
	opt := func(name string, dst **string) error {
		if !u.has(name) {
			return nil
		}
		s, err := u.text(name)
		*dst = &s
		return err
	}
	for _, f := range []struct {
		name string
		dst  **string
	}{
		{"login", &uu.Login}, {"email", &uu.Email}, {"full_name", &uu.FullName}, {"phone", &uu.Phone},
		{"website", &uu.Website}, {"password", &uu.Password}, {"avatar", &uu.AvatarUID},
	} {
		if err := opt(f.name, f.dst); err != nil {
			return uu, err
		}
	}
	var err error
	if uu.OldPassword, err = u.text("old_password"); err != nil {
		return uu, err
	}
	if ext, ok, err := externalID(u); err != nil {
		return uu, err
	} else if ok {
		uu.ExternalID = &ext
	}
	if u.has("custom_data") {
		cd, err := customData(u)
		if err != nil {
			return uu, err
		}
		uu.CustomData = &cd
	}
	if tags, ok, err := tagList(u); err != nil {
		return uu, err
	} else if ok {
		uu.Tags = &tags
	}
	if uu.AvatarUID == nil && u.has("blob_id") {
		s, err := u.text("blob_id")
		if err != nil {
			return uu, err
		}
		uid := ""
		if s != "" && s != "0" {
			id, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return uu, invalidField("blob_id", "must be a file id")
			}
			f, err := h.e.FileByID(ctx, tok, id)
			if err != nil {
				return uu, err
			}
			uid = f.UID
		}
		uu.AvatarUID = &uid
	}
	return uu, nil
}

// deleteUser serves DELETE /users/{id}.json and DELETE /users.json.
func (h *handler) deleteUser(w http.ResponseWriter, r *http.Request, id string) error {
	ctx, tok := r.Context(), token(r)
	if err := h.ownUser(ctx, tok, id); err != nil {
		return err
	}
	if err := h.e.DeleteUser(ctx, tok); err != nil {
		return err
	}
	writeEmpty(w)
	return nil
}

// resetPassword serves POST /users/password/reset.json {"email"} and, for old clients, GET
// with ?email=. The answer is the same whether or not an account has the address.
func (h *handler) resetPassword(w http.ResponseWriter, r *http.Request) error {
	email := r.URL.Query().Get("email")
	if r.Method == http.MethodPost {
		var body object
		if err := h.decodeBody(w, r, &body); err != nil {
			return err
		}
		if body.has("email") {
			var err error
			if email, err = body.text("email"); err != nil {
				return err
			}
		}
	}
	if err := h.e.ResetPassword(r.Context(), token(r), email); err != nil {
		return err
	}
	writeEmpty(w)
	return nil
}

// lookUp answers a unique look-up as {"user": {...}}.
func (h *handler) lookUp(w http.ResponseWriter, r *http.Request, find func(ctx context.Context, tok string) (authcube.User, error)) error {
	ctx, tok := r.Context(), token(r)
	viewer, err := h.viewer(ctx, tok)
	if err != nil {
		return err
	}
	u, err := find(ctx, tok)
	if err != nil {
		return err
	}
	h.writeJSON(w, http.StatusOK, h.userBody(u, viewer))
	return nil
}

// getUser serves GET /users/{id}.json.
func (h *handler) getUser(w http.ResponseWriter, r *http.Request, id string) error {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return invalidField("id", "must be an integer")
	}
	return h.lookUp(w, r, func(ctx context.Context, tok string) (authcube.User, error) { return h.e.User(ctx, tok, n) })
}

// userByLogin serves GET /users/by_login.json?login=.
func (h *handler) userByLogin(w http.ResponseWriter, r *http.Request) error {
	login := r.URL.Query().Get("login")
	return h.lookUp(w, r, func(ctx context.Context, tok string) (authcube.User, error) { return h.e.UserByLogin(ctx, tok, login) })
}

// userByEmail serves GET /users/by_email.json?email=. An exact match is allowed even with
// FullUserData off (as in ConnectyCube); the email itself is not shown to others.
func (h *handler) userByEmail(w http.ResponseWriter, r *http.Request) error {
	email := r.URL.Query().Get("email")
	return h.lookUp(w, r, func(ctx context.Context, tok string) (authcube.User, error) { return h.e.UserByEmail(ctx, tok, email) })
}

// userByExternal serves GET /users/external/{id}.json (matched on external_user_id).
func (h *handler) userByExternal(w http.ResponseWriter, r *http.Request, ext string) error {
	return h.lookUp(w, r, func(ctx context.Context, tok string) (authcube.User, error) {
		return h.e.UserByExternalID(ctx, tok, ext)
	})
}

// unsupportedLookUp answers the Facebook and Twitter look-ups: authcube keeps no social ids.
func (h *handler) unsupportedLookUp(w http.ResponseWriter, r *http.Request) error {
	return &apiError{status: http.StatusNotFound, msg: "Not Found: authcube keeps no Facebook or Twitter ids"}
}

// page answers a legacy paged look-up.
func (h *handler) page(w http.ResponseWriter, r *http.Request, find func(ctx context.Context, tok string, p authcube.Page) (authcube.UserPage, error)) error {
	ctx, tok := r.Context(), token(r)
	p, err := legacyPage(r.URL.Query(), "page")
	if err != nil {
		return err
	}
	viewer, err := h.viewer(ctx, tok)
	if err != nil {
		return err
	}
	up, err := find(ctx, tok, p)
	if err != nil {
		return err
	}
	h.writeJSON(w, http.StatusOK, h.legacyUsers(up, p.Page, viewer))
	return nil
}

// usersByFullName serves GET /users/by_full_name.json?full_name=&page=&per_page=.
func (h *handler) usersByFullName(w http.ResponseWriter, r *http.Request) error {
	name := r.URL.Query().Get("full_name")
	return h.page(w, r, func(ctx context.Context, tok string, p authcube.Page) (authcube.UserPage, error) {
		return h.e.UsersByFullName(ctx, tok, name, p)
	})
}

// usersByTags serves GET /users/by_tags.json?tags[]=a&tags[]=b (or tags=a,b): users with any
// of the tags.
func (h *handler) usersByTags(w http.ResponseWriter, r *http.Request) error {
	tags := listValues(grouped(r.URL.Query(), "tags"))
	return h.page(w, r, func(ctx context.Context, tok string, p authcube.Page) (authcube.UserPage, error) {
		return h.e.UsersByTags(ctx, tok, tags, p)
	})
}

// usersByPhone serves GET /users/phone.json?phone= (the path really is "phone"): a paged list
// of the users with any of the (comma-separated) phones. With FullUserData off it takes one
// phone (S31).
func (h *handler) usersByPhone(w http.ResponseWriter, r *http.Request) error {
	phones := listValues(grouped(r.URL.Query(), "phone"))
	if len(phones) == 0 {
		return invalidField("phone", "is required")
	}
	return h.page(w, r, func(ctx context.Context, tok string, p authcube.Page) (authcube.UserPage, error) {
		c, err := h.cond("phone", authcube.FieldPhone, authcube.OpIn, phones)
		if err != nil {
			return authcube.UserPage{}, err
		}
		limit := p.PerPage
		if limit == 0 {
			limit = 10
		}
		offset, err := legacyOffset(p, limit)
		if err != nil {
			return authcube.UserPage{}, err
		}
		return h.e.ListUsers(ctx, tok, authcube.UserQuery{Where: []authcube.Cond{c}, Limit: limit, Offset: offset})
	})
}

// usersOnline serves GET /users/online.json: "online" means connected to chat, which authcube
// does not serve, so nobody is online.
func (h *handler) usersOnline(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.e.Session(r.Context(), token(r)); err != nil {
		return err
	}
	if r.URL.Query().Get("count") == "true" {
		h.writeJSON(w, http.StatusOK, map[string]int{"count": 0})
		return nil
	}
	h.writeJSON(w, http.StatusOK, map[string][]userOut{"users": {}})
	return nil
}

// listUsers serves GET /users.json with the legacy filter[] and order syntax.
func (h *handler) listUsers(w http.ResponseWriter, r *http.Request) error {
	ctx, tok := r.Context(), token(r)
	viewer, err := h.viewer(ctx, tok)
	if err != nil {
		return err
	}
	uq, p, err := h.legacyQuery(r.URL.Query())
	if err != nil {
		return err
	}
	up, err := h.e.ListUsers(ctx, tok, uq)
	if err != nil {
		return err
	}
	h.writeJSON(w, http.StatusOK, h.legacyUsers(up, p.Page, viewer))
	return nil
}

// usersV2 serves GET /users/v2.json: filters on any field, flat items.
func (h *handler) usersV2(w http.ResponseWriter, r *http.Request) error {
	ctx, tok := r.Context(), token(r)
	viewer, err := h.viewer(ctx, tok)
	if err != nil {
		return err
	}
	uq, err := h.v2Query(r.URL.Query())
	if err != nil {
		return err
	}
	up, err := h.e.ListUsers(ctx, tok, uq)
	if err != nil {
		return err
	}
	h.writeJSON(w, http.StatusOK, h.v2Users(up, uq.Offset, viewer))
	return nil
}
