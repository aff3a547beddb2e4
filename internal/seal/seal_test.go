package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func mustKey(t testing.TB, id string, fill byte) Key {
	t.Helper()
	k, err := NewKey(id, bytes.Repeat([]byte{fill}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustRing(t testing.TB, primary Key, others ...Key) *Keyring {
	t.Helper()
	r, err := New(primary, others...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSealOpen(t *testing.T) {
	t.Parallel()
	r := mustRing(t, mustKey(t, "k1", 1))
	tests := []struct {
		name      string
		plaintext []byte
		ad        []byte
	}{
		{"empty", nil, nil},
		{"secret", []byte("JBSWY3DPEHPK3PXP"), []byte("totp:user-1")},
		{"no ad", []byte("hello"), nil},
		{"binary", bytes.Repeat([]byte{0, 0xff}, 5000), []byte{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sealed, err := r.Seal(tt.plaintext, tt.ad)
			if err != nil {
				t.Fatal(err)
			}
			if want := len(tt.plaintext) + Overhead + len("k1"); len(sealed) != want {
				t.Errorf("len(sealed) = %d, want %d", len(sealed), want)
			}
			if len(tt.plaintext) >= 4 && bytes.Contains(sealed, tt.plaintext) {
				t.Error("sealed value contains the plaintext")
			}
			got, err := r.Open(sealed, tt.ad)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.plaintext) {
				t.Errorf("Open = %q, want %q", got, tt.plaintext)
			}
		})
	}
}

// TestEnvelopeFormat decrypts a sealed value with crypto/cipher directly,
// following the format in the package documentation.
func TestEnvelopeFormat(t *testing.T) {
	t.Parallel()
	secret := bytes.Repeat([]byte{7}, KeySize)
	k, err := NewKey("2026-01", secret)
	if err != nil {
		t.Fatal(err)
	}
	r := mustRing(t, k)
	ad := []byte("totp:user-1")
	sealed, err := r.Seal([]byte("seed"), ad)
	if err != nil {
		t.Fatal(err)
	}
	if sealed[0] != 0x01 || sealed[1] != 7 || string(sealed[2:9]) != "2026-01" {
		t.Fatalf("header = %x, want 01 07 \"2026-01\"", sealed[:9])
	}
	block, _ := aes.NewCipher(secret)
	gcm, _ := cipher.NewGCM(block)
	nonce, ct := sealed[9:9+12], sealed[9+12:]
	pt, err := gcm.Open(nil, nonce, ct, append(append([]byte{}, sealed[:9]...), ad...))
	if err != nil || string(pt) != "seed" {
		t.Errorf("independent open = %q, %v; want \"seed\", nil", pt, err)
	}
	if id, err := KeyID(sealed); err != nil || id != "2026-01" {
		t.Errorf("KeyID = %q, %v; want 2026-01, nil", id, err)
	}
}

func TestSealUsesFreshNonces(t *testing.T) {
	t.Parallel()
	r := mustRing(t, mustKey(t, "k1", 1))
	seen := make(map[string]bool)
	for range 1000 {
		s, err := r.Seal([]byte("same"), []byte("ad"))
		if err != nil {
			t.Fatal(err)
		}
		nonce := string(s[4 : 4+NonceSize])
		if seen[nonce] {
			t.Fatalf("nonce %x repeated", nonce)
		}
		seen[nonce] = true
	}
}

func TestOpenWithOtherAssociatedData(t *testing.T) {
	t.Parallel()
	r := mustRing(t, mustKey(t, "k1", 1))
	sealed, err := r.Seal([]byte("seed of user 1"), []byte("totp:user-1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ad := range []string{"totp:user-2", "totp:user-1 ", "totp:user-", "", "mail:user-1"} {
		if pt, err := r.Open(sealed, []byte(ad)); !errors.Is(err, ErrDecrypt) || pt != nil {
			t.Errorf("Open with ad %q = %q, %v; want nil, ErrDecrypt", ad, pt, err)
		}
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	oldKey, newKey := mustKey(t, "old", 1), mustKey(t, "new", 2)
	before := mustRing(t, oldKey)
	after := mustRing(t, newKey, oldKey)
	retired := mustRing(t, newKey)
	ad := []byte("ad")

	sealedOld, _ := before.Seal([]byte("a"), ad)
	sealedNew, _ := after.Seal([]byte("b"), ad)

	if id, _ := KeyID(sealedNew); id != "new" {
		t.Errorf("after rotation Seal used key %q, want new", id)
	}
	if after.PrimaryID() != "new" {
		t.Errorf("PrimaryID = %q, want new", after.PrimaryID())
	}
	if pt, err := after.Open(sealedOld, ad); err != nil || string(pt) != "a" {
		t.Errorf("new ring opening old value = %q, %v; want a, nil", pt, err)
	}
	if _, err := before.Open(sealedNew, ad); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("old ring opening new value: got %v, want ErrUnknownKey", err)
	}
	if _, err := retired.Open(sealedOld, ad); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("ring without old key: got %v, want ErrUnknownKey", err)
	}
}

// TestHeaderAuthenticated relabels a value with the id of another key that
// has the same secret: only authenticating the header catches it.
func TestHeaderAuthenticated(t *testing.T) {
	t.Parallel()
	r := mustRing(t, mustKey(t, "ka", 1), mustKey(t, "kb", 1))
	sealed, _ := r.Seal([]byte("x"), nil)
	relabeled := bytes.Clone(sealed)
	relabeled[3] = 'b'
	if _, err := r.Open(relabeled, nil); !errors.Is(err, ErrDecrypt) {
		t.Errorf("relabeled value: got %v, want ErrDecrypt", err)
	}
}

func TestOpenTampered(t *testing.T) {
	t.Parallel()
	r := mustRing(t, mustKey(t, "k1", 1))
	sealed, _ := r.Seal([]byte("secret value"), []byte("ad"))
	for i := range sealed {
		for _, bit := range []byte{0x01, 0x80} {
			bad := bytes.Clone(sealed)
			bad[i] ^= bit
			pt, err := r.Open(bad, []byte("ad"))
			if err == nil {
				t.Fatalf("flipping bit %#x of byte %d: Open succeeded with %q", bit, i, pt)
			}
			if !errors.Is(err, ErrDecrypt) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("byte %d: error %v wraps none of the package errors", i, err)
			}
		}
	}
	for n := range len(sealed) {
		if _, err := r.Open(sealed[:n], []byte("ad")); err == nil {
			t.Fatalf("truncated to %d bytes: Open succeeded", n)
		}
	}
	if _, err := r.Open(append(bytes.Clone(sealed), 0), []byte("ad")); !errors.Is(err, ErrDecrypt) {
		t.Errorf("extended: got %v, want ErrDecrypt", err)
	}
}

func TestOpenMalformed(t *testing.T) {
	t.Parallel()
	r := mustRing(t, mustKey(t, "k1", 1))
	tests := []struct {
		name string
		in   []byte
	}{
		{"nil", nil},
		{"version only", []byte{1}},
		{"unknown version", append([]byte{2, 2, 'k', '1'}, make([]byte, 28)...)},
		{"zero id length", append([]byte{1, 0}, make([]byte, 28)...)},
		{"id too long", append([]byte{1, 33}, make([]byte, 100)...)},
		{"too short for tag", append([]byte{1, 2, 'k', '1'}, make([]byte, 27)...)},
		{"bad id character", append([]byte{1, 2, 'k', ':'}, make([]byte, 28)...)},
	}
	for _, tt := range tests {
		if _, err := r.Open(tt.in, nil); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", tt.name, err)
		}
	}
}

func TestNewKeyring(t *testing.T) {
	t.Parallel()
	k1, k2 := mustKey(t, "k1", 1), mustKey(t, "k2", 2)
	tests := []struct {
		name    string
		primary Key
		others  []Key
	}{
		{"zero primary", Key{}, nil},
		{"zero other", k1, []Key{{}}},
		{"duplicate id", k1, []Key{k2, mustKey(t, "k1", 3)}},
		{"short secret", Key{id: "k3", secret: make([]byte, 16)}, nil},
	}
	for _, tt := range tests {
		if r, err := New(tt.primary, tt.others...); !errors.Is(err, ErrInvalidKey) || r != nil {
			t.Errorf("%s: New = %v, %v; want nil, ErrInvalidKey", tt.name, r, err)
		}
	}
	if _, err := New(k1, k2); err != nil {
		t.Errorf("New(k1, k2): %v", err)
	}
	var zero Keyring
	if _, err := zero.Seal([]byte("x"), nil); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("zero Keyring Seal: got %v, want ErrUnknownKey", err)
	}
}

func TestNewKey(t *testing.T) {
	t.Parallel()
	secret := make([]byte, KeySize)
	for _, id := range []string{"a", "2026-01", "key_1.v2", strings.Repeat("x", MaxKeyIDLen)} {
		if _, err := NewKey(id, secret); err != nil {
			t.Errorf("NewKey(%q): %v", id, err)
		}
	}
	for _, id := range []string{"", strings.Repeat("x", MaxKeyIDLen+1), "a:b", "a b", "a,b", "ké"} {
		if _, err := NewKey(id, secret); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("NewKey(%q): got %v, want ErrInvalidKey", id, err)
		}
	}
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := NewKey("k", make([]byte, n)); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("NewKey with %d bytes: got %v, want ErrInvalidKey", n, err)
		}
	}
	// The secret is copied.
	buf := bytes.Repeat([]byte{1}, KeySize)
	k, _ := NewKey("k", buf)
	buf[0] = 9
	if k.secret[0] != 1 {
		t.Error("NewKey kept a reference to the caller's slice")
	}
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	secret := []byte("0123456789abcdef0123456789abcde\xfb")
	std := base64.StdEncoding.EncodeToString(secret)
	url := base64.RawURLEncoding.EncodeToString(secret)
	good := []string{
		"k1:" + std,
		"k1:" + strings.TrimRight(std, "="),
		"k1:" + url,
		"k1:" + base64.URLEncoding.EncodeToString(secret),
		"  k1:" + std + "\n",
	}
	for _, s := range good {
		k, err := ParseKey(s)
		if err != nil {
			t.Errorf("ParseKey(%q): %v", s, err)
			continue
		}
		if k.ID() != "k1" || !bytes.Equal(k.secret, secret) {
			t.Errorf("ParseKey(%q) = %q %x, want k1 %x", s, k.ID(), k.secret, secret)
		}
	}
	bad := []string{
		"",
		std,
		":" + std,
		"k 1:" + std,
		"k1:",
		"k1:" + base64.StdEncoding.EncodeToString(secret[:31]),
		"k1:" + base64.StdEncoding.EncodeToString(append(bytes.Clone(secret), 0)),
		"k1:not base64!",
	}
	for _, s := range bad {
		if _, err := ParseKey(s); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ParseKey(%q): got %v, want ErrInvalidKey", s, err)
		}
	}
}

func TestGenerateKeyEncodeRoundTrip(t *testing.T) {
	t.Parallel()
	k, err := GenerateKey("gen")
	if err != nil {
		t.Fatal(err)
	}
	k2, err := GenerateKey("gen")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(k.secret, k2.secret) {
		t.Error("GenerateKey returned the same secret twice")
	}
	back, err := ParseKey(k.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if back.ID() != "gen" || !bytes.Equal(back.secret, k.secret) {
		t.Errorf("round trip changed the key")
	}
	if _, err := GenerateKey("bad id"); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("GenerateKey(bad id): got %v, want ErrInvalidKey", err)
	}
}

func TestKeyRedacted(t *testing.T) {
	t.Parallel()
	k, _ := GenerateKey("k1")
	b64 := base64.StdEncoding.EncodeToString(k.secret)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, k)
		if strings.Contains(out, b64) || strings.Contains(out, fmt.Sprint(k.secret)) || !strings.Contains(out, "k1") {
			t.Errorf("Sprintf(%s, key) = %q, want the id without the secret", verb, out)
		}
	}
}

func TestParseKeyring(t *testing.T) {
	t.Parallel()
	k1, _ := GenerateKey("k1")
	k2, _ := GenerateKey("k2")
	r, err := ParseKeyring(k2.Encode() + ", " + k1.Encode() + ",")
	if err != nil {
		t.Fatal(err)
	}
	if r.PrimaryID() != "k2" {
		t.Errorf("PrimaryID = %q, want k2", r.PrimaryID())
	}
	old, _ := mustRing(t, k1).Seal([]byte("x"), nil)
	if pt, err := r.Open(old, nil); err != nil || string(pt) != "x" {
		t.Errorf("Open(old) = %q, %v", pt, err)
	}
	for _, spec := range []string{"", " , ", "k1", k1.Encode() + "," + k1.Encode()} {
		if _, err := ParseKeyring(spec); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ParseKeyring(%q): got %v, want ErrInvalidKey", spec, err)
		}
	}
}

func FuzzOpen(f *testing.F) {
	r := mustRing(f, mustKey(f, "k1", 1), mustKey(f, "k2", 2))
	// A fixed envelope (Seal draws a random nonce, and each fuzzing process
	// would get another one), built as the package documentation says.
	block, _ := aes.NewCipher(bytes.Repeat([]byte{2}, KeySize))
	gcm, _ := cipher.NewGCM(block)
	good := []byte{1, 2, 'k', '2', 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	good = gcm.Seal(good, good[4:], []byte("plaintext"), append(bytes.Clone(good[:4]), "ad"...))
	if pt, err := r.Open(good, []byte("ad")); err != nil || string(pt) != "plaintext" {
		f.Fatalf("fixed envelope: Open = %q, %v", pt, err)
	}
	f.Add(good, []byte("ad"))
	f.Add([]byte{1, 2, 'k', '2'}, []byte(nil))
	f.Add([]byte{}, []byte("ad"))
	f.Fuzz(func(t *testing.T, sealed, ad []byte) {
		pt, err := r.Open(sealed, ad)
		if err != nil {
			if pt != nil {
				t.Fatalf("Open returned %q with error %v", pt, err)
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownKey) && !errors.Is(err, ErrDecrypt) {
				t.Fatalf("Open error %v wraps none of the package errors", err)
			}
			return
		}
		// Only genuine envelopes open: forging one without the key is
		// infeasible, so anything that opens is the seed itself.
		if !bytes.Equal(sealed, good) || string(ad) != "ad" || string(pt) != "plaintext" {
			t.Fatalf("Open(%x, %q) = %q; only the seed envelope should open", sealed, ad, pt)
		}
	})
}

func FuzzSealOpen(f *testing.F) {
	r := mustRing(f, mustKey(f, "k1", 1))
	f.Add([]byte("x"), []byte("ad"), []byte("other"))
	f.Fuzz(func(t *testing.T, plaintext, ad, other []byte) {
		sealed, err := r.Seal(plaintext, ad)
		if err != nil {
			t.Fatal(err)
		}
		pt, err := r.Open(sealed, ad)
		if err != nil || !bytes.Equal(pt, plaintext) {
			t.Fatalf("round trip: %q, %v; want %q", pt, err, plaintext)
		}
		if !bytes.Equal(ad, other) {
			if _, err := r.Open(sealed, other); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("Open with other ad: got %v, want ErrDecrypt", err)
			}
		}
	})
}

func BenchmarkSeal(b *testing.B) {
	secret := bytes.Repeat([]byte{1}, KeySize)
	k, _ := NewKey("k1", secret)
	r := mustRing(b, k)
	pt := make([]byte, 1024)
	ad := []byte("mail:user@example.com")
	b.Run("Keyring.Seal/1KiB", func(b *testing.B) {
		b.SetBytes(int64(len(pt)))
		for b.Loop() {
			if _, err := r.Seal(pt, ad); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Baseline: raw AES-256-GCM with a random nonce, no envelope.
	b.Run("baseline/cipher.AEAD.Seal/1KiB", func(b *testing.B) {
		block, _ := aes.NewCipher(secret)
		gcm, _ := cipher.NewGCMWithRandomNonce(block)
		b.SetBytes(int64(len(pt)))
		for b.Loop() {
			_ = gcm.Seal(nil, nil, pt, ad)
		}
	})
}
