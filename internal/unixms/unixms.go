// Package unixms converts times to and from the Unix milliseconds that authcube stores: UTC,
// to the millisecond, with the zero time as 0.
package unixms

import "time"

// Of returns t in Unix milliseconds; the zero time is 0.
func Of(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// Time returns the UTC time of Unix milliseconds v; 0 is the zero time.
func Time(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}
