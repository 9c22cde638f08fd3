package rest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSplitKey(t *testing.T) {
	for key, want := range map[string][]string{
		"login":                 {"login"},
		"tags[]":                {"tags", ""},
		"user_tags[all][]":      {"user_tags", "all", ""},
		"created_at[gt]":        {"created_at", "gt"},
		"a[b":                   {"a[b"},
		"[x]":                   {"[x]"},
		"a[b]c]":                {"a[b]c]"},
		"full_name[start_with]": {"full_name", "start_with"},
	} {
		base, subs := splitKey(key)
		assert.Equal(t, want[0], base, key)
		if len(want) == 1 {
			assert.Empty(t, subs, key)
		} else {
			assert.Equal(t, want[1:], subs, key)
		}
	}
}

func TestListValues(t *testing.T) {
	assert.Equal(t, []string{"a", "b", "c"}, listValues([]string{"a,b", " c ", ""}))
	assert.Empty(t, listValues(nil))
}

func TestParseTime(t *testing.T) {
	want := time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC)
	for _, s := range []string{
		"1700000000", "1700000000000", "1700000000.0", "2023-11-14T22:13:20Z", "2023-11-14T23:13:20+01:00",
		"2023-11-14 22:13:20", "2023-11-14T22:13:20", "Tue Nov 14 2023 23:13:20 GMT+0100 (Central European Standard Time)",
	} {
		got, err := parseTime(s)
		require.NoError(t, err, s)
		assert.True(t, want.Equal(got), "%s: %v", s, got)
	}
	d, err := parseTime("2023-11-14")
	require.NoError(t, err)
	assert.Equal(t, time.Date(2023, 11, 14, 0, 0, 0, 0, time.UTC), d)
	for _, s := range []string{"", "yesterday", "NaN", "1e300"} {
		_, err := parseTime(s)
		assert.Error(t, err, s)
	}
}

func TestSignature(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	h := &handler{signKey: []byte("k"), now: func() time.Time { return now }}
	sig := h.sign("upload", "uid", now.Unix()+10)
	assert.True(t, h.signedOK("upload", "uid", "1700000010", sig))
	assert.False(t, h.signedOK("download", "uid", "1700000010", sig), "kinds do not mix")
	assert.False(t, h.signedOK("upload", "other", "1700000010", sig))
	assert.False(t, h.signedOK("upload", "uid", "1700000011", sig))
	assert.False(t, h.signedOK("upload", "uid", "1700000010", ""))
	now = now.Add(10 * time.Second)
	assert.False(t, h.signedOK("upload", "uid", "1700000010", sig), "expired")
}
