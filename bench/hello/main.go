// Command hello is the bare net/http baseline of bench/loopback.sh: one
// handler writing a short body, served on the address given as the first
// argument.
package main

import (
	"io"
	"log"
	"net/http"
	"os"
)

func main() {
	addr := "localhost:8090"
	if len(os.Args) > 1 {
		addr = os.Args[1]
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello\n")
	})
	log.Fatal(http.ListenAndServe(addr, nil))
}
