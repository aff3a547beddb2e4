package retry

import (
	"strings"
	"testing"
	"time"
)

func TestDelay(t *testing.T) {
	t.Parallel()
	base, max := time.Second, time.Minute
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 6: 32 * time.Second, 7: time.Minute, 60: time.Minute} {
		for range 50 {
			if got := Delay(base, max, n); got > want || got < want/2 {
				t.Fatalf("Delay after failure %d: got %v, want within [%v, %v]", n, got, want/2, want)
			}
		}
	}
}

func TestErrorText(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", MaxErrorText-1) + "é and more" // é straddles the limit
	tests := []struct {
		name, in, want string
	}{
		{"short", "421 try again later", "421 try again later"},
		{"exactly the limit", strings.Repeat("x", MaxErrorText), strings.Repeat("x", MaxErrorText)},
		{"cut before a character", long, strings.Repeat("a", MaxErrorText-1)},
		{"invalid bytes before the cut kept", "\xff" + strings.Repeat("b", MaxErrorText), "\xff" + strings.Repeat("b", MaxErrorText-1)},
	}
	for _, tt := range tests {
		if got := ErrorText(tt.in); got != tt.want {
			t.Errorf("%s: ErrorText: got %d bytes %q..., want %d bytes", tt.name, len(got), got[:min(len(got), 8)], len(tt.want))
		}
	}
}
