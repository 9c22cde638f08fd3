package authcube

// Hooks for the tests of package authcube_test: how much argon2id work an engine has done.

// HashCount returns how many password hashes e has computed.
func HashCount(e *Engine) int64 { return e.hasher.hashes.Load() }

// VerifyCount returns how many password verifications e has run, dummy ones included.
func VerifyCount(e *Engine) int64 { return e.hasher.verifies.Load() }
