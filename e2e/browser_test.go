package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// testTimeout bounds one test's browser work, stepTimeout one navigation,
// form or script, and queryTimeout the wait for an element of a page that
// has loaded.
const (
	testTimeout  = 3 * time.Minute
	stepTimeout  = 30 * time.Second
	queryTimeout = 10 * time.Second
)

// browser is one Chromium process with a fresh profile.
type browser struct {
	t     *testing.T
	d     *demo
	ctx   context.Context // the browser's first tab
	shots *shotSeq
}

// newBrowser starts headless Chromium with a fresh profile for d, and
// stops it when t ends.
func newBrowser(t *testing.T, d *demo) *browser {
	t.Helper()
	profile := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(suite.chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	)
	// chromedp may report errors from its own goroutines, even after t
	// ends: keep them, and show them if t failed.
	errs := &lockedBuffer{}
	ctx, cancelTab := chromedp.NewContext(ctx, chromedp.WithErrorf(func(format string, args ...any) {
		fmt.Fprintf(errs, format+"\n", args...)
	}))
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancel()
		if out := errs.String(); out != "" && t.Failed() {
			t.Logf("chromedp errors:\n%s", out)
		}
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return &browser{t: t, d: d, ctx: ctx, shots: newShotSeq(t)}
}

// tab returns the browser's first tab.
func (b *browser) tab() *tab {
	return &tab{t: b.t, d: b.d, ctx: b.ctx, shots: b.shots, name: "tab 1"}
}

// newTab opens another tab in the same browser profile (same cookies).
func (b *browser) newTab(name string) *tab {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	b.t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("opening %s: %v", name, err)
	}
	return &tab{t: b.t, d: b.d, ctx: ctx, shots: b.shots, name: name}
}

// newDevice opens a tab in a new browser context: another "device", with
// its own cookies and storage.
func (b *browser) newDevice(name string) *tab {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("opening %s: %v", name, err)
	}
	return &tab{t: b.t, d: b.d, ctx: ctx, shots: b.shots, name: name}
}

// tab drives one browser tab. Every page it lands on, by navigation or
// by a form, passes through landed: an accessibility check and
// screenshots in light and dark mode.
type tab struct {
	t     *testing.T
	d     *demo
	ctx   context.Context
	shots *shotSeq
	name  string
}

// open navigates to path on the demo, checks the final response's status
// (after redirects) and checks the page as page.
func (p *tab) open(path string, status int, page string) {
	p.t.Helper()
	u := path
	if strings.HasPrefix(path, "/") {
		u = p.d.URL + path
	}
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(u))
	if err != nil {
		p.t.Fatalf("%s: opening %s: %v", p.name, path, err)
	}
	if resp == nil || resp.Status != int64(status) {
		p.failed(page)
		p.t.Fatalf("%s: opening %s: got status %d, want %d; page says: %.500s", p.name, path, statusOf(resp), status, p.text("body"))
	}
	p.landed(page)
}

// click clicks the element sel (a submit button or a link), waits for
// the page that loads, checks its status (after redirects) and checks the
// page as page.
func (p *tab) click(sel string, status int, page string) {
	p.t.Helper()
	// A form the browser finds invalid is not sent, and no page loads:
	// say so rather than wait.
	invalid := eval[string](p, fmt.Sprintf(`(() => {
  const f = document.querySelector(%s)?.form;
  if (!f || f.noValidate || f.checkValidity()) return '';
  return [...f.elements].filter(e => !e.validity.valid).map(e => e.name + ': ' + e.validationMessage).join('; ');
})()`, jsString(sel)))
	if invalid != "" {
		p.t.Fatalf("%s: the form of %s on %s is invalid, the browser would not send it: %s", p.name, sel, p.path(), invalid)
	}
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("%s: clicking %s: %v", p.name, sel, err)
	}
	if resp == nil || resp.Status != int64(status) {
		p.failed(page)
		p.t.Fatalf("%s: clicking %s (now at %s): got status %d, want %d; page says: %.500s",
			p.name, sel, p.path(), statusOf(resp), status, p.text("body"))
	}
	p.landed(page)
}

func statusOf(r *network.Response) int64 {
	if r == nil {
		return 0
	}
	return r.Status
}

// fill replaces the value of the input sel by typing value into it, once
// it is visible: it focuses the input and types, as chromedp.SendKeys
// does. SendKeys itself reads the node's attributes without the node's
// lock (chromedp v0.23.0), while the event that Clear's change of the
// value attribute sends back may be writing them: the race detector
// reports it.
func (p *tab) fill(sel, value string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Clear(chromedp.CSS(sel)),
		chromedp.Focus(chromedp.CSS(sel), chromedp.NodeVisible), chromedp.KeyEvent(value)); err != nil {
		p.t.Fatalf("%s: typing into %s on %s: %v", p.name, sel, p.path(), err)
	}
}

// text returns the visible text of the first element matching sel.
func (p *tab) text(sel string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, queryTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("%s: reading %s on %s: %v", p.name, sel, p.path(), err)
	}
	return strings.Join(strings.Fields(s), " ")
}

// wantText fails t unless the text of sel contains want.
func (p *tab) wantText(sel, want string) {
	p.t.Helper()
	if got := p.text(sel); !strings.Contains(got, want) {
		p.t.Fatalf("%s: %s on %s: got %q, want it to contain %q", p.name, sel, p.path(), got, want)
	}
}

// count returns how many elements match sel.
func (p *tab) count(sel string) int {
	p.t.Helper()
	return eval[int](p, fmt.Sprintf("document.querySelectorAll(%s).length", jsString(sel)))
}

// path returns the path and query of the tab's current URL.
func (p *tab) path() string {
	p.t.Helper()
	loc, err := chromedp.Run(p.ctx, chromedp.Location())
	if err != nil {
		p.t.Fatalf("%s: reading the location: %v", p.name, err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		p.t.Fatalf("%s: location %q: %v", p.name, loc, err)
	}
	return u.RequestURI()
}

// wantPath fails t unless the tab's path (without the query) is want.
func (p *tab) wantPath(want string) {
	p.t.Helper()
	got := p.path()
	if before, _, _ := strings.Cut(got, "?"); before != want {
		p.t.Fatalf("%s: at %s, want path %s", p.name, got, want)
	}
}

// eval evaluates a JavaScript expression in the tab's page (awaiting a
// promise) and decodes its value as T.
func eval[T any](p *tab, js string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("%s: evaluating %.80q: %v", p.name, js, err)
	}
	return v
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// ---- every page: accessibility and screenshots ----

// schemes are the colour schemes every page is checked and saved in. The
// last one stays in force for the rest of the flow.
var schemes = []string{"dark", "light"}

// landed checks the page the tab is on: axe-core in each colour scheme,
// then a full-page screenshot in each.
func (p *tab) landed(page string) {
	p.t.Helper()
	nn := p.shots.next()
	for _, scheme := range schemes {
		p.emulate(scheme)
		p.audit(page, scheme)
		p.screenshot(nn, page, scheme)
	}
}

// failed saves a screenshot of a page the flow did not expect, to show
// what the browser showed instead.
func (p *tab) failed(page string) {
	p.t.Helper()
	p.screenshot(p.shots.next(), page+"-unexpected", "light")
}

// emulate sets prefers-color-scheme (and prefers-reduced-motion, so no
// transition is caught half way), and checks that the page sees it.
func (p *tab) emulate(scheme string) {
	p.t.Helper()
	err := chromedp.Do(p.ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{
				{Name: "prefers-color-scheme", Value: scheme},
				{Name: "prefers-reduced-motion", Value: "reduce"},
			},
		})
		return err
	}))
	if err != nil {
		p.t.Fatalf("%s: emulating %s mode: %v", p.name, scheme, err)
	}
	q := fmt.Sprintf("matchMedia('(prefers-color-scheme: %s)').matches", scheme)
	if !eval[bool](p, q) {
		p.t.Fatalf("%s: the page does not see prefers-color-scheme: %s", p.name, scheme)
	}
}

// axeViolation is the part of an axe-core violation the suite reports.
type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	HelpURL string   `json:"helpUrl"`
	Targets []string `json:"targets"`
}

// axeRun runs axe-core on the document for WCAG 2.0 and 2.1, levels A
// and AA, and returns the violations.
const axeRun = `(async () => {
  const r = await axe.run(document, {
    runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
    resultTypes: ['violations'],
  });
  return r.violations.map(v => ({
    id: v.id, impact: v.impact || '', help: v.help, helpUrl: v.helpUrl,
    targets: v.nodes.map(n => n.target.join(' ')),
  }));
})()`

// audit runs axe-core on the page and fails t on a serious or critical
// violation; lesser ones are logged.
func (p *tab) audit(page, scheme string) {
	p.t.Helper()
	if !eval[bool](p, "typeof axe === 'object'") {
		// Injected through the DevTools protocol, so the page's
		// Content-Security-Policy (script-src 'self') does not apply.
		if err := chromedp.Do(p.ctx, chromedp.Evaluate[chromedp.Void](suite.axe)); err != nil {
			p.t.Fatalf("%s: injecting axe-core: %v", p.name, err)
		}
	}
	vs := eval[[]axeViolation](p, axeRun)
	var bad []string
	for _, v := range vs {
		line := fmt.Sprintf("%s (%s): %s\n      targets: %s\n      help: %s", v.ID, v.Impact, v.Help, strings.Join(v.Targets, " | "), v.HelpURL)
		if v.Impact == "serious" || v.Impact == "critical" {
			bad = append(bad, line)
		} else {
			p.t.Logf("%s: accessibility, page %s (%s mode), %s", p.name, page, scheme, line)
		}
	}
	if len(bad) > 0 {
		p.t.Errorf("%s: accessibility violations on page %s (%s, %s mode):\n    %s",
			p.name, page, p.path(), scheme, strings.Join(bad, "\n    "))
	}
}

// screenshot saves a full-page PNG of the tab.
func (p *tab) screenshot(nn int, page, scheme string) {
	p.t.Helper()
	// Let the new colour scheme paint before capturing.
	eval[bool](p, "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))")
	png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("%s: screenshot of %s: %v", p.name, page, err)
	}
	file := filepath.Join(suite.shots, fmt.Sprintf("%s-%02d-%s-%s.png", p.shots.prefix, nn, page, scheme))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		p.t.Fatalf("saving screenshot: %v", err)
	}
}

// shotSeq numbers one test's screenshots, across its tabs.
type shotSeq struct {
	prefix string
	mu     sync.Mutex
	n      int
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// newShotSeq prepares the screenshot folder and removes t's screenshots
// from an earlier run.
func newShotSeq(t *testing.T) *shotSeq {
	t.Helper()
	if err := os.MkdirAll(suite.shots, 0o755); err != nil {
		t.Fatalf("screenshot folder: %v", err)
	}
	prefix := unsafeName.ReplaceAllString(t.Name(), "_")
	old, err := filepath.Glob(filepath.Join(suite.shots, prefix+"-[0-9][0-9]-*.png"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	return &shotSeq{prefix: prefix}
}

func (s *shotSeq) next() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	return s.n
}
