package rest_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/rest"
)

// A signed download URL is signed with the engine's derived key, so it works on another handler
// over the same data (another instance, or this one after a restart), and a forged one does not.
func TestSignedURLsWorkOnEveryInstance(t *testing.T) {
	s := newServer(t, rest.Config{})
	_, se := s.env.SignedIn(t, "ann")
	f, err := s.env.Engine.UploadFile(t.Context(), se.Token, authcube.NewFile{Name: "a.txt"}, strings.NewReader("hello"))
	require.NoError(t, err)
	r := s.do("GET", "/blobs/"+f.UID+"/object.json", se.Token, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	params := r.obj(t)["blob_object_access"].(map[string]any)["params"].(string)
	path := params[strings.Index(params, "/blobs/"):]

	s.env.Restart(t)
	h, err := rest.New(s.env.Engine, rest.Config{AuthKey: authKey})
	require.NoError(t, err)
	other := httptest.NewServer(h)
	t.Cleanup(other.Close)

	res, err := other.Client().Get(other.URL + path)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode, "a URL signed before the restart")
	res, err = other.Client().Get(other.URL + strings.Replace(path, "signature=", "signature=0", 1))
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode, "a forged signature")
}
