package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// fakeClock is a clock a test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestMeterTerminal(t *testing.T) {
	var b bytes.Buffer
	c := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	m := newMeter(&b, false, true, "import", "bytes", 50000)
	m.now, m.start = c.now, c.t
	m.update(0, "0 read")
	c.t = c.t.Add(50 * time.Millisecond)
	m.update(1000, "1000 read") // within the period: not drawn
	c.t = c.t.Add(8 * time.Second)
	m.update(23500, "23500 read")
	m.done()
	out := b.String()
	for _, want := range []string{
		"\rimport  [>                       ]   0%  0 of 50,000 bytes  0s\x1b[K",
		"\rimport  [===========>            ]  47%  23,500 of 50,000 bytes  8s\x1b[K",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q:\n%q", want, out)
		}
	}
	if strings.Contains(out, " 1,000 of ") {
		t.Errorf("drew an update inside the period:\n%q", out)
	}
	if !strings.HasSuffix(out, "\x1b[K\n") || strings.Count(out, "\n") != 1 {
		t.Errorf("want one line, ended by done:\n%q", out)
	}
}

func TestMeterUnknownTotalAndLines(t *testing.T) {
	var b bytes.Buffer
	c := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	m := newMeter(&b, false, true, "export", "rows", 0)
	m.now, m.start = c.now, c.t
	c.t = c.t.Add(3 * time.Second)
	m.update(1234567, "x")
	if want := "\rexport  1,234,567 rows  3s\x1b[K"; !strings.Contains(b.String(), want) {
		t.Errorf("got %q, want %q in it", b.String(), want)
	}

	// Off a terminal, with -progress: a plain line for each update.
	b.Reset()
	m = newMeter(&b, true, false, "export", "rows", 0)
	m.now = c.now
	m.update(1, "1 rows exported")
	m.update(2, "2 rows exported")
	m.done()
	if got, want := b.String(), "progress: 1 rows exported\nprogress: 2 rows exported\n"; got != want {
		t.Errorf("lines: got %q, want %q", got, want)
	}

	// Off: nothing.
	b.Reset()
	m = newMeter(&b, false, false, "export", "rows", 0)
	m.update(5, "5")
	m.done()
	if b.Len() != 0 {
		t.Errorf("a meter that is off wrote %q", b.String())
	}
}

func TestGroup(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := group(n); got != want {
			t.Errorf("group(%d) = %q, want %q", n, got, want)
		}
	}
}
