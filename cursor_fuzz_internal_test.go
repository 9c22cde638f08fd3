package authcube

import (
	"testing"
	"time"

	"github.com/authcube/authcube/store"
)

// FuzzDecodeCursor (R6): the cursor decoder never panics; a cursor it accepts belongs to the
// sort asked for, names a positive id and a key of the sort field's kind; and the cursors the
// engine makes decode to their row's key.
func FuzzDecodeCursor(f *testing.F) {
	u := store.User{ID: 7, LoginCanon: "bigbird", EmailCanon: "b@example.org", FullName: "Big Bird",
		CreatedAt: time.UnixMilli(1767225600000), Tags: []string{"a", "b"}}
	for _, sort := range []string{"id", "login", "created_at", "tag_list", "full_name"} {
		f.Add(encodeCursor(sort, false, u), sort, false)
		f.Add(encodeCursor(sort, true, u), sort, true)
	}
	f.Add("eyJzIjoiaWQiLCJpIjowfQ", "id", false) // {"s":"id","i":0}
	f.Add("", "id", false)
	f.Add("!!!", "login", true)
	f.Fuzz(func(t *testing.T, s, sort string, desc bool) {
		key, err := decodeCursor(s, sort, desc)
		if err != nil {
			return
		}
		if key == nil || key.ID <= 0 {
			t.Fatalf("accepted %q with key %+v", s, key)
		}
		switch fieldKinds[Field(sort)] {
		case "int":
			if key.Value != key.ID {
				t.Fatalf("an id cursor %q with value %v", s, key.Value)
			}
		case "time":
			if _, ok := key.Value.(int64); !ok {
				t.Fatalf("a time cursor %q with value %T", s, key.Value)
			}
		default:
			if _, ok := key.Value.(string); !ok {
				t.Fatalf("a text cursor %q with value %T", s, key.Value)
			}
		}
		if len(s) > maxCursorLen {
			t.Fatalf("a cursor of %d bytes accepted", len(s))
		}
		if _, err := decodeCursor(s, sort+"x", desc); err == nil {
			t.Fatalf("%q accepted for sort %q and %q", s, sort, sort+"x")
		}
		if _, err := decodeCursor(s, sort, !desc); err == nil {
			t.Fatalf("%q accepted in both directions", s)
		}
	})
}
