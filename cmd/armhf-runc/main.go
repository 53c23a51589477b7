// Command armhf-runc is armhf-shim's OCI runtime wrapper and OCI hook in a
// lean static binary. The runtime wrapper runs on every container
// operation (a docker run makes four or more runtime calls), where the cost
// that counts is the Go process start: this binary links no command-line
// framework and none of armhf-shim's other routes, so its package
// initialisation is close to that of a program that only execs.
//
//	armhf-runc [runc flags] COMMAND ...   the runtime wrapper (also as argv[0] runc)
//	armhf-runc hook                       the OCI hook (state on stdin)
//
// `armhf-shim runtime` and `armhf-shim hook` are the same code in the
// multi-call binary; `armhf-shim install` registers armhf-runc when it
// sits beside armhf-shim.
package main

import (
	"os"

	"github.com/armhf-shim/armhf-shim/shim"
)

// The runtime wrapper runs from init, not main: Go runs every init on the
// startup thread, wired to it, so the personality the wrapper sets there is
// the one its execve passes on, without runtime.LockOSThread and the
// thread that call starts (see shim.RuntimeMainOnThread). On success the
// process has become the real runtime before main would run.
func init() {
	if len(os.Args) > 1 && os.Args[1] == "hook" {
		return // main
	}
	os.Exit(shim.RuntimeMainOnThread(os.Args[1:]))
}

func main() {
	os.Exit(shim.HookMain(os.Args[2:]))
}
