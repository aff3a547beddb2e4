package ui

import (
	"errors"
	htmltemplate "html/template"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
)

// builtNames returns the names of the sets of m that are built.
func builtNames[T any](m map[string]*lazySet[T]) []string {
	var out []string
	for name, l := range m {
		if l.set.Load() != nil {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// TestSetsBuiltWhenFirstUsed: New keeps no page, section or email set
// (it built and ran each to check it, then let it go); a render builds
// the set it uses and no other, and the next render uses the same set.
// Built without folding, every set is kept from New, as before.
func TestSetsBuiltWhenFirstUsed(t *testing.T) {
	t.Parallel()
	u := newDemoUI(t, Config{})
	if len(u.pages) == 0 || len(u.sections) == 0 || len(u.emails) == 0 {
		t.Fatal("the test pack has no page, section or email: the test checks nothing")
	}
	pages, sections, emails := builtNames(u.pages), builtNames(u.sections), builtNames(u.emails)
	if len(pages)+len(sections)+len(emails) != 0 || u.bases.page != nil || u.bases.html != nil {
		t.Fatalf("after New: built pages %v, sections %v, emails %v; want none", pages, sections, emails)
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	w := httptest.NewRecorder()
	u.Render(w, req, http.StatusOK, "login", nil)
	if w.Code != http.StatusOK {
		t.Fatalf("login: got %d", w.Code)
	}
	first := u.pages["login"].set.Load()
	if got := builtNames(u.pages); !slices.Equal(got, []string{"login"}) {
		t.Errorf("after rendering login: built pages %v, want [login]", got)
	}
	u.Render(httptest.NewRecorder(), req, http.StatusOK, "login", nil)
	if u.pages["login"].set.Load() != first {
		t.Error("the second render built the login page's set again")
	}
	if _, err := u.RenderSection("plan", nil, &planSection{Plan: "team"}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := u.RenderEmail("welcome", nil); err != nil {
		t.Fatal(err)
	}
	if got := builtNames(u.sections); !slices.Equal(got, []string{"plan"}) {
		t.Errorf("built sections %v, want [plan]", got)
	}
	if got := builtNames(u.emails); !slices.Equal(got, []string{"welcome"}) {
		t.Errorf("built emails %v, want [welcome]", got)
	}

	plain, err := NewUnfolded(newSite(t, "", nil), Config{Packs: []Pack{testPack()}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(builtNames(plain.pages))+len(builtNames(plain.sections))+len(builtNames(plain.emails)),
		len(plain.pages)+len(plain.sections)+len(plain.emails); got != want {
		t.Errorf("built without folding: %d sets kept from New, want all %d", got, want)
	}
}

// TestSetsBuildConcurrently: goroutines that render every page, section
// and email of a new UI at once, each in an order of its own, so that
// they race to build the same sets and different ones (the builds share
// nodes), each get what a UI that built them one by one renders. Run it
// with -race.
func TestSetsBuildConcurrently(t *testing.T) {
	t.Parallel()
	type job struct{ kind, name string }
	ref := newDemoUI(t, Config{})
	var jobs []job
	for _, name := range ref.Pages() {
		jobs = append(jobs, job{"page", name})
	}
	for _, name := range ref.Sections() {
		jobs = append(jobs, job{"section", name})
	}
	for _, name := range ref.Emails() {
		jobs = append(jobs, job{"email", name})
	}
	req := httptest.NewRequest(http.MethodGet, "/page", nil)
	run := func(u *UI, j job) string {
		switch j.kind {
		case "page":
			w := httptest.NewRecorder()
			u.Render(w, req, http.StatusOK, j.name, &Page{CSRFToken: "tok", User: testUser})
			if w.Code != http.StatusOK {
				t.Errorf("page %q: got %d", j.name, w.Code)
			}
			return w.Body.String()
		case "section":
			h, err := u.RenderSection(j.name, &Page{User: testUser}, nil)
			if err != nil {
				t.Errorf("section %q: %v", j.name, err)
			}
			return string(h)
		default:
			s, text, html, err := u.RenderEmail(j.name, &Email{To: "user@example.com", Link: "https://app.example.com/x"})
			if err != nil {
				t.Errorf("email %q: %v", j.name, err)
			}
			return s + text + html
		}
	}
	want := map[job]string{}
	for _, j := range jobs {
		want[j] = run(ref, j)
	}
	for round := range 3 {
		u := newDemoUI(t, Config{})
		var wg sync.WaitGroup
		for g := range 4 {
			order := slices.Clone(jobs)
			rand.New(rand.NewPCG(uint64(round), uint64(g))).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			wg.Go(func() {
				for _, j := range order {
					if got := run(u, j); got != want[j] {
						t.Errorf("round %d: %s %q built concurrently renders differently", round, j.kind, j.name)
					}
				}
			})
		}
		wg.Wait()
	}
}

// TestSetBuildFailure: a set whose build fails (New built it without
// error, so this would take a failure to allocate) is answered as any
// failed render, a logged error and the 500 page, and is built by the
// next render that uses it.
func TestSetBuildFailure(t *testing.T) {
	t.Parallel()
	var logs logBuffer
	u := newTestUIOn(t, newSite(t, "", logs.logger()), Config{Packs: []Pack{testPack()}})
	l := u.pages["login"]
	build := l.build
	failed := errors.New("no memory for the set")
	l.build = func() (*htmltemplate.Template, error) { return nil, failed }
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	w := httptest.NewRecorder()
	u.Render(w, req, http.StatusOK, "login", nil)
	if w.Code != http.StatusInternalServerError || !strings.Contains(logs.String(), failed.Error()) {
		t.Errorf("failed build: got %d, logged %q; want 500 and the error logged", w.Code, logs.String())
	}
	if l.set.Load() != nil {
		t.Error("a failed build left a set")
	}
	if _, err := u.page("login"); !errors.Is(err, failed) || !errors.Is(err, ErrTemplate) {
		t.Errorf("page after a failed build: got %v, want it to wrap the failure and ErrTemplate", err)
	}
	l.build = build
	w = httptest.NewRecorder()
	u.Render(w, req, http.StatusOK, "login", nil)
	if w.Code != http.StatusOK || l.set.Load() == nil {
		t.Errorf("render after the failure: got %d, built %v; want 200 and the set built", w.Code, l.set.Load() != nil)
	}
}
