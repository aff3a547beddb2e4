package password

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

// BenchmarkHash compares Hash at the default parameters with a bare
// argon2.IDKey call at the same parameters, so the Hasher's overhead
// (normalization, salt, pool, encoding) shows as a ratio in one run.
func BenchmarkHash(b *testing.B) {
	const pw = "correct horse battery staple"
	b.Run("raw-argon2id", func(b *testing.B) {
		salt := make([]byte, DefaultSaltLength)
		for b.Loop() {
			rand.Read(salt)
			argon2.IDKey([]byte(pw), salt, DefaultTime, DefaultMemory, DefaultThreads, DefaultKeyLength)
		}
	})
	b.Run("hasher", func(b *testing.B) {
		h, err := New(Config{})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		for b.Loop() {
			if _, err := h.Hash(ctx, pw); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkVerify does the same for Verify, which also parses the stored
// hash and compares keys.
func BenchmarkVerify(b *testing.B) {
	const pw = "correct horse battery staple"
	h, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	enc, err := h.Hash(ctx, pw)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("raw-argon2id", func(b *testing.B) {
		ph, _ := parseHash(enc)
		for b.Loop() {
			argon2.IDKey([]byte(pw), ph.salt, ph.time, ph.memory, uint8(ph.threads), uint32(len(ph.key)))
		}
	})
	b.Run("hasher", func(b *testing.B) {
		for b.Loop() {
			if ok, _, err := h.Verify(ctx, pw, enc); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
}

// BenchmarkConcurrentVerify runs 500 concurrent verifications at the
// default parameters to completion through a pool of GOMAXPROCS slots and
// reports the heap peak beside pool × m.
func BenchmarkConcurrentVerify(b *testing.B) {
	const callers = 500
	h, err := New(Config{MaxWait: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	const pw = "a user's password"
	enc, err := h.Hash(context.Background(), pw)
	if err != nil {
		b.Fatal(err)
	}
	var peak uint64
	for b.Loop() {
		run := runConcurrentVerify(b, h, enc, pw, callers)
		for _, err := range run.errs {
			if err != nil {
				b.Fatal(errors.Join(run.errs...))
			}
		}
		peak = max(peak, run.peak-run.baseline)
	}
	b.ReportMetric(mib(peak), "peak-heap-MiB")
	b.ReportMetric(mib(uint64(cap(h.sem))*block), "pool×m-MiB")
	b.ReportMetric(callers, "verifications/op")
}

// BenchmarkCheck measures Policy.Check without a breach checker (length,
// blocklist lookup, context words) against NFKC normalization alone.
func BenchmarkCheck(b *testing.B) {
	const pw = "violet tractor anthem"
	b.Run("normalize-only", func(b *testing.B) {
		for b.Loop() {
			_ = fold(pw)
		}
	})
	b.Run("check", func(b *testing.B) {
		p := Policy{ContextWords: []string{"Sigra"}}
		c := Context{Email: "a.user@example.com"}
		ctx := context.Background()
		for b.Loop() {
			if err := p.Check(ctx, pw, c); err != nil {
				b.Fatal(err)
			}
		}
	})
}
