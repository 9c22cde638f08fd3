package sqlite

// On darwin fsync does not reach the platter; F_FULLFSYNC does.
var platformPragmas = []string{"fullfsync(1)"}
