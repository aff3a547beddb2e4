package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// countingListener hands out connections that count their Write calls.
type countingListener struct {
	net.Listener
	writes *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.writes}, nil
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestAuthenticatedAnswersInOneWrite serves the demo's authenticated GETs
// that bench/loopback.sh loads, over a real connection, and counts the
// writes on the server's side of it: each answer, status line, headers
// and body, must leave in one write. net/http buffers 4 KiB per
// connection, so an answer past that costs a second system call, which
// over loopback is a large share of a request's time: this fails if the
// page's layout or headers grow past it.
func TestAuthenticatedAnswersInOneWrite(t *testing.T) {
	x, cookie, host := signedInDemo(t)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var writes atomic.Int64
	srv := &http.Server{Handler: x.app.Handler()}
	go func() { _ = srv.Serve(countingListener{ln, &writes}) }()
	t.Cleanup(func() { _ = srv.Close() })

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	for _, tc := range []struct{ path, want string }{
		{"/auth/session", `"email":"` + DemoEmail + `"`},
		{"/private", "You are <strong>" + DemoEmail + "</strong>"},
	} {
		for range 3 { // the first answer may differ (a cookie refreshed); the steady ones count
			before := writes.Load()
			if _, err := io.WriteString(conn, "GET "+tc.path+" HTTP/1.1\r\nHost: "+host+"\r\nCookie: "+cookie+"\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("GET %s: %v", tc.path, err)
			}
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != http.StatusOK || !strings.Contains(string(body), tc.want) {
				t.Fatalf("GET %s: got %d, want 200 with %q\n%.2000s", tc.path, res.StatusCode, tc.want, body)
			}
			if n := writes.Load() - before; n != 1 {
				t.Errorf("GET %s: the answer (%d bytes of body) took %d writes on the connection, want 1", tc.path, len(body), n)
			}
		}
	}
}
