//go:build !linux

package bench

import "time"

// processCPU reports nothing here: it reads Linux's /proc.
func processCPU(int) (cpu time.Duration, name string, ok bool) { return 0, "", false }

// selfCPU reports nothing here.
func selfCPU() (time.Duration, bool) { return 0, false }
