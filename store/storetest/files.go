package storetest

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/store"
)

// This file holds the subtests of the file methods (CreateFile, CompleteFile, File, FileByID,
// UserFiles, RenameFile, DeleteFile, DeletePendingFiles, FileExists) and of avatars set through
// UpdateUser.

// runFiles registers the subtests of files and avatars.
func runFiles(t *testing.T, sub func(t *testing.T, name string, f func(t *testing.T, s store.Store))) {
	t.Run("CreateFile", func(t *testing.T) {
		sub(t, "IncreasingIDs", testCreateFileIncreasingIDs)
		sub(t, "StaleSession", testCreateFileStaleSession)
		sub(t, "DuplicateUID", testCreateFileDuplicateUID)
		sub(t, "Lazily", testCreateFileLazily)
	})
	t.Run("File", func(t *testing.T) {
		sub(t, "RoundTrip", testFileRoundTrip)
		sub(t, "Unknown", testFileUnknown)
	})
	t.Run("CompleteFile", func(t *testing.T) {
		sub(t, "Completes", testCompleteFile)
		sub(t, "NotPending", testCompleteFileNotPending)
	})
	t.Run("UserFiles", func(t *testing.T) {
		sub(t, "Paging", testUserFilesPaging)
		sub(t, "Total", testUserFilesTotal)
	})
	t.Run("RenameFile", func(t *testing.T) {
		sub(t, "Renames", testRenameFile)
		sub(t, "NotOwner", testRenameFileNotOwner)
	})
	t.Run("DeleteFile", func(t *testing.T) {
		sub(t, "Deletes", testDeleteFile)
		sub(t, "NotOwner", testDeleteFileNotOwner)
		sub(t, "ClearsAvatar", testDeleteFileClearsAvatar)
	})
	t.Run("DeletePendingFiles", func(t *testing.T) {
		sub(t, "OnlyPendingBefore", testDeletePendingFiles)
	})
	t.Run("FileExists", func(t *testing.T) {
		sub(t, "TrueFalse", testFileExists)
		sub(t, "DeletedWithUser", testFilesDeletedWithUser)
	})
	t.Run("Avatar", func(t *testing.T) {
		sub(t, "SetComplete", testAvatarSet)
		sub(t, "Invalid", testAvatarInvalid)
		sub(t, "Replace", testAvatarReplace)
		sub(t, "Clear", testAvatarClear)
		sub(t, "SameAgain", testAvatarSameAgain)
		sub(t, "AllOrNothing", testAvatarAllOrNothing)
		sub(t, "OthersFileNeverDeleted", testAvatarOthersFileNeverDeleted)
	})
}

// fileUID returns a distinct file uid per name (32 hex digits, like 128 random bits).
func fileUID(name string) string {
	h := sha256.Sum256([]byte("file:" + name))
	return fmt.Sprintf("%x", h[:16])
}

// newFile returns a file named name for ownerID, created at created.
func newFile(name string, ownerID int64, created time.Time) store.File {
	return store.File{
		UID:         fileUID(name),
		OwnerID:     ownerID,
		Name:        name + ".bin",
		ContentType: "application/octet-stream",
		CreatedAt:   created,
	}
}

// normFile makes files comparable whatever time zone a backend returns.
func normFile(f store.File) store.File {
	f.CreatedAt = f.CreatedAt.UTC()
	return f
}

func normFiles(fs []store.File) []store.File {
	out := make([]store.File, 0, len(fs))
	for _, f := range fs {
		out = append(out, normFile(f))
	}
	return out
}

// fileOwner creates numberedUser(n) without an avatar and a session acting for it.
func fileOwner(t *testing.T, s store.Store, n int) (store.User, store.Session) {
	t.Helper()
	u := numberedUser(n)
	u.AvatarUID = ""
	u = createUser(t, s, u)
	se := userSession(fmt.Sprintf("owner-%d", n), u.ID, at(0))
	createSessions(t, s, se)
	return u, se
}

// createFile creates f through se and returns it as stored: with its id, pending, size 0.
func createFile(t *testing.T, s store.Store, se store.Session, f store.File) store.File {
	t.Helper()
	id, err := s.CreateFile(t.Context(), se.TokenHash, f)
	require.NoError(t, err)
	require.Positive(t, id)
	f.ID, f.Size, f.Complete = id, 0, false
	return f
}

// completeFile completes the owner's pending file f and returns it as stored.
func completeFile(t *testing.T, s store.Store, f store.File, size int64, contentType string) store.File {
	t.Helper()
	got, err := s.CompleteFile(t.Context(), sessionFor(t, s, f.OwnerID), f.UID, f.OwnerID, size, contentType)
	require.NoError(t, err)
	f.Size, f.ContentType, f.Complete = size, contentType, true
	require.Equal(t, normFile(f), normFile(got), "the completed file")
	return f
}

// requireFile requires that want reads back the same by uid and by id, and exists.
func requireFile(t *testing.T, s store.Store, want store.File) {
	t.Helper()
	ctx := t.Context()
	got, err := s.File(ctx, want.UID)
	require.NoError(t, err, "File %q", want.UID)
	require.Equal(t, normFile(want), normFile(got), "File")
	got, err = s.FileByID(ctx, want.ID)
	require.NoError(t, err, "FileByID %d", want.ID)
	require.Equal(t, normFile(want), normFile(got), "FileByID")
	ok, err := s.FileExists(ctx, want.UID)
	require.NoError(t, err)
	require.True(t, ok, "FileExists %q", want.UID)
}

// requireNoFile requires that no file row has f's uid or id.
func requireNoFile(t *testing.T, s store.Store, f store.File) {
	t.Helper()
	ctx := t.Context()
	_, err := s.File(ctx, f.UID)
	require.ErrorIs(t, err, store.ErrNotFound, "File %q", f.UID)
	if f.ID != 0 {
		_, err = s.FileByID(ctx, f.ID)
		require.ErrorIs(t, err, store.ErrNotFound, "FileByID %d", f.ID)
	}
	ok, err := s.FileExists(ctx, f.UID)
	require.NoError(t, err)
	require.False(t, ok, "FileExists %q", f.UID)
}

// requireUser requires that the stored user with want's id equals want.
func requireUser(t *testing.T, s store.Store, want store.User) {
	t.Helper()
	got, err := s.User(t.Context(), want.ID)
	require.NoError(t, err)
	require.Equal(t, normUser(want), normUser(got))
}

// allUserFiles returns every file of the owner and its uncapped total.
func allUserFiles(t *testing.T, s store.Store, ownerID int64) ([]store.File, int) {
	t.Helper()
	fs, total, err := s.UserFiles(t.Context(), ownerID, 0, 0, 1000, 1000)
	require.NoError(t, err)
	return normFiles(fs), total
}

func testCreateFileIncreasingIDs(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, sa := fileOwner(t, s, 1)
	b, sb := fileOwner(t, s, 2)
	var last int64
	var created []store.File
	for i := range 6 {
		owner, se := a, sa
		if i%2 == 1 {
			owner, se = b, sb
		}
		f := createFile(t, s, se, newFile(fmt.Sprintf("f%d", i), owner.ID, at(time.Duration(i)*time.Second)))
		require.Greater(t, f.ID, last, "ids increase across owners")
		last = f.ID
		created = append(created, f)
	}

	// Deleting the newest file (and then every file) does not free its id.
	newest := created[len(created)-1]
	require.NoError(t, s.DeleteFile(ctx, sessionFor(t, s, newest.OwnerID), newest.UID, newest.OwnerID))
	f := createFile(t, s, sb, newFile("after-delete", b.ID, at(time.Minute)))
	require.Greater(t, f.ID, last)
	last = f.ID
	for _, g := range slices.Concat(created[:len(created)-1], []store.File{f}) {
		require.NoError(t, s.DeleteFile(ctx, sessionFor(t, s, g.OwnerID), g.UID, g.OwnerID))
	}
	for i := range 3 {
		f := createFile(t, s, sa, newFile(fmt.Sprintf("again%d", i), a.ID, at(time.Hour)))
		require.Greater(t, f.ID, last, "never an id used before")
		last = f.ID
	}
	for _, g := range created {
		requireNoFile(t, s, g)
	}
}

func testCreateFileStaleSession(t *testing.T, s store.Store) {
	ctx := t.Context()
	u, mine := fileOwner(t, s, 1)
	other, others := fileOwner(t, s, 2)
	deleted := userSession("deleted", u.ID, at(0))
	signedOut := userSession("signed-out", u.ID, at(0))
	app := appSession("app", at(0))
	createSessions(t, s, deleted, signedOut, app)
	require.NoError(t, s.DeleteSession(ctx, deleted.TokenHash))
	require.NoError(t, s.SignOutSession(ctx, signedOut.TokenHash, at(time.Second)))

	for i, tc := range []struct {
		name  string
		hash  [32]byte
		owner int64
	}{
		{"Deleted", deleted.TokenHash, u.ID},
		{"SignedOut", signedOut.TokenHash, u.ID},
		{"AnotherUsers", others.TokenHash, u.ID},
		{"Application", app.TokenHash, u.ID},
		{"Unknown", tokenHash("never"), u.ID},
		{"OwnSessionOtherOwner", mine.TokenHash, other.ID},
		{"UnknownOwner", mine.TokenHash, other.ID + 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFile(fmt.Sprintf("refused-%d", i), tc.owner, at(time.Minute))
			id, err := s.CreateFile(ctx, tc.hash, f)
			require.ErrorIs(t, err, store.ErrNotFound)
			assert.Zero(t, id)
			requireNoFile(t, s, f)
			for _, owner := range []int64{u.ID, other.ID, tc.owner} {
				fs, total := allUserFiles(t, s, owner)
				assert.Empty(t, fs, "nothing stored for owner %d", owner)
				assert.Zero(t, total)
			}
		})
	}

	// The session that acts for the owner still works.
	requireFile(t, s, createFile(t, s, mine, newFile("accepted", u.ID, at(time.Hour))))
}

// testCreateFileLazily checks store.LazyFiles, when the store has it: the row is there as soon
// as CreateFileLazily returns, as CreateFile's would be, completes like any other, and a session
// that does not act for the owner is refused alike.
func testCreateFileLazily(t *testing.T, s store.Store) {
	lf, ok := s.(store.LazyFiles)
	if !ok {
		t.Skip("the store has no store.LazyFiles")
	}
	ctx := t.Context()
	u, se := fileOwner(t, s, 1)
	other, _ := fileOwner(t, s, 2)
	f := newFile("lazy", u.ID, at(0))
	id, err := lf.CreateFileLazily(ctx, se.TokenHash, f)
	require.NoError(t, err)
	require.Positive(t, id)
	f.ID = id
	requireFile(t, s, f)
	exists, err := s.FileExists(ctx, f.UID)
	require.NoError(t, err)
	assert.True(t, exists)
	completeFile(t, s, f, 42, "text/plain")

	refused := newFile("lazy-refused", other.ID, at(0))
	_, err = lf.CreateFileLazily(ctx, se.TokenHash, refused)
	require.ErrorIs(t, err, store.ErrNotFound)
	requireNoFile(t, s, refused)
}

func testCreateFileDuplicateUID(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, sa := fileOwner(t, s, 1)
	b, sb := fileOwner(t, s, 2)
	first := createFile(t, s, sa, newFile("taken", a.ID, at(0)))

	same := newFile("taken", a.ID, at(time.Minute))
	same.Name = "other name"
	_, err := s.CreateFile(ctx, sa.TokenHash, same)
	assert.Error(t, err, "a uid the owner has already")

	other := newFile("taken", b.ID, at(time.Minute))
	_, err = s.CreateFile(ctx, sb.TokenHash, other)
	assert.Error(t, err, "a uid another owner has")

	requireFile(t, s, first)
	fs, total := allUserFiles(t, s, a.ID)
	assert.Equal(t, []store.File{normFile(first)}, fs)
	assert.Equal(t, 1, total)
	fs, total = allUserFiles(t, s, b.ID)
	assert.Empty(t, fs, "nothing stored for the other owner")
	assert.Zero(t, total)

	// The failure leaves the store usable.
	requireFile(t, s, createFile(t, s, sb, newFile("fresh", b.ID, at(time.Hour))))
}

func testFileRoundTrip(t *testing.T, s store.Store) {
	u, se := fileOwner(t, s, 1)
	full := store.File{
		UID:         fileUID("full"),
		OwnerID:     u.ID,
		Name:        "Résumé (final) — 2026.pdf",
		ContentType: "application/pdf",
		Public:      true,
		CreatedAt:   at(time.Hour + 234*time.Millisecond),
	}
	full = createFile(t, s, se, full)
	requireFile(t, s, full)

	bare := createFile(t, s, se, store.File{UID: fileUID("bare"), OwnerID: u.ID, Name: "x", CreatedAt: at(5 * time.Millisecond)})
	requireFile(t, s, bare)
	got, err := s.File(t.Context(), bare.UID)
	require.NoError(t, err)
	assert.False(t, got.Complete, "a new file is pending")
	assert.Zero(t, got.Size)
	assert.False(t, got.Public)
	assert.Equal(t, "", got.ContentType)

	// CreateFile inserts a pending file whatever the record says.
	claimed := newFile("claimed", u.ID, at(time.Minute))
	claimed.Size, claimed.Complete = 4096, true
	claimed = createFile(t, s, se, claimed)
	requireFile(t, s, claimed)
}

func testFileUnknown(t *testing.T, s store.Store) {
	ctx := t.Context()
	u, se := fileOwner(t, s, 1)
	f := createFile(t, s, se, newFile("known", u.ID, at(0)))
	for _, uid := range []string{"", fileUID("unknown"), f.UID[:31], f.UID + "0", "%"} {
		_, err := s.File(ctx, uid)
		assert.ErrorIs(t, err, store.ErrNotFound, "uid %q", uid)
	}
	for _, id := range []int64{0, -1, f.ID + 1, 1 << 40} {
		_, err := s.FileByID(ctx, id)
		assert.ErrorIs(t, err, store.ErrNotFound, "id %d", id)
	}
}

func testCompleteFile(t *testing.T, s store.Store) {
	ctx := t.Context()
	u, se := fileOwner(t, s, 1)
	f := newFile("photo", u.ID, at(time.Second))
	f.Public = true
	f = createFile(t, s, se, f)
	other := createFile(t, s, se, newFile("other", u.ID, at(2*time.Second)))

	got, err := s.CompleteFile(ctx, sessionFor(t, s, u.ID), f.UID, u.ID, 5<<30+7, "image/png")
	require.NoError(t, err)
	f.Size, f.ContentType, f.Complete = 5<<30+7, "image/png", true
	assert.Equal(t, normFile(f), normFile(got), "the returned file: only size, content type and complete change")
	requireFile(t, s, f)
	requireFile(t, s, other)

	// An empty file completes too.
	other = completeFile(t, s, other, 0, "")
	requireFile(t, s, other)
}

func testCompleteFileNotPending(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, sa := fileOwner(t, s, 1)
	b, sb := fileOwner(t, s, 2)
	pending := createFile(t, s, sa, newFile("pending", a.ID, at(0)))
	done := completeFile(t, s, createFile(t, s, sa, newFile("done", a.ID, at(0))), 10, "text/plain")
	gone := createFile(t, s, sa, newFile("gone", a.ID, at(0)))
	require.NoError(t, s.DeleteFile(ctx, sessionFor(t, s, a.ID), gone.UID, a.ID))
	bs := createFile(t, s, sb, newFile("bs", b.ID, at(0)))

	for _, tc := range []struct {
		name  string
		uid   string
		owner int64
	}{
		{"AnotherOwner", pending.UID, b.ID},
		{"UnknownOwner", pending.UID, b.ID + 1000},
		{"AlreadyComplete", done.UID, a.ID},
		{"UnknownUID", fileUID("never"), a.ID},
		{"Deleted", gone.UID, a.ID},
		{"OthersFile", bs.UID, a.ID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CompleteFile(ctx, sessionFor(t, s, tc.owner), tc.uid, tc.owner, 999, "image/gif")
			require.ErrorIs(t, err, store.ErrNotFound)
			requireFile(t, s, pending)
			requireFile(t, s, done)
			requireFile(t, s, bs)
			requireNoFile(t, s, gone)
		})
	}
}

// userFilesFixture creates 7 files for a and 3 for b, interleaved so that their ids are too,
// and completes some of a's. It returns the files as stored.
func userFilesFixture(t *testing.T, s store.Store) (a store.User, aFiles []store.File, b store.User, bFiles []store.File) {
	t.Helper()
	a, sa := fileOwner(t, s, 1)
	b, sb := fileOwner(t, s, 2)
	for i := range 10 {
		if i%3 == 1 {
			bFiles = append(bFiles, createFile(t, s, sb, newFile(fmt.Sprintf("b%d", i), b.ID, at(time.Duration(i)*time.Second))))
			continue
		}
		f := createFile(t, s, sa, newFile(fmt.Sprintf("a%d", i), a.ID, at(time.Duration(i)*time.Second)))
		if i%2 == 0 {
			f = completeFile(t, s, f, int64(100+i), "image/jpeg")
		}
		aFiles = append(aFiles, f)
	}
	require.Len(t, aFiles, 7)
	require.Len(t, bFiles, 3)
	return a, aFiles, b, bFiles
}

func testUserFilesPaging(t *testing.T, s store.Store) {
	a, aFiles, b, bFiles := userFilesFixture(t, s)
	id := func(i int) int64 { return aFiles[i].ID }
	for _, tc := range []struct {
		name          string
		afterID       int64
		offset, limit int
		want          []store.File
	}{
		{"All", 0, 0, 100, aFiles},
		{"FirstPage", 0, 0, 3, aFiles[:3]},
		{"SecondPageByKey", id(2), 0, 3, aFiles[3:6]},
		{"LastPageByKey", id(5), 0, 3, aFiles[6:]},
		{"PastTheEnd", id(6), 0, 3, nil},
		{"Offset", 0, 2, 2, aFiles[2:4]},
		{"KeyAndOffset", id(1), 2, 2, aFiles[4:6]},
		{"OffsetPastTheEnd", 0, 7, 3, nil},
		{"KeyBetweenOwnIDs", bFiles[0].ID, 0, 2, aFiles[1:3]}, // b's first id falls between a's first two
		{"KeyBeforeEveryID", -1, 0, 1, aFiles[:1]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := s.UserFiles(t.Context(), a.ID, tc.afterID, tc.offset, tc.limit, 100)
			require.NoError(t, err)
			assert.Equal(t, normFiles(tc.want), normFiles(got))
		})
	}

	got, total := allUserFiles(t, s, b.ID)
	assert.Equal(t, normFiles(bFiles), got, "only the owner's files")
	assert.Equal(t, 3, total)

	// Walking by key visits every file once, in id order.
	var walked []store.File
	var after int64
	for pages := 0; ; pages++ {
		require.Less(t, pages, len(aFiles), "walking by key does not end")
		page, _, err := s.UserFiles(t.Context(), a.ID, after, 0, 2, 100)
		require.NoError(t, err)
		if len(page) == 0 {
			break
		}
		require.LessOrEqual(t, len(page), 2)
		walked = append(walked, page...)
		after = page[len(page)-1].ID
	}
	assert.Equal(t, normFiles(aFiles), normFiles(walked))
}

func testUserFilesTotal(t *testing.T, s store.Store) {
	a, aFiles, b, _ := userFilesFixture(t, s)
	for _, tc := range []struct {
		totalCap, want int
	}{{1000, 7}, {7, 7}, {8, 7}, {6, 6}, {3, 3}, {1, 1}} {
		_, total, err := s.UserFiles(t.Context(), a.ID, 0, 0, 100, tc.totalCap)
		require.NoError(t, err)
		assert.Equal(t, tc.want, total, "total cap %d", tc.totalCap)
	}

	// Like Query.Total, the total is the owner's and ignores the page position.
	for _, tc := range []struct {
		afterID       int64
		offset, limit int
	}{{aFiles[3].ID, 0, 2}, {0, 5, 1}, {aFiles[6].ID, 0, 10}, {0, 100, 10}} {
		_, total, err := s.UserFiles(t.Context(), a.ID, tc.afterID, tc.offset, tc.limit, 1000)
		require.NoError(t, err)
		assert.Equal(t, 7, total, "after %d, offset %d, limit %d", tc.afterID, tc.offset, tc.limit)
	}
	_, total, err := s.UserFiles(t.Context(), b.ID, 0, 0, 100, 1000)
	require.NoError(t, err)
	assert.Equal(t, 3, total)

	// An owner without files, and no owner at all.
	empty, _ := fileOwner(t, s, 3)
	for _, owner := range []int64{empty.ID, b.ID + 1000, 0} {
		fs, total, err := s.UserFiles(t.Context(), owner, 0, 0, 100, 1000)
		require.NoError(t, err)
		assert.Empty(t, fs, "owner %d", owner)
		assert.Zero(t, total, "owner %d", owner)
	}
}

func testRenameFile(t *testing.T, s store.Store) {
	ctx := t.Context()
	u, se := fileOwner(t, s, 1)
	pending := createFile(t, s, se, newFile("pending", u.ID, at(time.Second)))
	done := completeFile(t, s, createFile(t, s, se, newFile("done", u.ID, at(2*time.Second))), 42, "text/plain")

	for _, f := range []*store.File{&pending, &done} {
		got, err := s.RenameFile(ctx, sessionFor(t, s, u.ID), f.UID, u.ID, "Nouveau nom — "+f.Name)
		require.NoError(t, err)
		f.Name = "Nouveau nom — " + f.Name
		assert.Equal(t, normFile(*f), normFile(got), "only the name changes")
		requireFile(t, s, *f)
	}
	requireFile(t, s, pending)
}

func testRenameFileNotOwner(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, sa := fileOwner(t, s, 1)
	b, _ := fileOwner(t, s, 2)
	f := createFile(t, s, sa, newFile("mine", a.ID, at(0)))
	gone := createFile(t, s, sa, newFile("gone", a.ID, at(0)))
	require.NoError(t, s.DeleteFile(ctx, sessionFor(t, s, a.ID), gone.UID, a.ID))

	for _, tc := range []struct {
		name  string
		uid   string
		owner int64
	}{
		{"AnotherOwner", f.UID, b.ID},
		{"UnknownOwner", f.UID, b.ID + 1000},
		{"UnknownUID", fileUID("never"), a.ID},
		{"Deleted", gone.UID, a.ID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.RenameFile(ctx, sessionFor(t, s, tc.owner), tc.uid, tc.owner, "hijacked")
			require.ErrorIs(t, err, store.ErrNotFound)
			requireFile(t, s, f)
			requireNoFile(t, s, gone)
		})
	}
}

func testDeleteFile(t *testing.T, s store.Store) {
	ctx := t.Context()
	u, se := fileOwner(t, s, 1)
	pending := createFile(t, s, se, newFile("pending", u.ID, at(0)))
	done := completeFile(t, s, createFile(t, s, se, newFile("done", u.ID, at(0))), 1, "text/plain")
	kept := createFile(t, s, se, newFile("kept", u.ID, at(0)))

	for _, f := range []store.File{pending, done} {
		require.NoError(t, s.DeleteFile(ctx, sessionFor(t, s, u.ID), f.UID, u.ID))
		requireNoFile(t, s, f)
		require.ErrorIs(t, s.DeleteFile(ctx, sessionFor(t, s, u.ID), f.UID, u.ID), store.ErrNotFound, "deleting again")
	}
	requireFile(t, s, kept)
	fs, total := allUserFiles(t, s, u.ID)
	assert.Equal(t, []store.File{normFile(kept)}, fs)
	assert.Equal(t, 1, total)
	requireUser(t, s, u)
}

func testDeleteFileNotOwner(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, sa := fileOwner(t, s, 1)
	b, _ := fileOwner(t, s, 2)
	f := completeFile(t, s, createFile(t, s, sa, newFile("mine", a.ID, at(0))), 3, "text/plain")

	for _, tc := range []struct {
		name  string
		uid   string
		owner int64
	}{
		{"AnotherOwner", f.UID, b.ID},
		{"UnknownOwner", f.UID, b.ID + 1000},
		{"UnknownUID", fileUID("never"), a.ID},
		{"EmptyUID", "", a.ID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, s.DeleteFile(ctx, sessionFor(t, s, tc.owner), tc.uid, tc.owner), store.ErrNotFound)
			requireFile(t, s, f)
		})
	}
}

func testDeleteFileClearsAvatar(t *testing.T, s store.Store) {
	ctx := t.Context()
	u, se := fileOwner(t, s, 1)
	other, so := fileOwner(t, s, 2)
	avatar := completeFile(t, s, createFile(t, s, se, newFile("avatar", u.ID, at(0))), 10, "image/png")
	plain := completeFile(t, s, createFile(t, s, se, newFile("plain", u.ID, at(0))), 10, "image/png")
	otherAvatar := completeFile(t, s, createFile(t, s, so, newFile("other-avatar", other.ID, at(0))), 10, "image/png")
	u = setAvatar(t, s, u, se, avatar.UID, at(time.Minute))
	other = setAvatar(t, s, other, so, otherAvatar.UID, at(time.Minute))

	// Deleting another file leaves the avatar.
	require.NoError(t, s.DeleteFile(ctx, sessionFor(t, s, u.ID), plain.UID, u.ID))
	requireUser(t, s, u)

	// Deleting the avatar clears it, and nothing else of the user.
	require.NoError(t, s.DeleteFile(ctx, sessionFor(t, s, u.ID), avatar.UID, u.ID))
	requireNoFile(t, s, avatar)
	u.AvatarUID = ""
	requireUser(t, s, u)
	requireUser(t, s, other)
	requireFile(t, s, otherAvatar)
}

func testDeletePendingFiles(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, sa := fileOwner(t, s, 1)
	b, sb := fileOwner(t, s, 2)
	cutoff := at(time.Hour)
	oldA := createFile(t, s, sa, newFile("old-a", a.ID, cutoff.Add(-2*time.Hour)))
	oldB := createFile(t, s, sb, newFile("old-b", b.ID, cutoff.Add(-time.Millisecond)))
	edge := createFile(t, s, sa, newFile("edge", a.ID, cutoff))
	recent := createFile(t, s, sb, newFile("recent", b.ID, cutoff.Add(time.Hour)))
	oldDone := completeFile(t, s, createFile(t, s, sa, newFile("old-done", a.ID, cutoff.Add(-3*time.Hour))), 5, "text/plain")
	recentDone := completeFile(t, s, createFile(t, s, sb, newFile("recent-done", b.ID, cutoff.Add(time.Hour))), 5, "text/plain")

	uids, err := s.DeletePendingFiles(ctx, cutoff)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{oldA.UID, oldB.UID}, uids, "pending files created before the cutoff, of every owner")
	requireNoFile(t, s, oldA)
	requireNoFile(t, s, oldB)
	for _, f := range []store.File{edge, recent, oldDone, recentDone} {
		requireFile(t, s, f)
	}

	uids, err = s.DeletePendingFiles(ctx, cutoff)
	require.NoError(t, err)
	assert.Empty(t, uids, "nothing left to delete")

	uids, err = s.DeletePendingFiles(ctx, cutoff.Add(24*time.Hour))
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{edge.UID, recent.UID}, uids)
	requireNoFile(t, s, edge)
	requireNoFile(t, s, recent)
	requireFile(t, s, oldDone)
	requireFile(t, s, recentDone)
}

func testFileExists(t *testing.T, s store.Store) {
	ctx := t.Context()
	u, se := fileOwner(t, s, 1)
	pending := createFile(t, s, se, newFile("pending", u.ID, at(0)))
	done := completeFile(t, s, createFile(t, s, se, newFile("done", u.ID, at(0))), 1, "text/plain")
	for _, uid := range []string{pending.UID, done.UID} {
		ok, err := s.FileExists(ctx, uid)
		require.NoError(t, err)
		assert.True(t, ok, "uid %q", uid)
	}
	for _, uid := range []string{"", fileUID("never"), pending.UID[:31], "%"} {
		ok, err := s.FileExists(ctx, uid)
		require.NoError(t, err)
		assert.False(t, ok, "uid %q", uid)
	}
	require.NoError(t, s.DeleteFile(ctx, sessionFor(t, s, u.ID), done.UID, u.ID))
	ok, err := s.FileExists(ctx, done.UID)
	require.NoError(t, err)
	assert.False(t, ok, "a deleted file")
}

func testFilesDeletedWithUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	u, se := fileOwner(t, s, 1)
	other, so := fileOwner(t, s, 2)
	pending := createFile(t, s, se, newFile("pending", u.ID, at(0)))
	done := completeFile(t, s, createFile(t, s, se, newFile("done", u.ID, at(0))), 1, "text/plain")
	avatar := completeFile(t, s, createFile(t, s, se, newFile("avatar", u.ID, at(0))), 1, "image/png")
	u = setAvatar(t, s, u, se, avatar.UID, at(time.Minute))
	kept := completeFile(t, s, createFile(t, s, so, newFile("kept", other.ID, at(0))), 1, "text/plain")
	keptPending := createFile(t, s, so, newFile("kept-pending", other.ID, at(0)))

	_, err := s.DeleteUser(ctx, se.TokenHash, u.ID)
	require.NoError(t, err)
	for _, f := range []store.File{pending, done, avatar} {
		requireNoFile(t, s, f)
	}
	fs, total := allUserFiles(t, s, u.ID)
	assert.Empty(t, fs)
	assert.Zero(t, total)
	requireFile(t, s, kept)
	requireFile(t, s, keptPending)
	requireUser(t, s, other)

	uids, err := s.DeletePendingFiles(ctx, at(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, []string{keptPending.UID}, uids, "the deleted user's pending file is gone already")
}

// setAvatar sets uid as u's avatar through se and returns the user as updated.
func setAvatar(t *testing.T, s store.Store, u store.User, se store.Session, uid string, when time.Time) store.User {
	t.Helper()
	got, revoked, err := s.UpdateUser(t.Context(), store.UserChange{
		UserID: u.ID, SessionHash: se.TokenHash, AvatarUID: ptr(uid), UpdatedAt: when,
	})
	require.NoError(t, err)
	assert.Empty(t, revoked)
	u.AvatarUID, u.UpdatedAt = uid, when
	require.Equal(t, normUser(u), normUser(got))
	requireUser(t, s, u)
	return u
}

// avatarFixture is a user with two complete files and a pending one, and another user with a
// complete file.
type avatarFixture struct {
	u, other     store.User
	se, so       store.Session
	c1, c2, p, o store.File
}

func newAvatarFixture(t *testing.T, s store.Store) avatarFixture {
	t.Helper()
	var x avatarFixture
	x.u, x.se = fileOwner(t, s, 1)
	x.other, x.so = fileOwner(t, s, 2)
	x.c1 = completeFile(t, s, createFile(t, s, x.se, newFile("c1", x.u.ID, at(0))), 100, "image/png")
	x.c2 = completeFile(t, s, createFile(t, s, x.se, newFile("c2", x.u.ID, at(0))), 200, "image/jpeg")
	x.p = createFile(t, s, x.se, newFile("p", x.u.ID, at(0)))
	x.o = completeFile(t, s, createFile(t, s, x.so, newFile("o", x.other.ID, at(0))), 300, "image/png")
	return x
}

// requireFiles requires each file to be stored as it is.
func requireFiles(t *testing.T, s store.Store, fs ...store.File) {
	t.Helper()
	for _, f := range fs {
		requireFile(t, s, f)
	}
}

func testAvatarSet(t *testing.T, s store.Store) {
	x := newAvatarFixture(t, s)
	got, revoked, err := s.UpdateUser(t.Context(), store.UserChange{
		UserID: x.u.ID, SessionHash: x.se.TokenHash, UpdatedAt: at(time.Hour),
		AvatarUID: ptr(x.c1.UID), FullName: ptr("With Avatar"),
	})
	require.NoError(t, err)
	assert.Empty(t, revoked)
	x.u.AvatarUID, x.u.FullName, x.u.UpdatedAt = x.c1.UID, "With Avatar", at(time.Hour)
	assert.Equal(t, normUser(x.u), normUser(got))
	requireUserEverywhere(t, s, x.u)
	requireUser(t, s, x.other)
	requireFiles(t, s, x.c1, x.c2, x.p, x.o)
}

func testAvatarInvalid(t *testing.T, s store.Store) {
	ctx := t.Context()
	x := newAvatarFixture(t, s)
	gone := completeFile(t, s, createFile(t, s, x.se, newFile("gone", x.u.ID, at(0))), 1, "image/png")
	require.NoError(t, s.DeleteFile(ctx, sessionFor(t, s, x.u.ID), gone.UID, x.u.ID))

	for _, start := range []string{"", x.c1.UID} {
		u := setAvatar(t, s, x.u, x.se, start, at(time.Minute))
		hashes := [][32]byte{x.se.TokenHash, x.so.TokenHash}
		tags := []string{"own1", "shared", "new"}
		before := takeSnapshot(t, s, []int64{u.ID, x.other.ID}, hashes, tags)
		for _, tc := range []struct {
			name, uid string
		}{
			{"Pending", x.p.UID},
			{"AnotherUsers", x.o.UID},
			{"Unknown", fileUID("never")},
			{"Deleted", gone.UID},
		} {
			from := "FromNoAvatar"
			if start != "" {
				from = "FromAvatar"
			}
			t.Run(tc.name+"/"+from, func(t *testing.T) {
				_, revoked, err := s.UpdateUser(ctx, store.UserChange{
					UserID: u.ID, SessionHash: x.se.TokenHash, UpdatedAt: at(time.Hour),
					AvatarUID: ptr(tc.uid), FullName: ptr("Changed"), Tags: ptr([]string{"new"}),
					Login: ptr("Changed"), LoginCanon: ptr("changed"),
				})
				require.ErrorIs(t, err, store.ErrInvalidAvatar)
				assert.Empty(t, revoked)
				require.Equal(t, before, takeSnapshot(t, s, []int64{u.ID, x.other.ID}, hashes, tags), "all or nothing")
				requireFiles(t, s, x.c1, x.c2, x.p, x.o)
				requireNoFile(t, s, gone)
				_, err = s.UserByLogin(ctx, "changed")
				assert.ErrorIs(t, err, store.ErrNotFound)
			})
		}
	}
}

func testAvatarReplace(t *testing.T, s store.Store) {
	x := newAvatarFixture(t, s)
	x.u = setAvatar(t, s, x.u, x.se, x.c1.UID, at(time.Minute))
	x.u = setAvatar(t, s, x.u, x.se, x.c2.UID, at(time.Hour))
	requireNoFile(t, s, x.c1)
	requireFiles(t, s, x.c2, x.p, x.o)
	fs, total := allUserFiles(t, s, x.u.ID)
	assert.Equal(t, normFiles([]store.File{x.c2, x.p}), fs, "only the replaced file is deleted")
	assert.Equal(t, 2, total)
	requireUser(t, s, x.other)
}

func testAvatarClear(t *testing.T, s store.Store) {
	x := newAvatarFixture(t, s)
	x.u = setAvatar(t, s, x.u, x.se, x.c1.UID, at(time.Minute))
	x.u = setAvatar(t, s, x.u, x.se, "", at(time.Hour))
	requireNoFile(t, s, x.c1)
	requireFiles(t, s, x.c2, x.p, x.o)

	// Clearing with no avatar deletes nothing.
	x.u = setAvatar(t, s, x.u, x.se, "", at(2*time.Hour))
	requireFiles(t, s, x.c2, x.p, x.o)
	requireUser(t, s, x.other)
}

func testAvatarSameAgain(t *testing.T, s store.Store) {
	x := newAvatarFixture(t, s)
	x.u = setAvatar(t, s, x.u, x.se, x.c1.UID, at(time.Minute))
	x.u = setAvatar(t, s, x.u, x.se, x.c1.UID, at(time.Hour))
	requireFiles(t, s, x.c1, x.c2, x.p, x.o)
}

// testAvatarAllOrNothing: an avatar change in an update that fails for another reason neither
// changes the avatar nor deletes the file it would have replaced.
func testAvatarAllOrNothing(t *testing.T, s store.Store) {
	ctx := t.Context()
	x := newAvatarFixture(t, s)
	x.u = setAvatar(t, s, x.u, x.se, x.c1.UID, at(time.Minute))
	gone := userSession("gone", x.u.ID, at(0))
	createSessions(t, s, gone)
	require.NoError(t, s.DeleteSession(ctx, gone.TokenHash))

	for _, tc := range []struct {
		name   string
		change store.UserChange
		check  func(t *testing.T, err error)
	}{
		{"StalePassword", store.UserChange{SessionHash: x.se.TokenHash,
			PasswordHash: ptr("$argon2id$new"), OldPasswordHash: "$argon2id$wrong"},
			func(t *testing.T, err error) { require.ErrorIs(t, err, store.ErrStale) }},
		{"StaleSession", store.UserChange{SessionHash: gone.TokenHash},
			func(t *testing.T, err error) { require.ErrorIs(t, err, store.ErrNotFound) }},
		{"LoginConflict", store.UserChange{SessionHash: x.se.TokenHash,
			Login: ptr("x"), LoginCanon: ptr(x.other.LoginCanon)},
			func(t *testing.T, err error) { requireConflict(t, err, "login") }},
	} {
		for _, uid := range []string{x.c2.UID, ""} {
			what := "Replace"
			if uid == "" {
				what = "Clear"
			}
			t.Run(tc.name+"/"+what, func(t *testing.T) {
				c := tc.change
				c.UserID, c.UpdatedAt, c.AvatarUID = x.u.ID, at(time.Hour), ptr(uid)
				_, _, err := s.UpdateUser(ctx, c)
				tc.check(t, err)
				requireUser(t, s, x.u)
				requireFiles(t, s, x.c1, x.c2, x.p, x.o)
			})
		}
	}
}

// testAvatarOthersFileNeverDeleted: a user whose stored avatar names another user's file (it
// was never checked: CreateUser takes it as given) cannot delete that file by replacing or
// clearing its avatar.
func testAvatarOthersFileNeverDeleted(t *testing.T, s store.Store) {
	x := newAvatarFixture(t, s)
	u := numberedUser(3)
	u.AvatarUID = x.o.UID
	u = createUser(t, s, u)
	se := userSession("third", u.ID, at(0))
	createSessions(t, s, se)
	mine := completeFile(t, s, createFile(t, s, se, newFile("third", u.ID, at(0))), 1, "image/png")

	setAvatar(t, s, u, se, mine.UID, at(time.Hour))
	requireFiles(t, s, x.o, mine)

	// The same through clearing.
	v := numberedUser(4)
	v.AvatarUID = x.o.UID
	v = createUser(t, s, v)
	sv := userSession("fourth", v.ID, at(0))
	createSessions(t, s, sv)
	setAvatar(t, s, v, sv, "", at(time.Hour))
	requireFiles(t, s, x.o, mine)
	requireUser(t, s, x.other)
}

// sessionFor returns the token hash of a new user session acting for ownerID, for the file
// writes that re-check their session; for an unknown owner, a hash no session has.
func sessionFor(t *testing.T, s store.Store, ownerID int64) [32]byte {
	t.Helper()
	n := sessionSeq.Add(1)
	se := userSession(fmt.Sprintf("file-writer-%d-%d", ownerID, n), ownerID, at(0))
	if err := s.CreateSession(t.Context(), se, ""); err != nil {
		return tokenHash(fmt.Sprintf("no-session-%d", n))
	}
	return se.TokenHash
}

var sessionSeq atomic.Int64
