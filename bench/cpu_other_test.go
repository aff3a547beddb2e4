//go:build !linux

package bench

// processUsage reports nothing here: it reads Linux's /proc.
func processUsage(int) (u usage, name string, ok bool) { return usage{}, "", false }

// selfUsage reports nothing here.
func selfUsage() (usage, bool) { return usage{}, false }
