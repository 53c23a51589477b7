// Command floor is the cheapest possible Go wrapper of an OCI runtime: it
// execs $ARMHF_FLOOR_TARGET (default /usr/sbin/runc) with its own
// arguments and environment and does nothing else. Built static
// (CGO_ENABLED=0) like armhf-shim, its cost over calling runc directly is
// the floor any Go wrapper pays — the Go runtime's start-up and one more
// execve — against which the runtime wrapper is benchmarked (test/bench/runtimebench).
//
// Built with -tags armhf_decisionfloor it is the decision floor instead
// (decide.go): the same program that first makes a container's decision.
package main

import (
	"os"
	"syscall"
)

func main() {
	target := os.Getenv("ARMHF_FLOOR_TARGET")
	if target == "" {
		target = "/usr/sbin/runc"
	}
	err := syscall.Exec(target, append([]string{target}, os.Args[1:]...), os.Environ())
	os.Stderr.WriteString("floor: exec " + target + ": " + err.Error() + "\n")
	os.Exit(127)
}
