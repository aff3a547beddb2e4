package token_test

import (
	"errors"
	"fmt"

	"github.com/sigra-go/sigra/token"
)

// A token is emailed in a link; only its digest is stored. When the link
// comes back, the token is checked before its digest is looked up.
func Example() {
	tok, err := token.New()
	if err != nil {
		panic(err)
	}
	stored := token.Digest(tok) // what the store keeps

	fromLink := tok // the value read back from the link
	if !token.Valid(fromLink) {
		fmt.Println("malformed")
		return
	}
	fmt.Println(len(tok), token.EqualDigest(token.Digest(fromLink), stored))
	fmt.Println(token.Valid("not-a-token"))
	// Output:
	// 43 true
	// false
}

func ExampleNewCode() {
	code, err := token.NewCode(6)
	if err != nil {
		panic(err)
	}
	// The digest is bound to the user and purpose.
	digest := token.CodeDigest("confirm_code", "user-id", code)
	fmt.Println(len(code), len(digest))
	// Output: 6 32
}

func ExampleNormalizeCode() {
	for _, typed := range []string{"123 456", "123-456", "12345O"} {
		code, err := token.NormalizeCode(typed, 6)
		fmt.Printf("%q %v\n", code, err)
	}
	// Output:
	// "123456" <nil>
	// "123456" <nil>
	// "" sigra/token: malformed: code contains 'O'
}

func ExampleNormalizeRecoveryCode() {
	code, err := token.NormalizeRecoveryCode(" 7kqm x4rd ")
	fmt.Println(code, err)
	_, err = token.NormalizeRecoveryCode("7KQM-X4R0") // 0 never occurs in a code
	fmt.Println(errors.Is(err, token.ErrMalformed))
	// Output:
	// 7KQM-X4RD <nil>
	// true
}

func ExampleNewAPIKey() {
	key, err := token.NewAPIKey("sigra")
	if err != nil {
		panic(err)
	}
	prefix, err := token.ParseAPIKey(key)
	fmt.Println(prefix, err, len(key))

	// A key with a typo fails its checksum before any lookup.
	typo := key[:10] + "x" + key[11:]
	if key[10] == 'x' {
		typo = key[:10] + "y" + key[11:]
	}
	_, err = token.ParseAPIKey(typo)
	fmt.Println(errors.Is(err, token.ErrChecksum))
	// Output:
	// sigra <nil> 56
	// true
}
