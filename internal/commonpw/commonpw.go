// Package commonpw holds a small embedded list of the most commonly used
// passwords, so that sign-up, password change and password reset can refuse
// them (S3).
//
// Source of common.txt: the public SecLists project
// (https://github.com/danielmiessler/SecLists, licence MIT), file
// Passwords/Common-Credentials/10-million-password-list-top-1000.txt
// (1001 lines, from the "10 million passwords" list published by Mark Burnett /
// xato.net). The entries were lower-cased and de-duplicated in rank order,
// which leaves 999 distinct passwords ("Password" and "PASSWORD" collapse into
// "password"). The source lacks the following obvious variants, which were
// appended at the end of the file: password1234, password123, password12,
// password12345, password123456. The list is otherwise unedited (it contains
// offensive words, as such lists do), and it does not contain the seed's
// example password "supersecurepwd".
//
// The list is parsed lazily, on the first call to [IsCommon] or [Len], so
// importing the package costs nothing until it is used.
package commonpw

import (
	_ "embed"
	"strings"
	"sync"
)

//go:embed common.txt
var commonTxt string

// set is the parsed list, built once on first use.
var set = sync.OnceValue(func() map[string]struct{} {
	lines := strings.Split(commonTxt, "\n")
	m := make(map[string]struct{}, len(lines))
	for _, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		m[strings.ToLower(line)] = struct{}{}
	}
	return m
})

// IsCommon reports whether password (already NFC-normalised by the caller) is
// on the embedded list of the most common passwords. The check is
// case-insensitive: the list is lower-case and password is compared after
// strings.ToLower. It is safe for concurrent use.
func IsCommon(password string) bool {
	_, ok := set()[strings.ToLower(password)]
	return ok
}

// Len returns how many passwords the list holds.
func Len() int {
	return len(set())
}
