// Command armhf-docker is armhf-shim's docker CLI wrapper in a lean static
// binary: installed as "docker" before the real CLI on PATH, it adds the
// armv7 /proc/cpuinfo (and, if asked, --platform) to docker run and
// docker create, and execs the real docker with every other command
// untouched. It runs before every docker command, where the cost that
// counts is the Go process start: this binary links no command-line
// framework and none of armhf-shim's other routes.
//
// `armhf-shim docker` (or armhf-shim installed as docker) is the same
// code in the multi-call binary.
package main

import (
	"os"

	"github.com/armhf-shim/armhf-shim/dockercli"
)

func main() {
	os.Exit(dockercli.Main(os.Args[1:]))
}
