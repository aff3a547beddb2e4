package session

import (
	"bufio"
	"runtime"
	"strings"
	"testing"

	useragent "github.com/medama-io/go-useragent"
	uadata "github.com/medama-io/go-useragent/data"
)

// libraryParse is what the library's own parser says of s.
func libraryParse(p *useragent.Parser, s string) [3]string {
	a := p.Parse(s)
	return [3]string{string(a.Browser()), string(a.OS()), string(a.Device())}
}

func flatParse(t *uaTrie, s string) [3]string {
	b, o, d := t.parse(s)
	return [3]string{uaBrowsers[b], uaOSes[o], uaDevices[d]}
}

// uaCorpus returns the user agents both parsers are compared on: every
// line of the data, the library's test cases, and a few written here,
// with variants of each cut short or changed where the parser's states
// turn (version numbers, parentheses, separators).
func uaCorpus(t *testing.T) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(strings.NewReader(uaData))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	for _, c := range uadata.AllTestCases {
		out = append(out, c.UserAgent)
	}
	out = append(out,
		"",
		" ",
		"Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8 (beta)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0",
		"Mozilla/5.0 (X11; FreeBSD amd64; rv:120.0) Gecko/20100101 Firefox/120.0",
		"curl/8.5.0",
		"Go-http-client/1.1",
		"Googlebot/2.1 (+http://www.google.com/bot.html)",
		"Mozilla/5.0 (compatible; en-US; Ecosia android@124)",
		"Chrome/.5 Safari/..1 Firefox/1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18",
		"Mozilla/5.0 (Linux; Android 10; K) ((nested) device) Chrome/120 Mobile/ABC Safari",
		"\xff\xfeChrome/1\x00",
		"日本語 Mozilla/5.0 (Windows NT 10.0) Firefox/120.0",
	)
	n := len(out)
	for _, s := range out[:n] {
		if len(s) > 1 {
			out = append(out, s[:len(s)/2], s[len(s)/3:], strings.ReplaceAll(s, "/", " "), strings.ReplaceAll(s, ")", ""))
		}
	}
	return out
}

// TestUserAgentLikeLibrary: the flat trie parses every agent of the
// corpus exactly as the library's parser does.
func TestUserAgentLikeLibrary(t *testing.T) {
	flat, err := newUATrie(uaData)
	if err != nil {
		t.Fatalf("newUATrie: %v", err)
	}
	lib := useragent.NewParser()
	for _, s := range uaCorpus(t) {
		if got, want := flatParse(flat, s), libraryParse(lib, s); got != want {
			t.Errorf("%q: got %q, want the library's %q", s, got, want)
		}
	}
	// The package's parser is the flat one.
	if b, o, k := parseUA(userAgentFirefox); b != "Firefox" || o != "Linux" || k != "Desktop" {
		t.Errorf("parseUA(Firefox on Linux): got %q %q %q", b, o, k)
	}
	if uaFlat == nil {
		t.Error("parseUA fell back to the library's parser: the library's trie could not be copied")
	}
}

const userAgentFirefox = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"

// TestUserAgentTrieRefused: a trie that is not of the expected shape is
// refused with an error, not misread.
func TestUserAgentTrieRefused(t *testing.T) {
	if _, err := flattenUATrie(nil); err == nil {
		t.Error("flattenUATrie(nil): got no error")
	}
	empty, err := flattenUATrie(useragent.NewRuneTrie())
	if err != nil {
		t.Fatalf("flattenUATrie(empty): %v", err)
	}
	if b, o, d := empty.parse(userAgentFirefox); b != 0 || o != 0 || d != 0 {
		t.Errorf("empty trie: got matches %d %d %d, want none", b, o, d)
	}
}

// TestUserAgentTrieNotScanned: the flat trie holds no pointers beyond its
// four arrays, so the garbage collector does not mark it node by node, and
// it is smaller than the library's.
func TestUserAgentTrieNotScanned(t *testing.T) {
	flat, err := newUATrie(uaData)
	if err != nil {
		t.Fatal(err)
	}
	nodes := len(flat.edgeAt) - 1
	if nodes < 50_000 {
		t.Fatalf("flat trie of %d nodes, want the library's (about 83,000)", nodes)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	again, err := newUATrie(uaData)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(again)
	// The library's nodes are garbage once copied: what stays is a few
	// arrays, not an object per node.
	if live := int64(after.HeapObjects) - int64(before.HeapObjects); live > 1000 {
		t.Errorf("after building the flat trie, %d more heap objects live, want a handful (the library's %d nodes and their arrays freed)", live, nodes)
	}
}

// FuzzParseUserAgent: on any input the flat trie agrees with the library.
func FuzzParseUserAgent(f *testing.F) {
	for _, c := range uadata.AllTestCases {
		f.Add(c.UserAgent)
	}
	f.Add(userAgentFirefox)
	flat, err := newUATrie(uaData)
	if err != nil {
		f.Fatal(err)
	}
	lib := useragent.NewParser()
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := flatParse(flat, s), libraryParse(lib, s); got != want {
			t.Errorf("%q: got %q, want the library's %q", s, got, want)
		}
	})
}
