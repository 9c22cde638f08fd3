package sqlite

import "context"

// SetStepHook sets the hook every migration step runs once it has read the schema version,
// for the tests of package sqlite_test, and returns a function that removes it.
func SetStepHook(f func(ctx context.Context, have int)) (remove func()) {
	stepHook = f
	return func() { stepHook = nil }
}

// SetBulkHook sets the hook run after each step of EndBulk's transaction (an error from it
// fails the transaction there), for the tests of package sqlite_test, and returns a function
// that removes it.
func SetBulkHook(f func(step string) error) (remove func()) {
	bulkHook = f
	return func() { bulkHook = nil }
}
