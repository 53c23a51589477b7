// Command fakedocker stands in for the real docker CLI in the wrapper's
// tests: it records exactly what it was exec'd with and exits with a chosen
// status.
//
// FAKEDOCKER_OUT names the file that receives os.Args (argv[0] included)
// joined by NUL bytes, byte for byte; FAKEDOCKER_OUT.env receives the
// environment, one NUL-terminated entry each. FAKEDOCKER_EXIT is the exit
// status (default 0). With FAKEDOCKER_STDIN=1 it copies stdin to stdout
// first; FAKEDOCKER_SLEEP=N makes it sleep N seconds before exiting (a
// daemon that never answers). As a stand-in dockerd: FAKEDOCKER_SERVE=1
// answers GET /_ping on the unix socket of its -H argument until killed,
// and FAKEDOCKER_IGNORE_TERM=1 makes it ignore SIGTERM (a daemon that
// hangs on shutdown).
package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if out := os.Getenv("FAKEDOCKER_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(strings.Join(os.Args, "\x00")), 0o644); err != nil {
			os.Stderr.WriteString("fakedocker: " + err.Error() + "\n")
			os.Exit(99)
		}
		var env strings.Builder
		for _, kv := range os.Environ() {
			env.WriteString(kv + "\x00")
		}
		os.WriteFile(out+".env", []byte(env.String()), 0o644)
	}
	if os.Getenv("FAKEDOCKER_STDIN") == "1" {
		io.Copy(os.Stdout, os.Stdin)
	}
	if os.Getenv("FAKEDOCKER_IGNORE_TERM") == "1" {
		signal.Ignore(syscall.SIGTERM)
	}
	if os.Getenv("FAKEDOCKER_SERVE") == "1" {
		serve()
	}
	if n, _ := strconv.Atoi(os.Getenv("FAKEDOCKER_SLEEP")); n > 0 {
		time.Sleep(time.Duration(n) * time.Second)
	}
	code, _ := strconv.Atoi(os.Getenv("FAKEDOCKER_EXIT"))
	os.Exit(code)
}

// serve answers /_ping on the socket named by "-H unix://PATH" forever.
func serve() {
	sock := ""
	for i, a := range os.Args {
		if a == "-H" && i+1 < len(os.Args) {
			sock = strings.TrimPrefix(os.Args[i+1], "unix://")
		}
	}
	l, err := net.Listen("unix", sock)
	if err != nil {
		os.Stderr.WriteString("fakedocker: " + err.Error() + "\n")
		os.Exit(98)
	}
	http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/_ping" {
			w.Write([]byte("OK"))
			return
		}
		http.NotFound(w, r)
	}))
}
