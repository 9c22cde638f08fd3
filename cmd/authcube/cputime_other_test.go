//go:build !unix

package main

import "time"

// cpuTime is the CPU time the process has used so far; where getrusage is missing it is 0, and
// the benchmark's users/cpu-s figure is left out.
func cpuTime() time.Duration { return 0 }

// peakRSS is 0 where getrusage is missing: the benchmark's figure is left out.
func peakRSS() int64 { return 0 }
