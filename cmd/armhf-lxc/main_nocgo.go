//go:build !cgo || !linux

package main

import (
	"fmt"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	fmt.Fprintf(os.Stderr, "armhf-lxc %s was built without cgo: it drives liblxc through go-lxc and must be built on Linux with CGO_ENABLED=1 and Debian's lxc-dev (make bin/armhf-lxc)\n", version)
	os.Exit(2)
}
