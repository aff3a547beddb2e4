package password

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"
)

// interopPasswords are hashed by each implementation in the tests below.
var interopPasswords = []string{
	"correct horse battery staple",
	"pässwörd-ünïcödé",
	"日本語のパスワード",
	"🔑 clé de sécurité 🔐",
	"пароль-надёжный",
}

// interopParams are the parameter sets exchanged with other
// implementations: the defaults, RFC 9106's second recommendation, OWASP's
// lowest-memory setting, and unusual salt and key lengths.
var interopParams = []Params{
	{},
	{Memory: 65536, Time: 3, Threads: 4},
	{Memory: 7168, Time: 5, Threads: 1},
	{Memory: 19456, Time: 2, Threads: 1, SaltLength: 32, KeyLength: 64},
	{Memory: 12288, Time: 3, Threads: 2, KeyLength: 16},
}

// interopCase is one password at one parameter set.
type interopCase struct {
	params   Params
	password string
}

// interopCases returns every password at the default parameters and one
// password at each other parameter set, which keeps the cost down.
func interopCases() []interopCase {
	var cases []interopCase
	for _, pw := range interopPasswords {
		cases = append(cases, interopCase{interopParams[0], pw})
	}
	for i, p := range interopParams[1:] {
		cases = append(cases, interopCase{p, interopPasswords[i%len(interopPasswords)]})
	}
	return cases
}

// wrongPassword returns password with its first character changed, so a
// bcrypt comparison still sees a password of the same length.
func wrongPassword(password string) string {
	r, size := utf8.DecodeRuneInString(password)
	if r == 'Z' {
		return "Y" + password[size:]
	}
	return "Z" + password[size:]
}

// wrongPasswords returns passwords close to password that must not
// verify: the first character changed, and one character added.
func wrongPasswords(password string) []string {
	return []string{wrongPassword(password), password + "!"}
}

// skipUnderRace skips t under the race detector. The fixtures are hashes
// at other systems' parameters (up to 100 MiB and 8 lanes), which the
// detector slows about six times over without anything for it to find:
// the checks are of encodings and results, and the pool's concurrency has
// tests of its own that do run under it. CI runs these tests in a step
// without -race (.ci/run).
func skipUnderRace(t *testing.T) {
	t.Helper()
	if raceEnabled {
		t.Skip("Argon2 and bcrypt at other systems' parameters are too slow under the race detector; run without -race")
	}
}

// TestFixtures verifies the hashes made by other implementations in
// testdata/interop.tsv (see testdata/make-fixtures.sh), under the default
// configuration: right and wrong passwords, needsRehash, and that the
// rehash is a current Argon2id hash. Unsafe digests are refused, then
// verified once wrapped.
func TestFixtures(t *testing.T) {
	skipUnderRace(t)
	t.Parallel()
	h, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	// wrapping wraps the unsafe digests and makes the rehashes, with
	// cheap parameters: those are not under test here.
	wrapping := newHasher(t, Config{AllowWrapped: true})
	ctx := context.Background()
	seen := map[string]bool{}
	for _, fx := range readFixtures(t) {
		seen[fx.expect] = true
		t.Run(fx.source+"/"+fx.password, func(t *testing.T) {
			t.Parallel()
			ok, rehash, err := h.Verify(ctx, fx.password, fx.hash)
			switch fx.expect {
			case "current", "rehash":
				if want := fx.expect == "rehash"; !ok || rehash != want || err != nil {
					t.Errorf("Verify(%q, %q): got (%v, %v, %v), want (true, %v, nil)", fx.password, fx.hash, ok, rehash, err, want)
				}
				for _, wrong := range wrongPasswords(fx.password) {
					if ok, _, err := h.Verify(ctx, wrong, fx.hash); ok || err != nil {
						t.Errorf("Verify(%q, %q): got (%v, %v), want (false, nil)", wrong, fx.hash, ok, err)
					}
				}
				if fx.expect == "rehash" {
					wantCurrent(t, wrapping, fx.password)
				}
			case "over72":
				if len(fx.password) <= 72 {
					t.Fatalf("over72 fixture of %d bytes", len(fx.password))
				}
				if ok || err != nil {
					t.Errorf("Verify(%d-byte password, bcrypt hash of its first 72 bytes): got (%v, %v), want (false, nil)", len(fx.password), ok, err)
				}
				if ok, _, err := h.Verify(ctx, fx.password[:72], fx.hash); !ok || err != nil {
					t.Errorf("Verify(first 72 bytes): got (%v, %v), want (true, nil)", ok, err)
				}
			case "unsupported":
				if ok || !errors.Is(err, ErrUnsupportedHash) || errors.Is(err, ErrUnsafeHash) {
					t.Errorf("Verify(%q): got (%v, %v), want (false, ErrUnsupportedHash)", fx.hash, ok, err)
				}
			case "unsafe":
				if ok || !errors.Is(err, ErrUnsafeHash) || !errors.Is(err, ErrUnsupportedHash) {
					t.Fatalf("Verify(%q): got (%v, %v), want (false, ErrUnsafeHash)", fx.hash, ok, err)
				}
				if ok, _, err := wrapping.Verify(ctx, fx.password, fx.hash); ok || !errors.Is(err, ErrUnsafeHash) {
					t.Errorf("Verify(%q) with AllowWrapped: got (%v, %v), want (false, ErrUnsafeHash): only the wrapped form verifies", fx.hash, ok, err)
				}
				wrapped, err := wrapping.Wrap(ctx, fx.hash)
				if err != nil {
					t.Fatalf("Wrap(%q): %v", fx.hash, err)
				}
				if !strings.HasPrefix(wrapped, "$sigra-wrap$") || strings.Contains(strings.ToLower(wrapped), strings.ToLower(fx.hash)) {
					t.Errorf("Wrap(%q): got %q, want a $sigra-wrap$ hash without the digest in it", fx.hash, wrapped)
				}
				if ok, rehash, err := wrapping.Verify(ctx, fx.password, wrapped); !ok || !rehash || err != nil {
					t.Errorf("Verify(%q, wrapped %q): got (%v, %v, %v), want (true, true, nil)", fx.password, wrapped, ok, rehash, err)
				}
				for _, wrong := range wrongPasswords(fx.password) {
					if ok, _, err := wrapping.Verify(ctx, wrong, wrapped); ok || err != nil {
						t.Errorf("Verify(%q, wrapped): got (%v, %v), want (false, nil)", wrong, ok, err)
					}
				}
				if ok, _, err := h.Verify(ctx, fx.password, wrapped); ok || !errors.Is(err, ErrUnsupportedHash) {
					t.Errorf("Verify(wrapped) without AllowWrapped: got (%v, %v), want (false, ErrUnsupportedHash)", ok, err)
				}
				wantCurrent(t, wrapping, fx.password)
			default:
				t.Fatalf("unknown expectation %q", fx.expect)
			}
		})
	}
	for _, e := range []string{"current", "rehash", "over72", "unsupported", "unsafe"} {
		if !seen[e] {
			t.Errorf("no %q fixture in testdata/interop.tsv", e)
		}
	}
}

// wantCurrent checks that the rehash of a verified password, Hash, is an
// Argon2id hash at h's parameters that verifies without needing a rehash.
func wantCurrent(t *testing.T, h *Hasher, password string) {
	t.Helper()
	ctx := context.Background()
	fresh, err := h.Hash(ctx, password)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(fresh, "$argon2id$") {
		t.Errorf("rehash of %q: got %q, want $argon2id$", password, fresh)
	}
	if ok, rehash, err := h.Verify(ctx, password, fresh); !ok || rehash || err != nil {
		t.Errorf("Verify(%q, rehash): got (%v, %v, %v), want (true, false, nil)", password, ok, rehash, err)
	}
}

// TestInteropArgon2CLI hashes with this package and with the reference
// Argon2 command-line tool, with the same salt, and compares the PHC
// strings byte for byte. The tool takes the salt as an argument, so the
// salts here are printable.
func TestInteropArgon2CLI(t *testing.T) {
	t.Parallel()
	cli, err := exec.LookPath("argon2")
	if err != nil {
		if os.Getenv("SIGRA_E2E_REQUIRED") != "" {
			t.Fatal("argon2 CLI not found: install Debian package argon2")
		}
		t.Skip("argon2 CLI not found: install Debian package argon2")
	}
	ctx := context.Background()
	for i, c := range interopCases() {
		h, err := New(Config{Params: c.params})
		if err != nil {
			t.Fatal(err)
		}
		p, pw := h.Params(), c.password
		salt := printableSalt(t, int(p.SaltLength))
		t.Run(fmt.Sprintf("m=%d,t=%d,p=%d,salt=%d,key=%d/%d", p.Memory, p.Time, p.Threads, p.SaltLength, p.KeyLength, i), func(t *testing.T) {
			t.Parallel()
			ours, err := h.hashWithSalt(ctx, pw, []byte(salt))
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(cli, salt, "-id", "-t", fmt.Sprint(p.Time), "-k", fmt.Sprint(p.Memory),
				"-p", fmt.Sprint(p.Threads), "-l", fmt.Sprint(p.KeyLength), "-e")
			cmd.Stdin = strings.NewReader(pw)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%v: %v", cmd, err)
			}
			if theirs := strings.TrimSpace(string(out)); theirs != ours {
				t.Errorf("password %q: argon2 CLI gave %q, we gave %q", pw, theirs, ours)
			}
		})
	}
}

// printableSalt returns n random characters from the base64 alphabet.
func printableSalt(t *testing.T, n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// pythonArgon2 returns a Python interpreter that has argon2-cffi.
func pythonArgon2(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		path, err := exec.LookPath(py)
		if err != nil {
			continue
		}
		if exec.Command(path, "-c", "import argon2").Run() == nil {
			return path
		}
	}
	if os.Getenv("SIGRA_E2E_REQUIRED") != "" {
		t.Fatal("python argon2-cffi not found: install Debian package python3-argon2")
	}
	t.Skip("python argon2-cffi not found: install Debian package python3-argon2")
	return ""
}

// TestInteropPython: hashes made by Hash verify in argon2-cffi (and wrong
// passwords do not); hashes made by argon2-cffi verify in Verify.
func TestInteropPython(t *testing.T) {
	skipUnderRace(t)
	t.Parallel()
	py := pythonArgon2(t)
	ctx := context.Background()

	type request struct {
		Op       string `json:"op"`
		Password string `json:"password"`
		Hash     string `json:"hash,omitempty"`
		Wrong    string `json:"wrong,omitempty"`
		T        uint32 `json:"t,omitempty"`
		M        uint32 `json:"m,omitempty"`
		P        uint8  `json:"p,omitempty"`
		Type     string `json:"type,omitempty"`
	}
	type response struct {
		OK      bool   `json:"ok"`
		WrongOK bool   `json:"wrong_ok"`
		Hash    string `json:"hash"`
	}
	var reqs []request
	var verifier *Hasher
	for _, c := range interopCases() {
		h, err := New(Config{Params: c.params})
		if err != nil {
			t.Fatal(err)
		}
		if verifier == nil {
			verifier = h
		}
		enc, err := h.Hash(ctx, c.password)
		if err != nil {
			t.Fatal(err)
		}
		p := h.Params()
		reqs = append(reqs, request{Op: "verify", Password: c.password, Hash: enc, Wrong: wrongPassword(c.password)})
		reqs = append(reqs, request{Op: "hash", Password: c.password, T: p.Time, M: p.Memory, P: p.Threads, Type: "id"})
	}
	reqs = append(reqs, request{Op: "hash", Password: "argon2i from python", T: 3, M: 4096, P: 1, Type: "i"})

	var in bytes.Buffer
	enc := json.NewEncoder(&in)
	for _, r := range reqs {
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(py, "testdata/argon2_cffi.py")
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("testdata/argon2_cffi.py: %v\n%s", err, stderr.Bytes())
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for i, r := range reqs {
		var resp response
		if err := dec.Decode(&resp); err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		switch r.Op {
		case "verify":
			if !resp.OK || resp.WrongOK {
				t.Errorf("argon2-cffi on our hash %q of %q: got verified=%v, wrong password verified=%v; want true, false", r.Hash, r.Password, resp.OK, resp.WrongOK)
			}
		case "hash":
			ok, rehash, err := verifier.Verify(ctx, r.Password, resp.Hash)
			if !ok || err != nil {
				t.Errorf("Verify(%q, argon2-cffi hash %q): got (%v, %v), want (true, nil)", r.Password, resp.Hash, ok, err)
			}
			// argon2-cffi's default salt and key lengths are 16 bytes; only
			// the default parameters with a 32-byte key would be current.
			if !rehash {
				t.Errorf("Verify(argon2-cffi hash %q): got needsRehash false, want true (16-byte key)", resp.Hash)
			}
			if ok, _, _ := verifier.Verify(ctx, wrongPassword(r.Password), resp.Hash); ok {
				t.Errorf("Verify(wrong password, argon2-cffi hash %q): got true, want false", resp.Hash)
			}
		}
	}
}
