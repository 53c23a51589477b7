// Command leanruntime is the runtime wrapper alone in a binary: runc's
// argv in, shim.RuntimeMain, nothing else linked (no CLI framework, none of
// armhf-shim's other routes). The runtime benchmark runs it next to the
// full armhf-shim binary to separate what the wrapper's own work costs from
// what the start-up of a larger binary (page faults, package init) costs.
package main

import (
	"os"

	"github.com/armhf-shim/armhf-shim/shim"
)

func main() { os.Exit(shim.RuntimeMain(os.Args[1:])) }
