package main

import (
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"
)

// meter shows the progress of long work (import, verify, export) on
// standard error. On a terminal it redraws one line in place, a bar when
// the total is known:
//
//	import  [=========>          ]  47%  23,500 of 50,000 lines  8s
//
// and a running count when it is not, at most ten times a second.
// Elsewhere (standard error redirected, with -progress) it prints each
// update's detail as a line of its own ("progress: ..."): the callers
// update after each batch or page, so a log keeps a record without a
// flood. Nothing is drawn when it is off.
type meter struct {
	w      io.Writer
	on     bool // -progress, or a terminal
	tty    bool // redraw in place
	label  string
	unit   string // "lines", "rows"
	total  int64  // 0 when unknown
	start  time.Time
	now    func() time.Time
	last   time.Time
	drawn  bool
	cur    atomic.Int64
	width  int // the bar's width in characters
	period time.Duration
}

// newMeter returns a meter for work named label, counted in unit, of
// total units (0 when unknown). on turns it on; tty draws in place.
func newMeter(w io.Writer, on, tty bool, label, unit string, total int64) *meter {
	m := &meter{w: w, on: on || tty, tty: tty, label: label, unit: unit, total: total, now: time.Now, width: 24}
	m.start = m.now()
	if tty {
		m.period = 100 * time.Millisecond
	}
	return m
}

// update records done units and, at most once per period, draws the
// meter; detail is the plain line printed off a terminal.
func (m *meter) update(done int64, detail string) {
	m.cur.Store(done)
	if !m.on {
		return
	}
	now := m.now()
	if m.drawn && now.Sub(m.last) < m.period {
		return
	}
	m.last, m.drawn = now, true
	if !m.tty {
		fmt.Fprintf(m.w, "progress: %s\n", detail)
		return
	}
	fmt.Fprintf(m.w, "\r%s\x1b[K", m.line(done, now))
}

// done draws the meter a last time and ends its line, on a terminal
// (off one, the last update's line stands).
func (m *meter) done() {
	if !m.tty {
		return
	}
	fmt.Fprintf(m.w, "\r%s\x1b[K\n", m.line(m.cur.Load(), m.now()))
}

// line renders the terminal line for done units at now.
func (m *meter) line(done int64, now time.Time) string {
	elapsed := now.Sub(m.start).Truncate(time.Second)
	if m.total <= 0 {
		return fmt.Sprintf("%s  %s %s  %s", m.label, group(done), m.unit, elapsed)
	}
	frac := float64(done) / float64(m.total)
	frac = min(max(frac, 0), 1)
	fill := int(frac * float64(m.width))
	bar := strings.Repeat("=", fill)
	if fill < m.width {
		bar += ">" + strings.Repeat(" ", m.width-fill-1)
	}
	return fmt.Sprintf("%s  [%s] %3d%%  %s of %s %s  %s", m.label, bar, int(frac*100), group(done), group(m.total), m.unit, elapsed)
}

// group writes n with thousands separators: 23,500.
func group(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// countingReader counts the bytes read through it, for a meter over a
// file whose size is known.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
