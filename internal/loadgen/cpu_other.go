//go:build !unix

package loadgen

import "time"

// processCPU returns 0: process CPU time is only read on unix systems.
func processCPU() time.Duration { return 0 }
