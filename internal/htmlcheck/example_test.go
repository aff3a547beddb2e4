package htmlcheck_test

import (
	"fmt"

	"github.com/sigra-go/sigra/internal/htmlcheck"
)

// A settings section checked as a part of a page: its form lacks the CSRF
// field and its field has no label.
func ExampleCheck() {
	section := `<section><h2>Email address</h2>
<form method="post" action="/auth/email">
<input id="email" name="email" type="email">
<button type="submit">Change email</button>
</form></section>`
	for _, p := range htmlcheck.Check(section, htmlcheck.Options{CSRFToken: "token", Fragment: true}) {
		fmt.Println(p)
	}
	// Output:
	// label: <input name="email" id="email"> has no label
	// csrf: form "/auth/email" has no hidden "csrf_token" field
}
