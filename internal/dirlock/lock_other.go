//go:build !unix && !windows

package dirlock

import (
	"errors"
	"os"
)

func lock(*os.File) error {
	return errors.New("dirlock: file locking is not supported on this platform")
}
