package session

import (
	"bytes"
	"encoding/gob"
	"reflect"
	"testing"
	"time"
)

func TestCodecRoundTrip(t *testing.T) {
	deadline := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	values := map[string]any{
		"s": "héllo", "b": true, "f": false, "i": -42, "i64": int64(1 << 40), "i32": int32(-7),
		"fl": 3.25, "by": []byte{0, 1, 2}, "t": deadline.Add(time.Hour), "zt": time.Time{},
		"ss": []string{"a", "", "c"}, "empty": "",
	}
	b, err := Codec{}.Encode(deadline, values)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != formatCompact {
		t.Fatalf("basic values fell back to gob")
	}
	gotDeadline, got, err := Codec{}.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !gotDeadline.Equal(deadline) {
		t.Fatalf("deadline: got %v, want %v", gotDeadline, deadline)
	}
	if !reflect.DeepEqual(got, values) {
		t.Fatalf("values: got %#v, want %#v", got, values)
	}
}

type custom struct{ N int }

func TestCodecGobFallback(t *testing.T) {
	gob.Register(custom{})
	values := map[string]any{"c": custom{N: 7}, "s": "x"}
	b, err := Codec{}.Encode(time.Time{}, values)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != formatGob {
		t.Fatal("custom type did not fall back to gob")
	}
	_, got, err := Codec{}.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, values) {
		t.Fatalf("got %#v, want %#v", got, values)
	}
}

func TestCodecRejectsCorrupt(t *testing.T) {
	good, _ := Codec{}.Encode(time.Now(), map[string]any{"k": "value", "n": 5})
	for i := range len(good) {
		if _, _, err := (Codec{}).Decode(good[:i]); err == nil {
			t.Fatalf("truncated to %d bytes: decoded", i)
		}
	}
	for _, b := range [][]byte{nil, {0}, {9}, {1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}, append(bytes.Clone(good), 0)} {
		if _, _, err := (Codec{}).Decode(b); err == nil {
			t.Fatalf("%x: decoded", b)
		}
	}
}

func FuzzCodecDecode(f *testing.F) {
	good, _ := Codec{}.Encode(time.Now(), map[string]any{"k": "v", "b": true, "ss": []string{"x"}, "t": time.Now()})
	f.Add(good)
	f.Add([]byte{1, 0, 1, 1, 'k', 99})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, v, err := Codec{}.Decode(b)
		if err != nil {
			return
		}
		// What decodes re-encodes and decodes to the same values.
		b2, err := Codec{}.Encode(d, v)
		if err != nil {
			t.Fatal(err)
		}
		_, v2, err := Codec{}.Decode(b2)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(v, v2) {
			t.Fatalf("round trip changed values: %#v → %#v", v, v2)
		}
	})
}
