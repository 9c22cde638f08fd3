package s3

// SetPartSize sets the part size of s, so tests reach the multipart path with small bodies.
func SetPartSize(s *Store, n int) { s.partSize = n }
