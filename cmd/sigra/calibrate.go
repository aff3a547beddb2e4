package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/password"
)

// calibration is the outcome of calibrate.
type calibration struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
	took    time.Duration // the median of the chosen parameters' runs
}

// calibrate finds the smallest Argon2id time cost whose hash, at memory
// KiB and threads, takes at least target on this machine, and never less
// than the floor password.New enforces (password.MinMemoryTime), measuring
// through a password.Hasher. Each candidate is the median of three hashes.
func calibrate(ctx context.Context, target time.Duration, memory uint32, threads uint8) (calibration, error) {
	measure := func(t uint32) (time.Duration, error) {
		h, err := password.New(password.Config{Params: password.Params{Memory: memory, Time: t, Threads: threads}, PoolSize: 1})
		if err != nil {
			if errors.Is(err, sigra.ErrConfig) {
				return 0, fail(exitUsage, "%v", err)
			}
			return 0, err
		}
		var runs []time.Duration
		for range 3 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			start := time.Now()
			if _, err := h.Hash(ctx, "calibration password"); err != nil {
				return 0, fmt.Errorf("hash: %w", err)
			}
			runs = append(runs, time.Since(start))
		}
		slices.Sort(runs)
		return runs[1], nil
	}
	floor := uint32((password.MinMemoryTime + uint64(memory) - 1) / uint64(memory))
	t := max(1, floor)
	took, err := measure(t)
	if err != nil {
		return calibration{}, err
	}
	// The cost grows about linearly with t: estimate, then step up until
	// the target is met.
	if took < target {
		t = max(t, uint32(float64(t)*float64(target)/float64(took)))
		if took, err = measure(t); err != nil {
			return calibration{}, err
		}
		for took < target && t < 1000 {
			t++
			if took, err = measure(t); err != nil {
				return calibration{}, err
			}
		}
	}
	return calibration{memory: memory, time: t, threads: threads, took: took}, nil
}
