package kernel

import "testing"

// TestSameStore: only the same pointer is the same store; values of types
// that cannot be compared are told apart without a panic.
func TestSameStore(t *testing.T) {
	type db struct{ name string }
	type unhashable struct{ m map[string]int }
	a, b := &db{"a"}, &db{"a"}
	u := unhashable{m: map[string]int{}}
	cases := []struct {
		name string
		x, y any
		want bool
	}{
		{"same pointer", a, a, true},
		{"equal values behind two pointers", a, b, false},
		{"nil", nil, a, false},
		{"both nil", nil, nil, false},
		{"values of a type that cannot be compared", u, u, false},
		{"a pointer and a value", a, *a, false},
	}
	for _, c := range cases {
		if got := sameStore(c.x, c.y); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}
