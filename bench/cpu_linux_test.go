//go:build linux

package bench

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// processCPU returns the CPU time, user and system, that process pid has
// used so far, read from /proc/pid/stat in clock ticks of 10 ms (Linux's
// USER_HZ), and the name of its command; ok is false when it cannot be
// read.
func processCPU(pid int) (cpu time.Duration, name string, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, "", false
	}
	// "pid (name) state ...": the name may hold spaces and parentheses.
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return 0, "", false
	}
	f := strings.Fields(string(b[end+1:]))
	if len(f) < 13 {
		return 0, "", false
	}
	// After the name: state, then utime the 12th field and stime the 13th.
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, "", false
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, string(b[open+1 : end]), true
}

// selfCPU returns the CPU time, user and system, that this process has
// used so far.
func selfCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
