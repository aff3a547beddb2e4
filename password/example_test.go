package password_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/sigra-go/sigra/password"
)

func Example() {
	ctx := context.Background()
	hasher, err := password.New(password.Config{}) // Argon2id, m=19 MiB, t=2, p=1
	if err != nil {
		log.Fatal(err)
	}

	// Registration: check the new password, then store its hash.
	if err := hasher.Check(ctx, "violet tractor anthem", password.Context{Email: "a.user@example.com"}); err != nil {
		log.Fatal(err)
	}
	hash, err := hasher.Hash(ctx, "violet tractor anthem")
	if err != nil {
		log.Fatal(err) // wraps sigra.ErrBusy when the pool stays full: answer 503
	}
	fmt.Println(hash[:30])

	// Sign-in.
	ok, needsRehash, err := hasher.Verify(ctx, "violet tractor anthem", hash)
	fmt.Println(ok, needsRehash, err)
	ok, _, _ = hasher.Verify(ctx, "violet tractor", hash)
	fmt.Println(ok)
	// Output:
	// $argon2id$v=19$m=19456,t=2,p=1
	// true false <nil>
	// false
}

// A user whose password was hashed with bcrypt by a previous system signs
// in: the hash verifies, needsRehash is true, and the application stores
// a new Argon2id hash in its place.
func ExampleHasher_Verify_bcryptUpgrade() {
	ctx := context.Background()
	hasher, err := password.New(password.Config{})
	if err != nil {
		log.Fatal(err)
	}
	// Made by python bcrypt.hashpw with cost 10.
	stored := "$2b$10$allNIXN/FjOjBNLv342yYOdv9YrB/st2FykcrTo3fb1.3QzDCSfe6"

	ok, needsRehash, err := hasher.Verify(ctx, "correct horse battery staple", stored)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("verified:", ok, "needs rehash:", needsRehash)
	if ok && needsRehash {
		stored, err = hasher.Hash(ctx, "correct horse battery staple")
		if err != nil {
			log.Fatal(err)
		}
		// store.Users.SetPasswordHash(ctx, userID, stored, now)
	}
	ok, needsRehash, _ = hasher.Verify(ctx, "correct horse battery staple", stored)
	fmt.Println("verified:", ok, "needs rehash:", needsRehash)
	// Output:
	// verified: true needs rehash: true
	// verified: true needs rehash: false
}

// When a sign-in names no known account, DummyVerify spends the same work
// as a failed verification, so timing does not reveal which accounts exist.
func ExampleHasher_DummyVerify() {
	ctx := context.Background()
	hasher, err := password.New(password.Config{})
	if err != nil {
		log.Fatal(err)
	}
	if err := hasher.DummyVerify(ctx, "whatever was typed"); err != nil {
		log.Fatal(err) // only pool errors (sigra.ErrBusy)
	}
	fmt.Println("invalid email or password")
	// Output: invalid email or password
}

func ExamplePolicy_Check() {
	policy := password.Policy{
		MinLength:    15, // the password is the only factor
		ContextWords: []string{"Sigra"},
	}
	user := password.Context{Email: "a.user@example.com"}
	for _, pw := range []string{
		"short",
		"qwerty123456789",
		"sigra-sigra-2024",
		"a.user@example.com",
		"violet tractor anthem",
	} {
		err := policy.Check(context.Background(), pw, user)
		var pe *password.PolicyError
		if errors.As(err, &pe) {
			fmt.Printf("%-22q %s: %s\n", pw, pe.Reason, pe.Message)
			continue
		}
		fmt.Printf("%-22q accepted\n", pw)
	}
	// Output:
	// "short"                too_short: Use at least 15 characters.
	// "qwerty123456789"      common: This password is too common. Choose a less predictable one.
	// "sigra-sigra-2024"     contains_context: This password is too close to your email address, your name or the name of this service.
	// "a.user@example.com"   contains_context: This password is too close to your email address, your name or the name of this service.
	// "violet tractor anthem" accepted
}

func ExampleNewRangeClient() {
	breach, err := password.NewRangeClient(password.RangeConfig{}) // Pwned Passwords, padded, 3s timeout
	if err != nil {
		log.Fatal(err)
	}
	hasher, err := password.New(password.Config{
		Policy: password.Policy{Breach: breach, BreachFailOpen: false},
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = hasher // hasher.Check now also asks the breach service
	fmt.Println("configured")
	// Output: configured
}

// A user imported from Django, with the pbkdf2_sha256 hash Django stored,
// signs in: the hash verifies and needsRehash asks for an Argon2id hash.
func ExampleHasher_Verify_django() {
	ctx := context.Background()
	hasher, err := password.New(password.Config{})
	if err != nil {
		log.Fatal(err)
	}
	// Made by Django 3.2's make_password.
	stored := "pbkdf2_sha256$260000$RGyFNNgH3fxqRq3zTouRR2$GP0SAgEci4f6gS8Ei1AoWU66vWnxWHf27SO2qf+rgqs="
	ok, needsRehash, err := hasher.Verify(ctx, "correct horse battery staple", stored)
	fmt.Println(ok, needsRehash, err)
	// Output: true true <nil>
}

// A user imported from Better Auth, whose hash is its scrypt "salt:key".
func ExampleHasher_Verify_betterAuth() {
	ctx := context.Background()
	hasher, err := password.New(password.Config{})
	if err != nil {
		log.Fatal(err)
	}
	// Made by hashPassword of the better-auth npm package.
	stored := "326e18582cc1f1a63d0994c2f7909a40:ffe958317cf147885c2c70ce641b737662389b497041cd8a9745b1bb9af3c160399475b636c7ee6439dc50ec3b9fa933eba24192ebb955651593a8a276f38650"
	ok, needsRehash, err := hasher.Verify(ctx, "correct horse battery staple", stored)
	fmt.Println(ok, needsRehash, err)
	// Output: true true <nil>
}

// A legacy system kept unsalted MD5 digests. Verify refuses them as they
// are; an import wraps each one under Argon2id, and the user's next
// sign-in replaces the wrapped hash with a plain Argon2id one.
func ExampleHasher_Wrap() {
	ctx := context.Background()
	hasher, err := password.New(password.Config{AllowWrapped: true})
	if err != nil {
		log.Fatal(err)
	}
	legacy := "3e8687c1020f5f848b8653224d1685ca" // PHP's md5("legacy php password")

	_, _, err = hasher.Verify(ctx, "legacy php password", legacy)
	fmt.Println(errors.Is(err, password.ErrUnsafeHash))

	// At import: store the wrapped hash, never the digest.
	stored, err := hasher.Wrap(ctx, legacy)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(stored[:45])

	// At sign-in.
	ok, needsRehash, err := hasher.Verify(ctx, "legacy php password", stored)
	fmt.Println(ok, needsRehash, err)
	// Output:
	// true
	// $sigra-wrap$md5$argon2id$v=19$m=19456,t=2,p=1
	// true true <nil>
}
