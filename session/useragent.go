package session

import (
	"bufio"
	_ "embed"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"

	useragent "github.com/medama-io/go-useragent"
)

// User agents are parsed by the algorithm of github.com/medama-io/go-useragent
// (MIT licence, useragents/LICENSE), with its trie kept in a form the
// garbage collector need not scan.
//
// The library's own parser is a trie of about 166,000 small heap objects
// linked by pointers, built once and kept for the life of the process in
// a package variable. Every garbage collection marks all of them: in a
// server that hashes passwords (each Argon2id hash allocates its 19 MiB
// of memory, so a collection runs every few sign-ins) that marking costs
// about a fifth of the CPU time of a hash. Here the library builds the
// same trie from a copy of its data (useragents/agents.txt, the
// library's data/final.txt of the version in go.mod), the trie is copied
// into four flat arrays without pointers, and the library's trie is left
// to the collector. uaTrie.parse walks the arrays exactly as the
// library's RuneTrie.Get walks the trie; a test checks that both agree on
// the data's agents, the library's test cases and fuzzed input. Should
// the library's trie change shape in a later version, the copy fails and
// the library's parser is used as it is.

//go:embed useragents/agents.txt
var uaData string

var (
	uaOnce   sync.Once
	uaFlat   *uaTrie
	uaParser *useragent.Parser // when the trie could not be copied
)

// parseUA parses a user agent with a parser built on first use (building
// it takes a few milliseconds, so processes that never parse a user agent
// never pay for it).
func parseUA(s string) (browser, os, kind string) {
	uaOnce.Do(func() {
		var err error
		if uaFlat, err = newUATrie(uaData); err != nil {
			uaParser = useragent.NewParser()
		}
	})
	if uaFlat != nil {
		b, o, d := uaFlat.parse(s)
		return uaBrowsers[b], uaOSes[o], uaDevices[d]
	}
	a := uaParser.Parse(s)
	return string(a.Browser()), string(a.OS()), string(a.Device())
}

// The library's match values (its internal.Match), in its order.
const (
	uaUnknown uint8 = iota
	uaBrowserAndroid
	uaBrowserChrome
	uaBrowserEdge
	uaBrowserFirefox
	uaBrowserIE
	uaBrowserOpera
	uaBrowserOperaMini
	uaBrowserSafari
	uaBrowserVivaldi
	uaBrowserSamsung
	uaBrowserSilk
	uaBrowserFalkon
	uaBrowserNintendo
	uaBrowserYandex
	uaBrowserHuawei
	uaOSAndroid
	uaOSChromeOS
	uaOSIOS
	uaOSLinux
	uaOSFreeBSD
	uaOSOpenBSD
	uaOSMacOS
	uaOSWindows
	uaDeviceDesktop
	uaDeviceMobile
	uaDeviceTablet
	uaDeviceTV
	uaDeviceBot
	uaTokenVersion
	uaTokenMobileDevice

	// The library's match types (its internal.MatchType) continue the
	// same constant block.
	uaMatchUnknown
	uaMatchBrowser
	uaMatchOS
	uaMatchDevice
	uaMatchVersion
)

// uaMobilePrecedence is the library's precedence of a mobile device
// match, which it gives an Android browser found by elimination.
const uaMobilePrecedence = 2

// The names the library's UserAgent methods return for each match value
// (its agents package). FreeBSD has none: the library's OS method returns
// "" for it.
var (
	uaBrowsers = [256]string{
		uaBrowserAndroid: "Android Browser", uaBrowserChrome: "Chrome", uaBrowserEdge: "Edge",
		uaBrowserFirefox: "Firefox", uaBrowserIE: "IE", uaBrowserOpera: "Opera",
		uaBrowserOperaMini: "Opera Mini", uaBrowserSafari: "Safari", uaBrowserVivaldi: "Vivaldi",
		uaBrowserSamsung: "Samsung Browser", uaBrowserSilk: "Amazon Silk", uaBrowserFalkon: "Falkon",
		uaBrowserNintendo: "Nintendo Browser", uaBrowserYandex: "Yandex Browser", uaBrowserHuawei: "Huawei Browser",
	}
	uaOSes = [256]string{
		uaOSAndroid: "Android", uaOSChromeOS: "ChromeOS", uaOSIOS: "iOS", uaOSLinux: "Linux",
		uaOSOpenBSD: "OpenBSD", uaOSMacOS: "MacOS", uaOSWindows: "Windows",
	}
	uaDevices = [256]string{
		uaDeviceDesktop: "Desktop", uaDeviceMobile: "Mobile", uaDeviceTablet: "Tablet",
		uaDeviceTV: "TV", uaDeviceBot: "Bot",
	}
)

// uaTrie is the library's trie in arrays. Node 0 is the root; the edges
// of node n are edges[edgeAt[n]:edgeAt[n+1]] and its results
// results[resultAt[n]:resultAt[n+1]], both in the library's order.
type uaTrie struct {
	edges    []uaEdge
	edgeAt   []uint32
	results  []uaResult
	resultAt []uint32
}

// uaEdge leads from a node to its child for the rune r.
type uaEdge struct {
	r    rune
	node uint32
}

// uaResult is a match the library stored at a node: its value, type and
// precedence.
type uaResult struct {
	match, typ, precedence uint8
}

// newUATrie builds the library's trie from data (one agent a line, as
// the library reads its own data) and copies it into arrays.
func newUATrie(data string) (*uaTrie, error) {
	root := useragent.NewRuneTrie()
	sc := bufio.NewScanner(strings.NewReader(data))
	for sc.Scan() {
		root.Put(sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return flattenUATrie(root)
}

// flattenUATrie copies the library's trie, node by node in breadth-first
// order, reading its unexported fields by reflection: childrenArr (of
// node and r) and result (of Match, Type and Precedence).
func flattenUATrie(root *useragent.RuneTrie) (*uaTrie, error) {
	field := func(v reflect.Value, name string, kind reflect.Kind) (reflect.Value, error) {
		f := v.FieldByName(name)
		if !f.IsValid() || f.Kind() != kind {
			return reflect.Value{}, fmt.Errorf("sigra/session: user-agent trie: no field %s of kind %v in %v", name, kind, v.Type())
		}
		return f, nil
	}
	t := &uaTrie{}
	queue := []reflect.Value{reflect.ValueOf(root)}
	for i := 0; i < len(queue); i++ {
		if queue[i].IsNil() {
			return nil, errors.New("sigra/session: user-agent trie: nil node")
		}
		n := queue[i].Elem()
		children, err := field(n, "childrenArr", reflect.Slice)
		if err != nil {
			return nil, err
		}
		results, err := field(n, "result", reflect.Slice)
		if err != nil {
			return nil, err
		}
		t.edgeAt = append(t.edgeAt, uint32(len(t.edges)))
		t.resultAt = append(t.resultAt, uint32(len(t.results)))
		for j := range children.Len() {
			c := children.Index(j)
			node, err := field(c, "node", reflect.Pointer)
			if err != nil {
				return nil, err
			}
			r, err := field(c, "r", reflect.Int32)
			if err != nil {
				return nil, err
			}
			t.edges = append(t.edges, uaEdge{r: rune(r.Int()), node: uint32(len(queue))})
			queue = append(queue, node)
		}
		for j := range results.Len() {
			x := results.Index(j)
			var vals [3]uint8
			for k, name := range []string{"Match", "Type", "Precedence"} {
				f, err := field(x, name, reflect.Uint8)
				if err != nil {
					return nil, err
				}
				vals[k] = uint8(f.Uint())
			}
			t.results = append(t.results, uaResult{match: vals[0], typ: vals[1], precedence: vals[2]})
		}
	}
	t.edgeAt = append(t.edgeAt, uint32(len(t.edges)))
	t.resultAt = append(t.resultAt, uint32(len(t.results)))
	return t, nil
}

// The parsing states of the library's RuneTrie.Get.
const (
	uaStateDefault = iota
	uaStateVersion
	uaStateSkipWhitespace
	uaStateSkipClosingParenthesis
	uaStateSkipToken
)

// uaState is what the library's UserAgent holds while parsing, less the
// version's digits: only their count decides anything.
type uaState struct {
	versionLen                                     int
	browser, os, device                            uint8
	browserPrecedence, osPrecedence, devicePrecede uint8
}

// parse returns the browser, operating system and device matches of key,
// as the library's RuneTrie.Get finds them.
func (t *uaTrie) parse(key string) (browser, os, device uint8) {
	state := uaStateDefault
	node := uint32(0)
	var ua uaState
	// Runes to skip (after a browser's name, a language code).
	var skip uint8
	// How deep in parentheses the device ID being skipped is.
	var nest uint8

	for i, r := range key {
		if skip > 0 {
			skip--
			continue
		}
		switch state {
		case uaStateSkipWhitespace:
			if r == ' ' {
				state = uaStateDefault
			}

		case uaStateSkipClosingParenthesis:
			switch r {
			case '(':
				nest++
			case ')':
				if nest == 0 {
					state = uaStateDefault
				} else {
					nest--
				}
			}

		case uaStateSkipToken:
			switch r {
			case ' ', ';', ')', '(', ',', '_', '-', '/':
				state = uaStateDefault
			}

		case uaStateVersion:
			if r == '/' {
				continue
			}
			if !uaDigit(r) && r != '.' {
				state = uaStateDefault
			} else if ua.versionLen < 32 {
				ua.versionLen++
			}

		case uaStateDefault:
			switch r {
			case ' ', ';', ')', '(', ',', '_', '-', '/':
				continue
			}
			if uaDigit(r) || (r == '.' && len(key) > i+1 && uaDigit(rune(key[i+1]))) {
				continue
			}
			// (The library also skips language codes here, on a rune
			// that is a space; a space never gets this far.)

			for _, res := range t.results[t.resultAt[node]:t.resultAt[node+1]] {
				matched := ua.add(res)
				if (matched && res.typ == uaMatchBrowser && res.match != uaBrowserSafari) ||
					(res.typ == uaMatchVersion && ua.versionLen == 0) {
					ua.versionLen = 0
					skip = 1
					state = uaStateVersion
				}
				if matched && res.match == uaDeviceMobile {
					state = uaStateSkipWhitespace
				}
				if matched && res.match == uaOSAndroid {
					state = uaStateSkipClosingParenthesis
				}
			}

			next, found := uint32(0), false
			for _, e := range t.edges[t.edgeAt[node]:t.edgeAt[node+1]] {
				if e.r == r {
					next, found = e.node, true
					break
				}
			}
			if !found {
				// Inside an unknown token: skip the rest of it.
				if uaLetter(r) {
					state = uaStateSkipToken
				}
				continue
			}
			node = next
		}
	}
	return ua.browser, ua.os, ua.device
}

// add is the library's UserAgent.addMatch: it records res if it takes
// precedence over what was found, and reports whether it did.
func (ua *uaState) add(res uaResult) bool {
	switch {
	case res.typ == uaMatchBrowser && res.precedence > ua.browserPrecedence:
		switch res.match {
		case uaBrowserChrome, uaBrowserEdge, uaBrowserFirefox, uaBrowserIE, uaBrowserOpera,
			uaBrowserSafari, uaBrowserVivaldi, uaBrowserSamsung, uaBrowserSilk, uaBrowserFalkon,
			uaBrowserNintendo, uaBrowserYandex, uaBrowserHuawei:
			ua.browser = res.match
		case uaBrowserOperaMini:
			ua.browser = res.match
			ua.device = uaDeviceMobile
		}
		ua.browserPrecedence = res.precedence
		return true

	case res.typ == uaMatchOS && res.precedence > ua.osPrecedence:
		switch res.match {
		case uaOSChromeOS, uaOSFreeBSD, uaOSOpenBSD, uaOSMacOS, uaOSWindows:
			ua.os = res.match
			ua.device = uaDeviceDesktop
		case uaOSAndroid:
			ua.os = res.match
			ua.device = uaDeviceMobile
			// An older white-labelled Chromium on Android.
			if ua.browser == uaUnknown {
				ua.browser = uaBrowserAndroid
				ua.browserPrecedence = uaMobilePrecedence
			}
		case uaOSIOS:
			ua.os = res.match
			if ua.device != uaDeviceTablet {
				ua.device = uaDeviceMobile
			}
		case uaOSLinux:
			ua.os = res.match
			if ua.device != uaDeviceTablet && ua.device != uaDeviceTV {
				ua.device = uaDeviceDesktop
			}
		}
		ua.osPrecedence = res.precedence
		return true

	case res.typ == uaMatchDevice && res.precedence > ua.devicePrecede:
		switch res.match {
		case uaDeviceDesktop, uaDeviceTablet, uaDeviceTV, uaDeviceBot:
			ua.device = res.match
		case uaDeviceMobile, uaTokenMobileDevice:
			if ua.device != uaDeviceTablet {
				ua.device = uaDeviceMobile
			}
		}
		ua.devicePrecede = res.precedence
		return true
	}
	return false
}

func uaDigit(r rune) bool  { return '0' <= r && r <= '9' }
func uaLetter(r rune) bool { return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' }
