// Command fakedocker stands in for the real docker CLI in the wrapper's
// tests: it records exactly what it was exec'd with and exits with a chosen
// status.
//
// FAKEDOCKER_OUT names the file that receives os.Args (argv[0] included)
// joined by NUL bytes, byte for byte; FAKEDOCKER_OUT.env receives the
// environment, one NUL-terminated entry each. FAKEDOCKER_EXIT is the exit
// status (default 0). With FAKEDOCKER_STDIN=1 it copies stdin to stdout
// first.
package main

import (
	"io"
	"os"
	"strconv"
	"strings"
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
	code, _ := strconv.Atoi(os.Getenv("FAKEDOCKER_EXIT"))
	os.Exit(code)
}
