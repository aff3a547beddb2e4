package password

import (
	"bufio"
	"encoding/base64"
	"errors"
	"os"
	"strings"
	"testing"
)

func b64(n int, fill byte) string {
	return base64.RawStdEncoding.EncodeToString([]byte(strings.Repeat(string(fill), n)))
}

var (
	salt16 = b64(16, 's')
	key32  = b64(32, 'k')
	goodID = "$argon2id$v=19$m=19456,t=2,p=1$" + salt16 + "$" + key32
	goodBc = "$2b$10$allNIXN/FjOjBNLv342yYOdv9YrB/st2FykcrTo3fb1.3QzDCSfe6"
)

func TestParseHash(t *testing.T) {
	t.Parallel()
	// argon2 builds an Argon2 PHC string from its fields.
	argon2 := func(id, v, params, salt, key string) string {
		return "$" + id + "$" + v + "$" + params + "$" + salt + "$" + key
	}
	tests := []struct {
		name    string
		in      string
		wantErr error // nil, ErrMalformedHash or ErrUnsupportedHash
	}{
		{"argon2id", goodID, nil},
		{"argon2i", argon2("argon2i", "v=19", "m=4096,t=3,p=1", salt16, key32), nil},
		{"argon2id p=4 m=65536", argon2("argon2id", "v=19", "m=65536,t=3,p=4", salt16, key32), nil},
		{"argon2id 8-byte salt", argon2("argon2id", "v=19", "m=19456,t=2,p=1", b64(8, 's'), key32), nil},
		{"argon2id 64-byte salt and key", argon2("argon2id", "v=19", "m=19456,t=2,p=1", b64(64, 's'), b64(64, 'k')), nil},
		{"argon2id 16-byte key", argon2("argon2id", "v=19", "m=19456,t=2,p=1", salt16, b64(16, 'k')), nil},
		{"argon2id m=8p", argon2("argon2id", "v=19", "m=32,t=1,p=4", salt16, key32), nil},
		{"argon2id huge m parses (limits apply later)", argon2("argon2id", "v=19", "m=4294967295,t=1,p=1", salt16, key32), nil},
		{"bcrypt 2b", goodBc, nil},
		{"bcrypt 2a", "$2a" + goodBc[3:], nil},
		{"bcrypt 2y", "$2y" + goodBc[3:], nil},
		{"bcrypt cost 04", "$2b$04" + goodBc[6:], nil},
		{"bcrypt cost 31", "$2b$31" + goodBc[6:], nil},

		{"empty", "", ErrMalformedHash},
		{"no leading dollar", goodID[1:], ErrMalformedHash},
		{"only dollar", "$", ErrMalformedHash},
		{"uppercase id", strings.Replace(goodID, "argon2id", "ARGON2ID", 1), ErrMalformedHash},
		{"too long", goodID + strings.Repeat("A", maxEncodedLen), ErrMalformedHash},
		{"missing key", "$argon2id$v=19$m=19456,t=2,p=1$" + salt16, ErrMalformedHash},
		{"extra field", goodID + "$", ErrMalformedHash},
		{"version missing v=", argon2("argon2id", "19", "m=19456,t=2,p=1", salt16, key32), ErrMalformedHash},
		{"version leading zero", argon2("argon2id", "v=019", "m=19456,t=2,p=1", salt16, key32), ErrMalformedHash},
		{"version sign", argon2("argon2id", "v=+19", "m=19456,t=2,p=1", salt16, key32), ErrMalformedHash},
		{"version uppercase", argon2("argon2id", "V=19", "m=19456,t=2,p=1", salt16, key32), ErrMalformedHash},
		{"params out of order", argon2("argon2id", "v=19", "t=2,m=19456,p=1", salt16, key32), ErrMalformedHash},
		{"params missing p", argon2("argon2id", "v=19", "m=19456,t=2", salt16, key32), ErrMalformedHash},
		{"params unknown extra", argon2("argon2id", "v=19", "m=19456,t=2,p=1,x=1", salt16, key32), ErrMalformedHash},
		{"params space", argon2("argon2id", "v=19", "m=19456, t=2,p=1", salt16, key32), ErrMalformedHash},
		{"m leading zero", argon2("argon2id", "v=19", "m=019456,t=2,p=1", salt16, key32), ErrMalformedHash},
		{"m overflow", argon2("argon2id", "v=19", "m=4294967296,t=2,p=1", salt16, key32), ErrMalformedHash},
		{"m negative", argon2("argon2id", "v=19", "m=-1,t=2,p=1", salt16, key32), ErrMalformedHash},
		{"m empty", argon2("argon2id", "v=19", "m=,t=2,p=1", salt16, key32), ErrMalformedHash},
		{"t zero", argon2("argon2id", "v=19", "m=19456,t=0,p=1", salt16, key32), ErrMalformedHash},
		{"p zero", argon2("argon2id", "v=19", "m=19456,t=2,p=0", salt16, key32), ErrMalformedHash},
		{"p above 2^24-1", argon2("argon2id", "v=19", "m=4294967295,t=2,p=16777216", salt16, key32), ErrMalformedHash},
		{"m below 8p", argon2("argon2id", "v=19", "m=31,t=1,p=4", salt16, key32), ErrMalformedHash},
		{"salt padded", argon2("argon2id", "v=19", "m=19456,t=2,p=1", base64.StdEncoding.EncodeToString([]byte("0123456789abcdef")), key32), ErrMalformedHash},
		{"salt url alphabet", argon2("argon2id", "v=19", "m=19456,t=2,p=1", strings.Repeat("-_", 11), key32), ErrMalformedHash},
		{"salt with newline", argon2("argon2id", "v=19", "m=19456,t=2,p=1", salt16[:10]+"\n"+salt16[10:], key32), ErrMalformedHash},
		{"salt trailing bits", argon2("argon2id", "v=19", "m=19456,t=2,p=1", salt16[:len(salt16)-1]+"x", key32), ErrMalformedHash},
		{"salt 7 bytes", argon2("argon2id", "v=19", "m=19456,t=2,p=1", b64(7, 's'), key32), ErrMalformedHash},
		{"salt empty", argon2("argon2id", "v=19", "m=19456,t=2,p=1", "", key32), ErrMalformedHash},
		{"key 3 bytes", argon2("argon2id", "v=19", "m=19456,t=2,p=1", salt16, b64(3, 'k')), ErrMalformedHash},
		{"key invalid base64", argon2("argon2id", "v=19", "m=19456,t=2,p=1", salt16, "!!!!"), ErrMalformedHash},
		{"bcrypt short", goodBc[:59], ErrMalformedHash},
		{"bcrypt long", goodBc + "a", ErrMalformedHash},
		{"bcrypt cost letters", "$2b$1a" + goodBc[6:], ErrMalformedHash},
		{"bcrypt cost 03", "$2b$03" + goodBc[6:], ErrMalformedHash},
		{"bcrypt cost 32", "$2b$32" + goodBc[6:], ErrMalformedHash},
		{"bcrypt missing separator", "$2b$10x" + goodBc[7:], ErrMalformedHash},
		{"bcrypt invalid character", goodBc[:20] + "+" + goodBc[21:], ErrMalformedHash},

		{"argon2d", strings.Replace(goodID, "argon2id", "argon2d", 1), ErrUnsupportedHash},
		{"argon2 version 16", strings.Replace(goodID, "v=19", "v=16", 1), ErrUnsupportedHash},
		{"argon2 no version field", "$argon2id$m=19456,t=2,p=1$" + salt16 + "$" + key32, ErrUnsupportedHash},
		{"keyid parameter", argon2("argon2id", "v=19", "m=19456,t=2,p=1,keyid=AAAA", salt16, key32), ErrUnsupportedHash},
		{"keyid and data parameters", argon2("argon2id", "v=19", "m=19456,t=2,p=1,keyid=AAAA,data=AAAA", salt16, key32), ErrUnsupportedHash},
		{"salt 65 bytes", argon2("argon2id", "v=19", "m=19456,t=2,p=1", b64(65, 's'), key32), ErrUnsupportedHash},
		{"key 15 bytes", argon2("argon2id", "v=19", "m=19456,t=2,p=1", salt16, b64(15, 'k')), ErrUnsupportedHash},
		{"key 65 bytes", argon2("argon2id", "v=19", "m=19456,t=2,p=1", salt16, b64(65, 'k')), ErrUnsupportedHash},
		{"scrypt", "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E", ErrUnsupportedHash},
		{"pbkdf2", "$pbkdf2-sha256$29000$N2YsIYQw5jwnRAjBKGRwzg$oIuvT0fPPWXU03bu5swvkbwN1J7aeCy6AcvolYxMvO8", ErrUnsupportedHash},
		{"bcrypt 2x", "$2x" + goodBc[3:], ErrUnsupportedHash},
		{"bcrypt 2", "$2" + goodBc[3:], ErrUnsupportedHash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, err := parseHash(tt.in)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("parseHash(%q): got error %v, want nil", tt.in, err)
				}
				if got := h.String(); got != tt.in {
					t.Errorf("String(): got %q, want %q", got, tt.in)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("parseHash(%q): got error %v, want %v", tt.in, err, tt.wantErr)
			}
		})
	}
}

func TestParseHashFields(t *testing.T) {
	t.Parallel()
	h, err := parseHash("$argon2i$v=19$m=65536,t=3,p=4$" + b64(12, 's') + "$" + b64(24, 'k'))
	if err != nil {
		t.Fatal(err)
	}
	if h.kind != kindArgon2i || h.memory != 65536 || h.time != 3 || h.threads != 4 || len(h.salt) != 12 || len(h.key) != 24 {
		t.Errorf("got kind=%v m=%d t=%d p=%d salt=%d key=%d, want argon2i m=65536 t=3 p=4 salt=12 key=24",
			h.kind, h.memory, h.time, h.threads, len(h.salt), len(h.key))
	}
	b, err := parseHash("$2y$12" + goodBc[6:])
	if err != nil {
		t.Fatal(err)
	}
	if b.kind != kindBcrypt || b.cost != 12 {
		t.Errorf("got kind=%v cost=%d, want bcrypt cost=12", b.kind, b.cost)
	}
}

// FuzzParseHash checks that the parser never panics, fails only with its
// two error values, and accepts a string only in its canonical encoding,
// for every format: PHC, bcrypt, Django, Better Auth and wrapped.
func FuzzParseHash(f *testing.F) {
	f.Add(goodID)
	f.Add(goodBc)
	f.Add("$argon2i$v=19$m=4096,t=3,p=1$" + salt16 + "$" + key32)
	f.Add("$argon2id$v=19$m=19456,t=2,p=1,keyid=AAAA$" + salt16 + "$" + key32)
	f.Add("$argon2id$m=19456,t=2,p=1$" + salt16 + "$" + key32)
	f.Add("pbkdf2_sha256$99999999999$salt$" + key32d)
	f.Add("pbkdf2_sha1$-1$salt$" + key20d)
	f.Add("argon2$argon2i$v=19$m=512,t=2,p=2$" + salt16 + "$" + key32)
	f.Add("bcrypt_sha256$" + goodBc)
	f.Add(hex32 + ":" + hex128)
	f.Add("$sigra-wrap$md5" + inner)
	f.Add("sha1$$5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8")
	for _, fx := range readFixtures(f) {
		f.Add(fx.hash)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parseHash(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) && !errors.Is(err, ErrUnsupportedHash) {
				t.Fatalf("parseHash(%q): error %v wraps neither ErrMalformedHash nor ErrUnsupportedHash", s, err)
			}
			return
		}
		if got := h.String(); got != s {
			t.Fatalf("parseHash(%q) accepted a non-canonical form: re-encodes as %q", s, got)
		}
	})
}

// fixture is one line of testdata/interop.tsv.
type fixture struct {
	source, expect, password, hash string
}

func readFixtures(tb testing.TB) []fixture {
	tb.Helper()
	f, err := os.Open("testdata/interop.tsv")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []fixture
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) != 4 {
			tb.Fatalf("testdata/interop.tsv:%d: got %d fields, want 4", n, len(fields))
		}
		out = append(out, fixture{fields[0], fields[1], fields[2], fields[3]})
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	if len(out) == 0 {
		tb.Fatal("testdata/interop.tsv: no fixtures")
	}
	return out
}
