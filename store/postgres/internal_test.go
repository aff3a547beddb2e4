package postgres

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"
	"unicode/utf8"
)

func TestAuditCursorRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		at time.Time
		id string
	}{
		{time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC), "0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"},
		{time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC), "id.with.dots"},
		{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), "x"},
		{time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC), "élan"},
	}
	for _, tt := range tests {
		c := formatAuditCursor(tt.at, tt.id)
		at, id, err := parseAuditCursor(c)
		if err != nil {
			t.Errorf("parseAuditCursor(formatAuditCursor(%v, %q)): %v", tt.at, tt.id, err)
			continue
		}
		if !at.Equal(tt.at) || at.Location() != time.UTC || id != tt.id {
			t.Errorf("round trip of (%v, %q): got (%v, %q)", tt.at, tt.id, at, id)
		}
	}
}

func TestParseAuditCursorRejects(t *testing.T) {
	t.Parallel()
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, c := range []string{
		"!!!",
		"AAAA=",        // padded
		enc("123"),     // no separator
		enc(".id"),     // no time
		enc("123."),    // no id
		enc("+123.id"), // sign
		enc("12x.id"),  // not a number
		enc("99999999999999999999.id"),
		enc("-62135596800000001.id"), // before year 1
		enc("253402300800000000.id"), // after year 9999
		enc("1.a\x00b"),              // NUL
		enc("1.\xff"),                // not UTF-8
		strings.Repeat("A", 600),
	} {
		if _, _, err := parseAuditCursor(c); !errors.Is(err, ErrBadCursor) {
			t.Errorf("parseAuditCursor(%q): got %v, want ErrBadCursor", c, err)
		}
	}
}

// FuzzParseAuditCursor: a cursor comes from the client. Parsing never
// panics; what it accepts is a valid position that encodes back to the
// same cursor.
func FuzzParseAuditCursor(f *testing.F) {
	f.Add(formatAuditCursor(time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC), "0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"))
	f.Add("")
	f.Add("MTIzLmlk")
	f.Add("LTEuaWQ")
	f.Fuzz(func(t *testing.T, c string) {
		at, id, err := parseAuditCursor(c)
		if err != nil {
			if !errors.Is(err, ErrBadCursor) {
				t.Fatalf("parseAuditCursor(%q): got %v, want ErrBadCursor", c, err)
			}
			return
		}
		if id == "" || !utf8.ValidString(id) || strings.ContainsRune(id, 0) || at.Location() != time.UTC {
			t.Fatalf("parseAuditCursor(%q) accepted (%v, %q)", c, at, id)
		}
		if at.Year() < 1 || at.Year() > 9999 {
			t.Fatalf("parseAuditCursor(%q): time %v out of range", c, at)
		}
		at2, id2, err := parseAuditCursor(formatAuditCursor(at, id))
		if err != nil || !at2.Equal(at) || id2 != id {
			t.Fatalf("re-encoding (%v, %q): got (%v, %q, %v)", at, id, at2, id2, err)
		}
	})
}

func TestParseMigrationName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file    string
		version int64
		name    string
		ok      bool
	}{
		{"0001_init.sql", 1, "init", true},
		{"0042_add_passkeys.sql", 42, "add_passkeys", true},
		{"init.sql", 0, "", false},
		{"_init.sql", 0, "", false},
		{"0001_.sql", 0, "", false},
		{"0000_zero.sql", 0, "", false},
		{"+1_plus.sql", 0, "", false},
		{"x1_bad.sql", 0, "", false},
	}
	for _, tt := range tests {
		v, n, err := parseMigrationName(tt.file)
		if (err == nil) != tt.ok || v != tt.version || n != tt.name {
			t.Errorf("parseMigrationName(%q): got (%d, %q, %v), want (%d, %q, ok=%v)", tt.file, v, n, err, tt.version, tt.name, tt.ok)
		}
	}
}

func TestLoadMigrations(t *testing.T) {
	t.Parallel()
	ms, err := loadMigrations(embedded, "migrations")
	if err != nil {
		t.Fatalf("embedded migrations: %v", err)
	}
	// Versions increase from 1; a gap is allowed (a migration numbered on
	// another branch lands later, and the runner applies it then).
	for i, m := range ms {
		if (i == 0 && m.version != 1) || (i > 0 && m.version <= ms[i-1].version) {
			t.Errorf("migration %d: got version %d, want versions increasing from 1", i, m.version)
		}
		if strings.TrimSpace(m.sql) == "" {
			t.Errorf("migration %d is empty", m.version)
		}
	}

	fsys := fstest.MapFS{
		"m/9_b.sql":             {Data: []byte("b")},
		"m/10_c.sql":            {Data: []byte("c")},
		"m/0001_a.sql":          {Data: []byte("a")},
		"m/README.md":           {Data: []byte("not a migration")},
		"m/0004_dir/0005_e.sql": {Data: []byte("in a subdirectory")},
	}
	ms, err = loadMigrations(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.name)
	}
	if strings.Join(got, ",") != "a,b,c" {
		t.Errorf("order: got %v, want [a b c] (numeric, not lexical)", got)
	}

	dup := fstest.MapFS{"m/0001_a.sql": {Data: []byte("a")}, "m/1_b.sql": {Data: []byte("b")}}
	if _, err := loadMigrations(dup, "m"); err == nil {
		t.Error("duplicate versions: got nil error")
	}
}
