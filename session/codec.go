package session

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"time"
)

// Codec encodes a session's values (the scs data blob). The compact format
// covers the basic types applications keep in a session; any other value
// makes the whole blob fall back to encoding/gob, so a value of a type
// registered with gob still works, only slower.
//
// Compact format, version 1:
//
//	0x01 | varint deadline (unix ns, 0 = zero time) | uvarint count |
//	count × (uvarint key length | key | tag | value)
//
// Gob fallback: 0x02 followed by scs's gob encoding of the same data.
type Codec struct{}

const (
	formatCompact byte = 1
	formatGob     byte = 2
)

const (
	tagString byte = iota + 1
	tagBool
	tagInt
	tagInt64
	tagInt32
	tagFloat64
	tagBytes
	tagTime
	tagStrings
)

// maxValues and maxLen bound what Decode accepts, so a corrupt blob cannot
// make it allocate without limit.
const (
	maxValues = 1 << 12
	maxLen    = 1 << 20
)

var errCorrupt = errors.New("sigra/session: corrupt session data")

// Encode implements scs.Codec.
func (Codec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	b := make([]byte, 0, 16+len(values)*24)
	b = append(b, formatCompact)
	b = binary.AppendVarint(b, unixNano(deadline))
	b = binary.AppendUvarint(b, uint64(len(values)))
	for k, v := range values {
		b = appendString(b, k)
		switch v := v.(type) {
		case string:
			b = append(b, tagString)
			b = appendString(b, v)
		case bool:
			b = append(b, tagBool)
			if v {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		case int:
			b = append(b, tagInt)
			b = binary.AppendVarint(b, int64(v))
		case int64:
			b = append(b, tagInt64)
			b = binary.AppendVarint(b, v)
		case int32:
			b = append(b, tagInt32)
			b = binary.AppendVarint(b, int64(v))
		case float64:
			b = append(b, tagFloat64)
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		case []byte:
			b = append(b, tagBytes)
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
		case time.Time:
			b = append(b, tagTime)
			b = binary.AppendVarint(b, unixNano(v))
		case []string:
			b = append(b, tagStrings)
			b = binary.AppendUvarint(b, uint64(len(v)))
			for _, s := range v {
				b = appendString(b, s)
			}
		default:
			return encodeGob(deadline, values)
		}
	}
	return b, nil
}

// Decode implements scs.Codec. It never panics on corrupt input.
func (Codec) Decode(b []byte) (time.Time, map[string]any, error) {
	if len(b) == 0 {
		return time.Time{}, nil, errCorrupt
	}
	switch b[0] {
	case formatCompact:
	case formatGob:
		return decodeGob(b[1:])
	default:
		return time.Time{}, nil, errCorrupt
	}
	d := decoder{b: b[1:]}
	deadline := fromUnixNano(d.varint())
	n := d.uvarint()
	if d.err != nil || n > maxValues {
		return time.Time{}, nil, errCorrupt
	}
	values := make(map[string]any, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		k := d.key()
		switch d.byte() {
		case tagString:
			values[k] = d.string()
		case tagBool:
			switch d.byte() {
			case 0:
				values[k] = false
			case 1:
				values[k] = true
			default:
				d.fail()
			}
		case tagInt:
			v := d.varint()
			if v != int64(int(v)) {
				d.fail()
			}
			values[k] = int(v)
		case tagInt64:
			values[k] = d.varint()
		case tagInt32:
			v := d.varint()
			if v != int64(int32(v)) {
				d.fail()
			}
			values[k] = int32(v)
		case tagFloat64:
			values[k] = math.Float64frombits(binary.LittleEndian.Uint64(d.take(8)))
		case tagBytes:
			values[k] = bytes.Clone(d.take(d.length()))
		case tagTime:
			values[k] = fromUnixNano(d.varint())
		case tagStrings:
			m := d.length()
			if m > maxValues {
				d.fail()
				break
			}
			ss := make([]string, 0, m)
			for j := 0; j < m && d.err == nil; j++ {
				ss = append(ss, d.string())
			}
			values[k] = ss
		default:
			d.fail()
		}
	}
	if d.err != nil || len(d.b) != 0 {
		return time.Time{}, nil, errCorrupt
	}
	return deadline, values, nil
}

// noValues reports whether b is a blob in the compact format without
// values, which Decode reads as a deadline and no values, and so cannot
// fail to decode. It allocates nothing.
func noValues(b []byte) bool {
	if len(b) == 0 || b[0] != formatCompact {
		return false
	}
	d := decoder{b: b[1:]}
	d.varint()
	n := d.uvarint()
	return d.err == nil && n == 0 && len(d.b) == 0
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errCorrupt
	}
	d.b = nil
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) length() int {
	v := d.uvarint()
	if v > maxLen || v > uint64(len(d.b)) {
		d.fail()
		return 0
	}
	return int(v)
}

func (d *decoder) take(n int) []byte {
	if n > len(d.b) {
		d.fail()
		return make([]byte, n)
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) string() string { return string(d.take(d.length())) }

// rememberKey is the value scs.SessionManager.RememberMe sets.
const rememberKey = "__rememberMe"

// key reads a value's key as string does, without a new string for the
// key scs itself sets.
func (d *decoder) key() string {
	b := d.take(d.length())
	if string(b) == rememberKey {
		return rememberKey
	}
	return string(b)
}

type gobData struct {
	Deadline time.Time
	Values   map[string]any
}

func encodeGob(deadline time.Time, values map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte(formatGob)
	if err := gob.NewEncoder(&buf).Encode(&gobData{Deadline: deadline, Values: values}); err != nil {
		return nil, fmt.Errorf("sigra/session: encode session values: %w", err)
	}
	return buf.Bytes(), nil
}

func decodeGob(b []byte) (time.Time, map[string]any, error) {
	var d gobData
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&d); err != nil {
		return time.Time{}, nil, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	if d.Values == nil {
		d.Values = map[string]any{}
	}
	return d.Deadline, d.Values, nil
}
