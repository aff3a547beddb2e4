package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// FuzzAppendJSONString: AppendJSONString writes what json.Marshal writes
// for the same string, whatever its bytes.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "user@example.com", `a"b\c`, "<script>&amp;</script>", "\x00\x01\b\f\n\r\t\x1f\x7f",
		"é€😀", "\u2028\u2029", "\xff\xfe", "a\xc3", "\xed\xa0\x80", "'+/=?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendJSONString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Fatalf("AppendJSONString(%q): got %s, want %s", s, got[1:], want)
		}
	})
}

// TestAppendJSONTime: AppendJSONTime writes what json.Marshal writes for
// the same time, and fails where it fails.
func TestAppendJSONTime(t *testing.T) {
	t.Parallel()
	for _, tm := range []time.Time{
		{},
		time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC),
		time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC),
		time.Date(2026, 3, 14, 15, 9, 26, 1, time.FixedZone("", -(5*3600+30*60))),
		time.Unix(1e9, 0).In(time.FixedZone("CET", 3600)),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		want, wantErr := json.Marshal(tm)
		got, err := AppendJSONTime(nil, tm)
		if (err != nil) != (wantErr != nil) || string(got) != string(want) {
			t.Errorf("AppendJSONTime(%v): got %s, %v; want %s, %v", tm, got, err, want, wantErr)
		}
	}
}

// appending writes itself with AppendJSON, failing when fail is set.
type appending struct {
	S    string `json:"s"`
	fail bool
}

func (a appending) AppendJSON(b []byte) ([]byte, error) {
	if a.fail {
		return nil, errors.New("cannot")
	}
	b = append(b, `{"s":`...)
	return append(AppendJSONString(b, a.S+" (appended)"), '}'), nil
}

// unencodable fails in AppendJSON and in encoding/json.
type unencodable struct{}

func (unencodable) AppendJSON([]byte) ([]byte, error) { return nil, errors.New("cannot") }
func (unencodable) MarshalJSON() ([]byte, error)      { return nil, errors.New("cannot") }

// TestJSON: JSON writes the value with its status, the headers of a JSON
// answer and its length: encoding/json's output for a plain value, the
// value's own for a JSONAppender, encoding/json's when AppendJSON fails,
// and an empty body when nothing can encode it.
func TestJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		v      any
		status int
		want   string
	}{
		{"map", map[string]any{"b": 1, "a": "<x>"}, http.StatusOK, `{"a":"\u003cx\u003e","b":1}` + "\n"},
		{"error body", ErrorBody{Error: ErrorDetail{Code: "busy", Message: "Try again."}}, http.StatusServiceUnavailable,
			`{"error":{"code":"busy","message":"Try again."}}` + "\n"},
		{"appender", appending{S: "<a>"}, http.StatusOK, `{"s":"\u003ca\u003e (appended)"}` + "\n"},
		{"appender failing", appending{S: "a", fail: true}, http.StatusOK, `{"s":"a"}` + "\n"},
		{"unencodable", unencodable{}, http.StatusOK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 2 { // the second answer reuses the first one's buffer
				rec := httptest.NewRecorder()
				rec.Header().Set("Vary", "Cookie")
				JSON(rec, tc.status, tc.v)
				if rec.Code != tc.status || rec.Body.String() != tc.want {
					t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Body, tc.status, tc.want)
				}
				h := rec.Header()
				for k, v := range map[string]string{"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store",
					"X-Content-Type-Options": "nosniff", "Content-Length": strconv.Itoa(len(tc.want)), "Vary": "Cookie"} {
					if got := h.Get(k); got != v {
						t.Errorf("%s: got %q, want %q", k, got, v)
					}
				}
			}
		})
	}
}
