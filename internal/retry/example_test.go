package retry_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/sigra-go/sigra/internal/retry"
)

// The delay grows from the base to the cap, with up to half taken off at
// random; the stored error text is bounded.
func Example() {
	for n := 1; n <= 4; n++ {
		d := retry.Delay(time.Minute, 4*time.Minute, n)
		full := min(time.Minute<<(n-1), 4*time.Minute)
		fmt.Println(n, d <= full && d >= full/2)
	}
	fmt.Println(len(retry.ErrorText(strings.Repeat("x", 5000))))
	// Output:
	// 1 true
	// 2 true
	// 3 true
	// 4 true
	// 1000
}
