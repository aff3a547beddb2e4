//go:build linux

package bench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// processUsage returns what process pid has used so far, read from
// /proc/pid/stat (CPU time in clock ticks of 10 ms, Linux's USER_HZ), and
// the name of its command; ok is false when it cannot be read.
func processUsage(pid int) (u usage, name string, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return usage{}, "", false
	}
	// "pid (name) state ...": the name may hold spaces and parentheses.
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return usage{}, "", false
	}
	f := strings.Fields(string(b[end+1:]))
	if len(f) < 13 {
		return usage{}, "", false
	}
	// After the name: state, then minflt the 8th field, utime the 12th
	// and stime the 13th.
	minflt, err0 := strconv.ParseInt(f[7], 10, 64)
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err0 != nil || err1 != nil || err2 != nil {
		return usage{}, "", false
	}
	return usage{cpu: time.Duration(utime+stime) * 10 * time.Millisecond, faults: minflt}, string(b[open+1 : end]), true
}

// selfUsage returns what this process has used so far, its garbage
// collector's share included.
func selfUsage() (usage, bool) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return usage{}, false
	}
	return usage{cpu: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), faults: ru.Minflt, gc: readGC()}, true
}

// TestProcessUsage reads this process's usage from /proc and checks it
// against getrusage's, read before and after: the page faults between the
// two, the CPU time within two clock ticks of them (/proc counts user and
// system time each in whole ticks).
func TestProcessUsage(t *testing.T) {
	before, ok := selfUsage()
	if !ok {
		t.Fatal("getrusage failed")
	}
	got, name, ok := processUsage(os.Getpid())
	after, ok2 := selfUsage()
	if !ok || !ok2 {
		t.Fatalf("usage not read: /proc %v, getrusage %v", ok, ok2)
	}
	if want := filepath.Base(os.Args[0]); !strings.HasPrefix(want, name) {
		t.Errorf("name: got %q, want a prefix of %q", name, want)
	}
	if got.faults < before.faults || got.faults > after.faults {
		t.Errorf("faults: got %d, want between %d and %d", got.faults, before.faults, after.faults)
	}
	const ticks = 2 * 10 * time.Millisecond
	if got.cpu < before.cpu-ticks || got.cpu > after.cpu+ticks {
		t.Errorf("cpu: got %v, want between %v and %v", got.cpu, before.cpu-ticks, after.cpu+ticks)
	}
	if got.faults == 0 || got.cpu == 0 {
		t.Errorf("got %+v: a running test has faulted pages in and used CPU", got)
	}
	if _, _, ok := processUsage(-1); ok {
		t.Error("processUsage(-1): got ok, want no such process")
	}
}
