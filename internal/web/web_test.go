package web

import (
	"net/http/httptest"
	"testing"
)

func TestWantsJSON(t *testing.T) {
	cases := []struct {
		hdr  map[string]string
		want bool
	}{
		{nil, false},
		{map[string]string{"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}, false},
		{map[string]string{"Accept": "application/json"}, true},
		{map[string]string{"Accept": "application/json, text/html"}, true},
		{map[string]string{"Accept": "text/html, application/json"}, false},
		{map[string]string{"Content-Type": "application/json; charset=utf-8"}, true},
		{map[string]string{"Authorization": "Bearer abc"}, true},
		{map[string]string{"Authorization": "Basic abc"}, false},
	}
	for _, tc := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		for k, v := range tc.hdr {
			r.Header.Set(k, v)
		}
		if got := WantsJSON(r); got != tc.want {
			t.Errorf("%v: got %v, want %v", tc.hdr, got, tc.want)
		}
	}
}
