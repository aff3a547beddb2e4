package seal_test

import (
	"errors"
	"fmt"

	"github.com/sigra-go/sigra/internal/seal"
)

func Example() {
	// In production the keys come from configuration, for example an
	// environment variable holding "2026-06:base64,2026-01:base64".
	oldKey, _ := seal.GenerateKey("2026-01")
	ring, _ := seal.New(oldKey)
	sealed, _ := ring.Seal([]byte("JBSWY3DPEHPK3PXP"), []byte("totp:user-1"))

	// Rotate: a new primary key, the old one kept for opening.
	newKey, _ := seal.GenerateKey("2026-06")
	ring, err := seal.ParseKeyring(newKey.Encode() + "," + oldKey.Encode())
	if err != nil {
		panic(err)
	}
	secret, err := ring.Open(sealed, []byte("totp:user-1"))
	fmt.Println(string(secret), err)

	// A value moved to another user's row does not open.
	_, err = ring.Open(sealed, []byte("totp:user-2"))
	fmt.Println(errors.Is(err, seal.ErrDecrypt))

	// Which key sealed it: re-seal values still under the old key.
	id, _ := seal.KeyID(sealed)
	fmt.Println(id, ring.PrimaryID())
	// Output:
	// JBSWY3DPEHPK3PXP <nil>
	// true
	// 2026-01 2026-06
}
