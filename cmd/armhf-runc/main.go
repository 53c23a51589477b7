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

func main() {
	if len(os.Args) > 1 && os.Args[1] == "hook" {
		os.Exit(shim.HookMain(os.Args[2:]))
	}
	os.Exit(shim.RuntimeMain(os.Args[1:]))
}
